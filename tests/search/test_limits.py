"""Unit tests of the search's hardening rules (issue 11): date window, query
cost, defensive reading of stored documents, histogram clamping. No server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.search import stored
from services.search.limits import (
    clamp,
    date_window,
    query_problem,
    query_shape,
    window_problem,
)
from services.search.models import SearchRequest
from services.search.query import (
    FUZZY_MAX_EXPANSIONS,
    HIGHLIGHT_MAX_ANALYZED_CHARS,
    DateBounds,
    build_bounds_body,
    build_search_body,
    histogram_span,
)
from services.search.results import bounds_from, histogram_from
from services.search.syntax import parse
from services.search.textquery import highlight_terms

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def ms(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, tzinfo=UTC).timestamp() * 1000)


# ----------------------------------------------------------------- dates
def test_window_is_1900_to_two_days_ahead() -> None:
    floor, ceiling = date_window(NOW)
    assert floor == datetime(1900, 1, 1, tzinfo=UTC)
    assert ceiling == NOW + timedelta(days=2)
    assert window_problem(date(1900, 1, 1), NOW) is None
    assert window_problem(date(2025, 6, 17), NOW) is None  # a day partly inside
    assert window_problem(date(2025, 6, 18), NOW) is not None
    assert window_problem(datetime(1899, 12, 31, 23, 59, tzinfo=UTC), NOW) is not None
    assert "1900-01-01" in (window_problem(date(9999, 12, 31), NOW) or "")


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31",
        "0001-01-01",
        "1899-12-31",
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T23:59:59+23:59",
        "0001-01-01T00:00:00+23:00",
        "2024-02-30",
        "1" * 41,
        "+12024-01-01",
    ],
)
def test_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        SearchRequest(date_from=text)


def test_instants_are_sent_in_utc() -> None:
    # +20:00 is valid ISO 8601 and Python, not Elasticsearch (max 18 hours).
    request = SearchRequest(date_from="2024-01-01T00:00:00+20:00")
    assert request.date_from == datetime(2023, 12, 31, 4, 0, tzinfo=UTC)
    filters = build_search_body(request)["query"]["bool"]["filter"]
    assert filters[0]["range"]["published_at"]["gte"] == "2023-12-31T04:00:00+00:00"


def test_clamp_keeps_stored_dates_inside_the_window() -> None:
    assert clamp(datetime(1, 1, 1, tzinfo=UTC), NOW) == datetime(1900, 1, 1, tzinfo=UTC)
    assert clamp(datetime(9999, 12, 31, tzinfo=UTC), NOW) == NOW + timedelta(days=2)
    assert clamp(NOW, NOW) == NOW


def test_histogram_span_of_an_impossible_corpus_is_clamped() -> None:
    bounds = DateBounds(datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC))
    oldest, newest = histogram_span(SearchRequest(), bounds, NOW)
    assert oldest == datetime(1900, 1, 1, tzinfo=UTC)
    assert newest == NOW + timedelta(days=2)


def test_histogram_is_hard_bounded_and_undated_counts_the_outside() -> None:
    body = build_search_body(SearchRequest())
    dates = body["aggs"]["dates"]["aggs"]
    hard = dates["histogram"]["date_histogram"]["hard_bounds"]
    assert hard["min"] == ms(1900, 1, 1)
    assert hard["max"] <= (datetime.now(UTC) + timedelta(days=2, minutes=1)).timestamp() * 1000
    outside = dates["undated"]["filter"]["bool"]["must_not"][0]["range"]["published_at"]
    assert outside["gte"] == hard["min"]
    assert build_bounds_body()["query"]["range"]["published_at"]["gte"] == hard["min"]


def _histogram(keys: list[int], interval: Any) -> dict[str, Any]:
    buckets = [{"key": k, "key_as_string": "ignored", "doc_count": 1} for k in keys]
    return {"histogram": {"buckets": buckets}, "undated": {"doc_count": 3}}


def test_decades_are_summed_from_years() -> None:
    keys = [ms(year, 1, 1) for year in (1998, 1999, 2000, 2001, 2019)]
    histogram = histogram_from(_histogram(keys, "decade"), "decade")
    assert [(b.start, b.end, b.count) for b in histogram.buckets] == [
        (date(1990, 1, 1), date(2000, 1, 1), 2),
        (date(2000, 1, 1), date(2010, 1, 1), 2),
        (date(2010, 1, 1), date(2020, 1, 1), 1),
    ]
    assert histogram.undated == 3


def test_buckets_python_cannot_hold_are_left_out() -> None:
    year_10000 = 253402300800000
    keys = [ms(9999, 1, 1), year_10000, -62167219200001]
    histogram = histogram_from(_histogram(keys, "year"), "year")
    assert histogram.buckets == []  # 9999 would end in 10000; the others are out of range


def test_bounds_are_read_from_epoch_values() -> None:
    response = {
        "aggregations": {
            "oldest": {"value": ms(2020, 1, 1), "value_as_string": "2020-01-01T00:00:00Z"},
            "newest": {"value": 253402300800000.0, "value_as_string": "+10000-01-01T00:00Z"},
        }
    }
    assert bounds_from(response) is None  # the newest cannot be a Python date
    response["aggregations"]["newest"]["value"] = ms(2024, 5, 1)
    assert bounds_from(response) == DateBounds(
        datetime(2020, 1, 1, tzinfo=UTC), datetime(2024, 5, 1, tzinfo=UTC)
    )
    assert bounds_from({"aggregations": {"oldest": {"value": None}}}) is None


# ----------------------------------------------------------------- query cost
@pytest.mark.parametrize(
    ("q", "fuzzy", "prefix", "leading"),
    [
        ("climate change", 0, 0, False),
        ("climat~ chang~2", 2, 0, False),
        ("elec* | vot*", 0, 2, False),
        ("-elec* +(vot~1)", 1, 1, False),
        ('"exact phrase"~5 word', 0, 0, False),
        ('"climat~ chang*"', 0, 0, False),  # inside a phrase: plain text
        (r"escaped\* \~2", 0, 0, False),
        ("*news", 0, 0, True),
        ("*", 0, 0, True),
        ("-*", 0, 0, True),
        ("**", 0, 0, True),
        ("~~~", 0, 0, False),
        ("ab~2|bc~2|cd~2", 3, 0, False),
        ('unclosed "phrase with* words~', 1, 1, False),
    ],
)
def test_query_shape(q: str, fuzzy: int, prefix: int, leading: bool) -> None:
    shape = query_shape(q)
    assert (shape.fuzzy, shape.prefix, shape.leading_wildcard) == (fuzzy, prefix, leading)


def test_query_problem_names_the_limit() -> None:
    assert query_problem("a~ b~ c*", 3) is None
    reason = query_problem("a~ b~ c* d*", 3) or ""
    assert "at most 3" in reason and "this one has 4" in reason
    assert "wildcard" in (query_problem("*x", 3) or "")
    assert query_problem("x" * 500, 0) is None


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("climat~2 chang*", ["climat", "chang"]),
        ('"a b"~3 c', ['"a b"', "c"]),
        ("plain words", ["plain", "words"]),
        (r"keep\* escaped", ["keep*", "escaped"]),
        ('a|b|A|-c +(d) -"e f" source:x.com', ["a", "b", "d"]),
        (" ".join(f"w{i}" for i in range(40)), [f"w{i}" for i in range(8)]),
    ],
)
def test_highlight_drops_expanding_operators(q: str, expected: list[str]) -> None:
    found = [f'"{t.text}"' if t.kind == "phrase" else t.text for t in highlight_terms(parse(q))]
    assert found == expected


def _clauses(node: Any) -> list[dict[str, Any]]:
    """Every multi_match clause in a query, depth first."""
    if isinstance(node, dict):
        own = [node["multi_match"]] if "multi_match" in node else []
        return own + [c for value in node.values() for c in _clauses(value)]
    if isinstance(node, list):
        return [c for value in node for c in _clauses(value)]
    return []


def test_search_body_bounds_its_cost() -> None:
    body = build_search_body(SearchRequest(q="elec* vot~2"), timeout="2000ms")
    fuzzy = [c for c in _clauses(body["query"]) if "fuzziness" in c]
    assert fuzzy and all(c["max_expansions"] == FUZZY_MAX_EXPANSIONS for c in fuzzy)
    assert all(c["prefix_length"] >= 1 for c in fuzzy)
    # A prefix is a term lookup in the edge n-gram fields, never an expansion.
    prefix = [c for c in _clauses(body["query"]) if c["query"] == "elec"]
    assert prefix and all(f.split(".")[1].startswith("prefix") for f in prefix[0]["fields"])
    assert body["timeout"] == "2000ms"
    highlight = body["highlight"]
    assert highlight["max_analyzed_offset"] == HIGHLIGHT_MAX_ANALYZED_CHARS
    for name, field in highlight["fields"].items():
        # One query per field, naming that field only, the operators dropped.
        should = field["highlight_query"]["bool"]["should"]
        assert [c["match"][name]["query"] for c in should] == ["elec", "vot"]
    only_operators = build_search_body(SearchRequest(q="~2"))["highlight"]["fields"]
    assert all("highlight_query" not in f for f in only_operators.values())  # the lead
    assert "timeout" not in build_search_body(SearchRequest())


# ----------------------------------------------------------------- stored values
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Title", "Title"),
        (12345, "12345"),
        (1.5, "1.5"),
        (["first", "second"], "first"),
        ([None, {}, "x"], "x"),
        (True, None),
        ({"a": 1}, None),
        (None, None),
        ([], None),
    ],
)
def test_stored_text(value: Any, expected: str | None) -> None:
    assert stored.text(value) == expected


def test_stored_text_is_cut() -> None:
    cut = stored.text("x" * 5000, 1000)
    assert cut is not None and len(cut) == 1000 and cut.endswith("…")


def test_stored_lists_integers_and_instants() -> None:
    assert stored.texts("Solo Writer") == ["Solo Writer"]
    assert stored.texts([1, None, "a", ["nested"]]) == ["1", "a", "nested"]
    assert stored.texts(list(range(1000)), 6) == ["0", "1", "2", "3", "4", "5"]
    assert [stored.integer(v) for v in (12, 12.0, "12", 12.7, "x", True, None)] == [
        12,
        12,
        12,
        None,
        None,
        None,
        None,
    ]
    assert stored.instant("2024-01-02T03:04:05Z") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert stored.instant("2024-01-02") == datetime(2024, 1, 2, tzinfo=UTC)
    assert stored.instant(ms(2024, 1, 2)) == datetime(2024, 1, 2, tzinfo=UTC)
    odd_values: list[Any] = ["2024", "+10000-01-01T00:00:00Z", 253402300800000 * 10, -1e20, True]
    for odd in odd_values:
        assert stored.instant(odd) is None, odd


def test_stored_entity() -> None:
    assert stored.entity({"canonical": "Ada", "label": "PERSON", "group": "people", "count": 2})
    assert stored.entity({"canonical": 1})["name"] == "1"  # type: ignore[index]
    odd_entities: list[Any] = ["x", None, [], {"label": "ORG"}]
    for odd in odd_entities:
        assert stored.entity(odd) is None
