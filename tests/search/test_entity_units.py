"""The pure parts of facets by identity and entity pages, on plain dicts:
which clause an id or a name makes, how buckets get their names, how the
documents' names are read back, how an entity's days become a histogram."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from services.search.entityfacets import (
    CHIPS_PER_GROUP,
    entity_aggregations,
    entity_buckets,
    entity_clause,
    hit_ids,
    parse_key,
    search_ids,
    split_values,
)
from services.search.entitynames import build_names_body, is_entity_id, stored_names
from services.search.entitypage import build_entity_body, histogram_of, interval_start
from services.search.facetsearch import build_facet_values_body, entity_key_pattern
from services.search.models import SearchRequest
from shared.contracts.index import ENTITY_KEY_SEP as SEP
from shared.contracts.index import entity_key, upgrade_document

ADA = "ent_" + "a" * 16


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("Q30", True),
        (ADA, True),
        ("Q", False),
        ("q30", False),
        ("ent_" + "A" * 16, False),
        ("ent_" + "a" * 17, False),
        ("Q" + "9" * 30, False),  # longer than any id we keep
        ("Donald Trump", False),
        ("Q30\n", False),
    ],
)
def test_what_is_an_entity_id(value: str, ok: bool) -> None:
    assert is_entity_id(value) is ok


def test_ids_filter_the_id_field_names_the_name_field() -> None:
    assert split_values(["Q30", "Ada Lovelace", ADA]) == (["Q30", ADA], ["Ada Lovelace"])
    assert entity_clause("places", ["Q30"]) == {"terms": {"places_ids": ["Q30"]}}
    assert entity_clause("people", ["Ada"]) == {"terms": {"people": ["Ada"]}}
    assert entity_clause("people", [ADA, "Ada"]) == {
        "bool": {
            "should": [{"terms": {"people_ids": [ADA]}}, {"terms": {"people": ["Ada"]}}],
            "minimum_should_match": 1,
        }
    }


def test_entity_facet_counts_ids_and_keeps_chosen_values() -> None:
    aggs = entity_aggregations("people", 15, [ADA, "Ada Lovelace"])
    assert aggs["top"]["terms"]["field"] == "people_ids"
    assert aggs["selected"]["terms"] | {} == {
        "field": "people_ids",
        "include": [ADA],
        "size": 1,
        "min_doc_count": 0,
    }
    assert aggs["selected_names"]["terms"]["field"] == "people"
    assert "selected" not in entity_aggregations("people", 15, [])


def test_buckets_carry_names_and_list_chosen_values() -> None:
    agg = {
        "top": {"buckets": [{"key": ADA, "doc_count": 4}, {"key": "Q30", "doc_count": 2}]},
        "selected": {"buckets": [{"key": "Q1", "doc_count": 1}]},
        "selected_names": {"buckets": [{"key": "Old Name", "doc_count": 3}]},
    }
    names = {ADA: "Ada Lovelace", "Q1": "Universe"}
    buckets = entity_buckets(agg, ("Q1", "Q30", "Old Name", "Q404"), names)
    assert [(b.value, b.id, b.name, b.count, b.selected) for b in buckets] == [
        (ADA, ADA, "Ada Lovelace", 4, False),
        ("Q30", "Q30", "Q30", 2, True),  # nobody named it: shown as itself
        ("Q1", "Q1", "Universe", 1, True),
        ("Old Name", None, "Old Name", 3, True),
        ("Q404", "Q404", "Q404", 0, True),
    ]


def test_a_search_names_the_ids_of_its_facets_and_hits_at_once() -> None:
    raw: dict[str, Any] = {
        "aggregations": {
            "facet_people": {"top": {"buckets": [{"key": ADA, "doc_count": 1}]}},
            "facet_places": {"top": {"buckets": [{"key": "Q30", "doc_count": 1}]}},
            "facet_source": {"top": {"buckets": [{"key": "a.com", "doc_count": 1}]}},
        },
        "hits": {
            "hits": [
                {"_source": {"people_ids": [ADA, "junk"], "places_ids": "Q31"}},
                {"_source": {"organisations_ids": [1, None]}},
                {},
            ]
        },
    }
    assert search_ids(raw) == [ADA, "Q30", "Q31"]


def test_a_hit_shows_the_ids_stored_in_any_shape_a_text_is_read_from() -> None:
    """Odd stored shapes give the chips ``stored.texts`` reads from them (an
    id in a nested list is the list's first text, as the facets count it);
    whatever is not an id is left out, and at most CHIPS_PER_GROUP per group."""
    source: dict[str, Any] = {
        "people_ids": [ADA, 42, ["Q43", "Q44"], None, {"id": "Q45"}, "Q" + "1" * 600, True],
        "places_ids": [["Q1"]],
        "organisations_ids": [f"Q{i}" for i in range(CHIPS_PER_GROUP + 5)],
    }
    assert hit_ids(source) == {
        "people": [ADA, "Q43"],
        "organisations": [f"Q{i}" for i in range(CHIPS_PER_GROUP)],
        "places": ["Q1"],
    }


def test_entity_keys_end_with_the_id() -> None:
    key = entity_key("Ada Lovelace", "people", ADA)
    assert key == SEP.join(("ada lovelace", "people", "Ada Lovelace", ADA))
    assert parse_key(key) == ("Ada Lovelace", "people", ADA)
    assert parse_key(SEP.join(("ada", "people", "Ada"))) == ("Ada", "people", None)
    for bad in ("x", SEP.join(("a", "people", "")), SEP.join(("a", "people", "A", "nope"))):
        assert parse_key(bad) is None
    # An older document's entity list gives the new keys on upgrade.
    upgraded = upgrade_document(
        {
            "article_id": "a" * 32,
            "entities": [
                {"canonical": "Ada Lovelace", "group": "people", "id": ADA},
                {"canonical": "Paris", "group": "places", "id": 7},
                {"canonical": "1999", "group": "dates"},
                "junk",
            ],
        }
    )
    assert upgraded["entity_keys"] == [key, SEP.join(("paris", "places", "Paris"))]
    assert upgraded["people_ids"] == [ADA]


def test_facet_value_search_by_name_reads_entity_keys() -> None:
    pattern = entity_key_pattern("lov", "people")
    assert re.fullmatch(pattern, entity_key("Ada Lovelace", "people", ADA))
    assert not re.fullmatch(pattern, entity_key("Ada Lovelace", "places", ADA))  # other group
    assert not re.fullmatch(pattern, entity_key("Ada Lovelace", "people", None))  # no id
    assert not re.fullmatch(pattern, entity_key("Glove", "people", ADA))  # not a word start
    assert not re.fullmatch(entity_key_pattern("people", "people"), entity_key("X", "people", ADA))
    body = build_facet_values_body(SearchRequest(), "people", "lov", 5)
    assert body["aggs"]["values"]["aggs"]["top"]["terms"]["field"] == "entity_keys"
    plain = build_facet_values_body(SearchRequest(), "people", "", 5)
    assert plain["aggs"]["values"]["aggs"]["top"]["terms"]["field"] == "people_ids"


def test_names_read_back_from_the_documents() -> None:
    body = build_names_body([ADA, "Q30"])
    assert body["aggs"]["ids"]["terms"]["include"] == [ADA, "Q30"]
    response = {
        "aggregations": {
            "ids": {
                "buckets": [
                    {
                        "key": ADA,
                        "newest": {
                            "hits": {
                                "hits": [
                                    {
                                        "_source": {
                                            "entities": [
                                                {"id": "Q30", "canonical": "US"},
                                                {"id": ADA, "canonical": "Ada", "group": "people"},
                                            ]
                                        }
                                    }
                                ]
                            }
                        },
                    },
                    {"key": "Q30", "newest": {"hits": {"hits": [{"_source": {"entities": 3}}]}}},
                ]
            }
        }
    }
    assert stored_names(response) == {ADA: ("Ada", "people")}


@pytest.mark.parametrize(
    ("day", "interval", "start"),
    [
        (date(2024, 5, 9), "day", date(2024, 5, 9)),
        (date(2024, 5, 9), "week", date(2024, 5, 6)),
        (date(2024, 5, 9), "month", date(2024, 5, 1)),
        (date(2024, 5, 9), "quarter", date(2024, 4, 1)),
        (date(2024, 12, 9), "quarter", date(2024, 10, 1)),
        (date(2024, 5, 9), "year", date(2024, 1, 1)),
        (date(2024, 5, 9), "decade", date(2020, 1, 1)),
    ],
)
def test_interval_start(day: date, interval: str, start: date) -> None:
    assert interval_start(day, interval) == start  # type: ignore[arg-type]


def day_bucket(day: str, count: int) -> dict[str, Any]:
    return {"key_as_string": day, "key": f"{day}T00:00:00Z", "doc_count": count}


def test_days_become_the_interval_that_fits_their_span() -> None:
    raw = {
        "aggregations": {
            "histogram": {
                "buckets": [
                    day_bucket("2020-01-15", 2),
                    day_bucket("2020-01-20", 1),
                    day_bucket("2026-06-01", 4),
                ]
            }
        }
    }
    histogram = histogram_of(raw)
    assert histogram.interval == "quarter"  # 6.4 years: months would be over 60 bars
    assert histogram.buckets[0].start == date(2020, 1, 1)
    assert histogram.buckets[0].count == 3
    assert histogram.buckets[-1].start == date(2026, 4, 1)
    assert sum(b.count for b in histogram.buckets) == 7
    assert len(histogram.buckets) == 26  # every quarter between, empty ones too
    assert histogram_of({}).buckets == []
    one = histogram_of({"aggregations": {"histogram": {"buckets": [day_bucket("2024-01-01", 1)]}}})
    assert (one.interval, len(one.buckets)) == ("day", 1)


def test_entity_body_is_one_request_for_the_whole_page() -> None:
    body = build_entity_body("Q30", 10, 5)
    assert body["query"] == {"term": {"entity_ids": "Q30"}}
    assert body["size"] == 10 and body["track_total_hits"] is True
    assert body["aggs"]["related_people"]["terms"] == {
        "field": "people_ids",
        "size": 5,
        "exclude": ["Q30"],
    }
    assert body["aggs"]["histogram"]["date_histogram"]["field"] == "sort_date"
    assert re.fullmatch(
        body["aggs"]["names"]["terms"]["include"], entity_key("US", "places", "Q30")
    )
