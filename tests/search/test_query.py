"""Unit tests of the search's pure parts: request normalisation, query
building, cursors and response shaping. No server is needed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.search import cursor as cursors
from services.search.models import FACET_NAMES, SearchRequest, Spelling, parse_date_bound
from services.search.query import (
    DateBounds,
    all_of,
    build_histogram_body,
    build_page_stories_body,
    build_search_body,
    build_similar_body,
    choose_interval,
    date_clause,
    histogram_span,
    matching_query,
    sort_clause,
    text_query,
)
from services.search.results import (
    answer_json,
    facet_from,
    hit_from,
    interval_end,
    page_stories_from,
    search_answer,
    search_response,
    similar_from,
    suggestions_from,
)
from services.search.suggest import (
    EXTRA_KEYS,
    build_suggest_body,
    normalise_prefix,
    suggest_pattern,
)

SEP = "\x1f"
# Beyond any corpus yet inside the date window.
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()


def request(**fields: Any) -> SearchRequest:
    return SearchRequest(**fields)


# ----------------------------------------------------------------- requests
def test_request_normalises_query_and_filters() -> None:
    a = request(q="  climate   change ", people=["B", " A ", "B", ""])
    b = request(q="climate change", people=["A", "B"])
    assert a.q == "climate change"
    assert a.people == ("A", "B")
    assert a.cache_identity() == b.cache_identity()
    assert cursors.identity_of(a) == cursors.identity_of(b)


def test_relevance_without_words_is_newest() -> None:
    assert request(q="", sort="relevance").effective_sort == "newest"
    assert request(q="x", sort="relevance").effective_sort == "relevance"
    assert request(sort="relevance").cache_identity() == request(sort="newest").cache_identity()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", date(2024, 3, 1)),
        ("2024-03-01T10:30:00Z", datetime(2024, 3, 1, 10, 30, tzinfo=UTC)),
        ("2024-03-01T10:30:00", datetime(2024, 3, 1, 10, 30, tzinfo=UTC)),
    ],
)
def test_date_bounds_tell_days_from_instants(text: str, expected: date) -> None:
    parsed = parse_date_bound(text)
    assert parsed == expected
    assert type(parsed) is type(expected)


def test_invalid_requests_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"'from' \(2024-02-01\) must not be after 'to'"):
        request(date_from="2024-02-01", date_to="2024-01-31")
    with pytest.raises(ValidationError, match="either 'page' or 'cursor'"):
        request(page=2, cursor="abc")
    with pytest.raises(ValidationError):
        request(date_from="yesterday")
    # A single day is a valid range.
    assert request(date_from="2024-01-31", date_to="2024-01-31")


# ----------------------------------------------------------------- text
def test_text_query_is_an_and_of_words_minus_exclusions() -> None:
    assert text_query("") == {"match_all": {}}
    query = text_query('"exact phrase" -not a | b')["bool"]
    phrase, either = query["must"]
    assert phrase["multi_match"]["type"] == "phrase"
    assert phrase["multi_match"]["query"] == "exact phrase"
    assert len(either["bool"]["should"]) == 2 and either["bool"]["minimum_should_match"] == 1
    [excluded] = query["must_not"]
    assert excluded["multi_match"]["query"] == "not"


def test_a_word_is_scored_in_every_form_title_first() -> None:
    clause = text_query("election", prefix_last=False)["multi_match"]
    assert clause["type"] == "most_fields" and clause["operator"] == "and"
    weights = {f.split("^")[0]: float(f.split("^")[1]) for f in clause["fields"]}
    # As written > folded > stemmed, in the title and in the body.
    assert weights["title.exact"] > weights["title"] > weights["title_en"]
    assert weights["body.exact"] > weights["body"] > weights["body_en"]
    assert weights["title"] > weights["body.exact"]  # the title counts more
    assert {"title_fr", "title_es", "body_fr", "body_es", "authors"} <= set(weights)
    assert clause["zero_terms_query"] == "all"  # a word of symbols never empties a query


def test_the_last_word_also_matches_as_a_prefix() -> None:
    last = text_query("donald tru")["bool"]["must"][1]["bool"]["should"]
    assert last[0]["multi_match"]["query"] == "tru"
    typed = last[1]["multi_match"]
    assert all(".prefix" in f for f in typed["fields"])
    first = text_query("donald tru")["bool"]["must"][0]
    assert "multi_match" in first  # only the last word
    assert "bool" not in text_query("tru", prefix_last=False)


def test_symbols_and_emoji_are_not_words() -> None:
    assert text_query("trump 🚀") == text_query("trump")
    assert text_query("🚀 — &") == {"match_all": {}}


def test_plus_and_ampersand_are_part_of_words() -> None:
    assert text_query("C++", prefix_last=False)["multi_match"]["query"] == "C++"
    assert text_query("AT&T", prefix_last=False)["multi_match"]["query"] == "AT&T"


def test_field_prefixes() -> None:
    author = text_query('author:"Amy Kuperinsky"')["multi_match"]
    assert author["fields"] == ["authors^3"] and author["type"] == "phrase"
    source = text_query("source:NYTimes")["bool"]["should"]
    assert source == [{"term": {"source": "nytimes"}}, {"prefix": {"source": "nytimes."}}]
    title = text_query("title:keyboard", prefix_last=False)["multi_match"]
    assert all(f.startswith("title") for f in title["fields"])
    excluded = text_query("trump -source:nypost.com")["bool"]["must_not"][0]
    assert excluded["bool"]["should"][0] == {"term": {"source": "nypost.com"}}
    # An unknown prefix is text.
    assert text_query("foo:bar", prefix_last=False)["multi_match"]["query"] == "foo:bar"


def test_synonyms_join_only_words_of_the_list() -> None:
    usa = text_query("usa", prefix_last=False)["bool"]["should"]
    assert usa[1] == {"match": {"body": {"query": "usa", "analyzer": "newsflow_synonyms_search"}}}
    assert "multi_match" in text_query("france", prefix_last=False)


def test_highlight_is_html_encoded_with_mark_tags() -> None:
    body = build_search_body(request(q="climate"))
    highlight = body["highlight"]
    assert highlight["encoder"] == "html"
    assert highlight["pre_tags"] == ["<mark>"] and highlight["post_tags"] == ["</mark>"]
    assert {"title", "body", "title_en", "body_fr"} <= set(highlight["fields"])
    assert highlight["fields"]["body"]["no_match_size"] > 0
    assert "no_match_size" not in highlight["fields"]["body_en"]
    assert highlight["fields"]["body_fr"]["highlight_query"] == {
        "match": {"body_fr": {"query": "climate"}}
    }
    fields = build_search_body(request())["highlight"]["fields"]
    assert all("highlight_query" not in f for f in fields.values())


def test_matching_query_holds_every_condition() -> None:
    query = matching_query(
        request(q="trump", source=["a.com"], date_from="2024-01-01"), prefix_last=False
    )
    must, filters = query["bool"]["must"], query["bool"]["filter"]
    assert must[0]["multi_match"]["query"] == "trump"
    assert {"terms": {"source": ["a.com"]}} in filters
    assert any("range" in f for f in filters)


# ----------------------------------------------------------------- filters and facets
def test_facet_filters_are_post_filters_or_within_and_across() -> None:
    body = build_search_body(request(source=["b.com", "a.com"], language=["en"]))
    assert body["post_filter"] == {
        "bool": {
            "filter": [
                {"terms": {"source": ["a.com", "b.com"]}},
                {"terms": {"language": ["en"]}},
            ]
        }
    }
    # The scored query has no facet filter: aggregations see every facet value.
    assert "terms" not in str(body["query"])


def test_author_facet_counts_bylines_as_written() -> None:
    body = build_search_body(request(author=["Amy Kuperinsky"]))
    assert body["post_filter"] == {"terms": {"authors.keyword": ["Amy Kuperinsky"]}}
    terms = body["aggs"]["facet_author"]["aggs"]["top"]["terms"]
    assert terms["field"] == "authors.keyword"


def test_each_facet_is_counted_without_its_own_filter() -> None:
    body = build_search_body(request(source=["a.com"], language=["en"], people=["Ada"]))
    aggs = body["aggs"]
    source, language, people = (
        {"terms": {"source": ["a.com"]}},
        {"terms": {"language": ["en"]}},
        {"terms": {"people": ["Ada"]}},
    )
    assert aggs["facet_source"]["filter"] == {"bool": {"filter": [people, language]}}
    assert aggs["facet_language"]["filter"] == {"bool": {"filter": [people, source]}}
    assert aggs["facet_people"]["filter"] == {"bool": {"filter": [source, language]}}
    assert aggs["facet_places"]["filter"] == {"bool": {"filter": [people, source, language]}}
    assert aggs["dates"]["filter"] == {"bool": {"filter": [people, source, language]}}
    # Selected values are counted even when outside the top ones.
    assert aggs["facet_source"]["aggs"]["selected"]["terms"]["include"] == ["a.com"]
    assert "selected" not in aggs["facet_places"]["aggs"]


def test_no_filters_means_no_post_filter() -> None:
    body = build_search_body(request(q="x"))
    assert "post_filter" not in body
    assert body["aggs"]["facet_source"]["filter"] == {"match_all": {}}


def test_all_of() -> None:
    one = {"term": {"a": 1}}
    assert all_of([]) == {"match_all": {}}
    assert all_of([one]) == one
    assert all_of([one, one]) == {"bool": {"filter": [one, one]}}


# ----------------------------------------------------------------- dates
def test_date_range_days_are_whole() -> None:
    clause = date_clause(request(date_from="2024-01-01", date_to="2024-01-31"))
    assert clause == {
        "range": {
            "published_at": {"gte": "2024-01-01T00:00:00+00:00", "lt": "2024-02-01T00:00:00+00:00"}
        }
    }
    instant = date_clause(request(date_to="2024-01-31T12:00:00Z"))
    assert instant == {"range": {"published_at": {"lte": "2024-01-31T12:00:00+00:00"}}}
    assert date_clause(request()) is None


def test_date_range_filters_the_query_not_the_post_filter() -> None:
    body = build_search_body(request(date_from="2024-01-01"))
    assert body["query"]["bool"]["filter"] == [
        {"range": {"published_at": {"gte": "2024-01-01T00:00:00+00:00"}}}
    ]
    assert "post_filter" not in body


def test_histogram_fits_the_requested_range() -> None:
    body = build_search_body(request(date_from="2024-03-01", date_to="2024-03-31"))
    dates = body["aggs"]["dates"]["aggs"]
    histogram = dates["histogram"]["date_histogram"]
    assert histogram["field"] == "published_at"
    assert histogram["calendar_interval"] == "day"
    assert histogram["min_doc_count"] == 0
    # The axis spans the results (first to last non-empty bucket), not the range.
    assert "extended_bounds" not in histogram
    assert histogram["hard_bounds"]["min"] == int(
        datetime(1900, 1, 1, tzinfo=UTC).timestamp() * 1000
    )
    # Undated: no date, or one outside the window (no bucket shows it).
    undated = dates["undated"]["filter"]["bool"]["must_not"]
    assert list(undated[0]["range"]["published_at"]) == ["gte", "lte"]
    # The results' own span, to draw them finer when they lie close together.
    span = dates["span"]
    assert set(span["aggs"]) == {"oldest", "newest"}
    assert span["filter"]["range"]["published_at"]["gte"] == histogram["hard_bounds"]["min"]


def test_histogram_interval_from_corpus_bounds() -> None:
    bounds = DateBounds(datetime(2015, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))
    body = build_search_body(request(), bounds=bounds)
    histogram = body["aggs"]["dates"]["aggs"]["histogram"]["date_histogram"]
    assert histogram["calendar_interval"] == "quarter"


@pytest.mark.parametrize(
    "dates",
    [{"date_from": TOMORROW}, {"date_to": "2001-01-01"}, {"date_to": "2001-01-01T00:00:00"}],
)
def test_histogram_span_stays_ordered_for_ranges_beyond_the_corpus(dates: dict[str, str]) -> None:
    bounds = DateBounds(datetime(2015, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))
    oldest, newest = histogram_span(request(**dates), bounds)
    assert oldest is not None and newest is not None and oldest <= newest


def test_histogram_of_the_results_span() -> None:
    span = DateBounds(datetime(2019, 11, 18, tzinfo=UTC), datetime(2019, 12, 10, tzinfo=UTC))
    body = build_histogram_body(request(q="trump", source=["a.com"]), span)
    assert body["size"] == 0
    dates = body["aggs"]["dates"]
    assert dates["filter"] == {"terms": {"source": ["a.com"]}}
    histogram = dates["aggs"]["histogram"]["date_histogram"]
    assert histogram["calendar_interval"] == "day"
    assert histogram["extended_bounds"] == {
        "min": int(span.oldest.timestamp() * 1000),
        "max": int(span.newest.timestamp() * 1000),
    }


@pytest.mark.parametrize(
    ("days", "interval"),
    [(0, "day"), (45, "day"), (61, "week"), (400, "week"), (600, "month"), (3000, "quarter")],
)
def test_choose_interval(days: int, interval: str) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    end = datetime.fromtimestamp(start.timestamp() + days * 86400, tz=UTC)
    assert choose_interval(start, end) == interval
    assert choose_interval(None, None) == "month"
    assert choose_interval(start, datetime(2070, 1, 1, tzinfo=UTC)) == "year"
    assert choose_interval(start, datetime(2100, 1, 1, tzinfo=UTC)) == "decade"


# ----------------------------------------------------------------- sorting and paging
def test_sorts_end_on_the_unique_id() -> None:
    for order in ("relevance", "newest", "oldest"):
        assert sort_clause(order)[-1] == {"article_id": {"order": "asc"}}
    assert sort_clause("relevance")[0] == {"_score": {"order": "desc"}}
    assert sort_clause("newest")[0] == {"published_at": {"order": "desc", "missing": "_last"}}
    assert sort_clause("oldest")[0] == {"published_at": {"order": "asc", "missing": "_last"}}
    assert request(sort="oldest").effective_sort == "oldest"  # with or without words
    # Empty q sorts newest whatever was asked.
    assert build_search_body(request(sort="relevance"))["sort"] == sort_clause("newest")


def test_pages_by_number_and_by_cursor() -> None:
    body = build_search_body(request(page=3, size=20))
    assert body["from"] == 40 and body["size"] == 20
    assert body["track_total_hits"] is True
    assert "search_after" not in body and "pit" not in body

    after = [1.5, 1700000000000, "abc"]
    continued = build_search_body(
        request(size=20), search_after=after, pit_id="PIT", pit_keep_alive="1m"
    )
    assert continued["search_after"] == after
    assert "from" not in continued
    assert continued["pit"] == {"id": "PIT", "keep_alive": "1m"}


def test_facets_can_be_left_out() -> None:
    assert "aggs" not in build_search_body(request(with_facets=False, group="none"))
    # Grouped, the story count is still asked for (pages count stories).
    assert set(build_search_body(request(with_facets=False))["aggs"]) == {"stories"}


def test_grouped_search_collapses_on_the_story() -> None:
    search = request(q="climate", source=["a.com"], sort="newest")
    grouped = build_search_body(search)
    # No inner hits: Elasticsearch would run them as searches of their own, per hit.
    assert grouped["collapse"] == {"field": "story_id"}
    # The story count sees the facet filters, as the hits do (post_filter).
    assert grouped["aggs"]["stories"]["filter"] == grouped["post_filter"]
    # The page's stories: what the search matches (query and facet filters), in them.
    page = build_page_stories_body(search, ["s1", "s2"])
    filters = page["query"]["bool"]["filter"]
    assert grouped["post_filter"] in filters and {"terms": {"story_id": ["s1", "s2"]}} in filters
    stories = page["aggs"]["stories"]
    assert stories["terms"] == {"field": "story_id", "size": 2}
    assert stories["aggs"]["top"]["top_hits"]["sort"] == grouped["sort"]
    assert page["size"] == 0
    assert "collapse" not in build_search_body(request(q="climate", group="none"))
    # A grouped cursor continues at an offset, inside the result window.
    deep = build_search_body(request(size=50), offset=9_980, pit_id="P")
    assert (deep["from"], deep["size"]) == (9_980, 20)
    assert "search_after" not in deep


def test_hits_leave_the_body_out() -> None:
    source = build_search_body(request())["_source"]
    assert "body" not in source and "title" in source


# ----------------------------------------------------------------- cursors
def test_cursor_round_trip_and_identity() -> None:
    search = request(q="climate", source=["a.com"], group="none")
    token = cursors.encode(
        cursors.Cursor(identity=cursors.identity_of(search), after=[2.5, "id"], seen=20, pit="P")
    )
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    decoded = cursors.decode(token, search)
    assert decoded.after == [2.5, "id"] and decoded.seen == 20 and decoded.pit == "P"
    # Page size may change between pages; the query may not.
    assert cursors.decode(token, request(q="climate", source=["a.com"], size=50, group="none"))
    with pytest.raises(cursors.InvalidCursor, match="another search"):
        cursors.decode(token, request(q="weather", source=["a.com"], group="none"))
    with pytest.raises(cursors.InvalidCursor, match="another search"):
        cursors.decode(token, request(q="climate", source=["a.com"]))  # grouped


def test_grouped_cursors_go_by_offset() -> None:
    search = request(q="climate")
    raw = {"hits": {"total": {"value": 90}, "hits": [{"sort": [1.0, "x"]}] * 20}, "pit_id": "P"}
    following = cursors.following(search, raw, 20, stories=45)
    assert following is not None and following.after == [] and following.seen == 40
    assert cursors.continuation(following) == {"offset": 40}
    decoded = cursors.decode(cursors.encode(following), search)
    assert decoded.seen == 40 and decoded.pit == "P"
    assert cursors.following(search, raw, 30, stories=45) is None  # 50 >= 45 stories
    ungrouped = request(q="climate", group="none")
    after = cursors.following(ungrouped, raw, 20, stories=None)
    assert after is not None and cursors.continuation(after) == {"search_after": [1.0, "x"]}
    # A grouped cursor cannot carry a sort position, nor go past the window.
    for cursor in (
        cursors.Cursor(identity=cursors.identity_of(search), after=[1], seen=20),
        cursors.Cursor(identity=cursors.identity_of(search), after=[], seen=10_000),
    ):
        with pytest.raises(cursors.InvalidCursor):
            cursors.decode(cursors.encode(cursor), search)


@pytest.mark.parametrize("token", ["", "!!!", "bm90IGpzb24", "eyJ2IjoyfQ", "eyJ2IjoxLCJhIjpbXX0"])
def test_garbage_cursors_are_refused(token: str) -> None:
    with pytest.raises(cursors.InvalidCursor):
        cursors.decode(token, request())


# ----------------------------------------------------------------- suggestions
def key(name: str, group: str = "people") -> str:
    return SEP.join((name.lower(), group, name))


def matches(prefix: str, term: str) -> bool:
    # Lucene regexps are anchored, like fullmatch; the constructs used
    # (groups, classes, escapes, .*) read the same in Python.
    return re.fullmatch(suggest_pattern(normalise_prefix(prefix)), term) is not None


def test_suggest_pattern_matches_word_starts_of_the_name_only() -> None:
    assert matches("bar", key("Barack Obama"))
    assert matches("OBA", key("Barack Obama"))
    assert matches("barack ob", key("Barack Obama"))
    assert matches("berners", key("Tim Berners-Lee")) and matches("lee", key("Tim Berners-Lee"))
    assert not matches("rack", key("Barack Obama"))  # not a word start
    assert not matches("people", key("Barack Obama"))  # the group part
    assert not matches("obama", SEP.join(("x", "people", "obama")))  # the display part


@pytest.mark.parametrize("prefix", [".*", "a|b", "(", "[a-z]", "\\", '"', "~@#&<>"])
def test_suggest_pattern_escapes_regex_syntax(prefix: str) -> None:
    pattern = suggest_pattern(normalise_prefix(prefix))
    re.compile(pattern)
    assert not matches(prefix, key("Anything At All"))
    assert matches(prefix, key(f"x {prefix}y"))


def test_suggest_body_ranks_by_article_count() -> None:
    terms = build_suggest_body("oba", 7)["aggs"]["entities"]["terms"]
    assert terms["field"] == "entity_keys"
    assert terms["size"] == 7 + EXTRA_KEYS  # merged by id, id-less keys skipped
    assert terms["order"][0] == {"_count": "desc"}
    assert normalise_prefix("  New\x1f  YORK\x00 ") == "new york"


def test_suggestions_from_keys() -> None:
    response = {
        "aggregations": {
            "entities": {
                "buckets": [
                    {"key": key("New York", "places") + SEP + "Q60", "doc_count": 9},
                    {
                        "key": key("Newsroom Club", "groups") + SEP + f"ent_{'a' * 16}",
                        "doc_count": 2,
                    },
                    {"key": key("Newark", "places"), "doc_count": 2},  # no id: not offered
                    {"key": key("new york city", "places") + SEP + "Q60", "doc_count": 1},
                    {"key": key("News", "people") + SEP + "nonsense", "doc_count": 1},
                ]
            }
        }
    }
    items = suggestions_from("new", response, {"Q60": "New York City"}).items
    assert [(i.id, i.name, i.facet, i.count) for i in items] == [
        ("Q60", "New York City", "places", 10),
        (f"ent_{'a' * 16}", "Newsroom Club", None, 2),
    ]


def test_similar_body() -> None:
    body = build_similar_body("articles-v1", "a" * 32, 5)
    mlt = body["query"]["more_like_this"]
    assert mlt["fields"] == ["title", "body"]
    assert mlt["like"] == [{"_index": "articles-v1", "_id": "a" * 32}]
    # The seed is among the hits: its score is the yardstick.
    assert mlt["include"] is True and body["size"] == 6
    assert "the" in mlt["stop_words"] and "la" in mlt["stop_words"]


def test_similar_keeps_only_articles_close_enough() -> None:
    hits = [
        {"_id": "seed", "_score": 10.0, "_source": {"title": "S", "source": "s"}},
        {"_id": "twin", "_score": 6.0, "_source": {"title": "T", "source": "s"}},
        {"_id": "near", "_score": 3.5, "_source": {"title": "N", "source": "s"}},
        {"_id": "far", "_score": 1.0, "_source": {"title": "F", "source": "s"}},
    ]
    items = similar_from("seed", {"hits": {"hits": hits}}, 5).items
    assert [(i.id, i.score) for i in items] == [("twin", 0.6), ("near", 0.35)]
    assert [i.id for i in similar_from("seed", {"hits": {"hits": hits}}, 1).items] == ["twin"]
    # Without the seed's own score, nothing can be said to be close.
    assert similar_from("seed", {"hits": {"hits": hits[1:]}}, 5).items == []


# ----------------------------------------------------------------- results
@pytest.mark.parametrize(
    ("start", "interval", "end"),
    [
        (date(2024, 1, 31), "day", date(2024, 2, 1)),
        (date(2024, 1, 1), "week", date(2024, 1, 8)),
        (date(2024, 12, 1), "month", date(2025, 1, 1)),
        (date(2024, 10, 1), "quarter", date(2025, 1, 1)),
        (date(2024, 1, 1), "year", date(2025, 1, 1)),
    ],
)
def test_interval_end(start: date, interval: str, end: date) -> None:
    assert interval_end(start, interval) == end  # type: ignore[arg-type]


def test_facet_keeps_selected_values_outside_the_top() -> None:
    agg = {
        "top": {"buckets": [{"key": "a", "doc_count": 5}, {"key": "b", "doc_count": 3}]},
        "selected": {"buckets": [{"key": "z", "doc_count": 1}]},
    }
    buckets = facet_from(agg, ("b", "z", "gone"))
    assert [(b.value, b.count, b.selected) for b in buckets] == [
        ("a", 5, False),
        ("b", 3, True),
        ("z", 1, True),
        ("gone", 0, True),
    ]


def test_hit_prefers_the_stemmed_fragments_that_mark_something() -> None:
    raw: dict[str, Any] = {
        "_id": "x",
        "_source": {"title": "Elections", "source": "s"},
        "highlight": {
            "title": ["Elections"],
            "title_en": ["<mark>Elections</mark>"],
            "body": ["the lead paragraph"],
            "body_en": ["new <mark>elections</mark> were called"],
        },
    }
    hit = hit_from(raw)
    assert hit.title_html == "<mark>Elections</mark>"
    assert hit.snippets == ["new <mark>elections</mark> were called"]
    raw["highlight"] = {"body": ["<mark>c++</mark> code"], "body_en": ["no mark"]}
    assert hit_from(raw).snippets == ["<mark>c++</mark> code"]


def test_hit_without_title_match_has_no_title_html() -> None:
    raw = {
        "_id": "x",
        "_score": None,
        "_source": {"title": "T", "source": "s", "published_at": "2024-01-01T00:00:00Z"},
        "highlight": {"title": ["T"], "body": ["a &lt;b&gt; <mark>c</mark>"]},
    }
    hit = hit_from(raw)
    assert hit.title_html is None
    assert hit.snippets == ["a &lt;b&gt; <mark>c</mark>"]
    assert hit.published_at == datetime(2024, 1, 1, tzinfo=UTC)


def _answer_parts() -> tuple[SearchRequest, dict[str, Any], dict[str, Any]]:
    """A grouped search's answer with every part a response can have."""
    hits = [
        {
            "_id": "a" * 32,
            "_score": 7,  # an integer score is still a float in the answer
            "_source": {
                "title": "Votes",
                "source": "herald.example",
                "language": "en",
                "published_at": "2024-03-01T10:00:00.123456+02:00",
                "url": "https://herald.example/votes",
                "authors": ["Ann", 3],
                "word_count": 812.0,
                "people": ["Ada Lovelace"],
                "people_ids": ["ent_0123456789abcdef", "not an id"],
                "places_ids": "Q30",
                "story_id": "s1",
            },
            "highlight": {"title_en": ["<mark>Votes</mark>"], "body": ["a <mark>vote</mark>"]},
        },
        {"_id": "b" * 32, "_score": 1.25, "_source": {"published_at": 1_700_000_000_000}},
    ]
    facets = {
        f"facet_{name}": {"top": {"buckets": [{"key": "Q30", "doc_count": 4}]}}
        for name in FACET_NAMES
    }
    facets["facet_people"]["selected"] = {"buckets": [{"key": "Q1", "doc_count": 1}]}
    raw = {
        "took": 12,
        "timed_out": False,
        "hits": {"total": {"value": 2}, "hits": hits},
        "aggregations": {
            **facets,
            "stories": {"n": {"value": 2}},
            "dates": {
                "histogram": {"buckets": [{"key": 1_704_067_200_000, "doc_count": 2}]},
                "undated": {"doc_count": 1},
            },
        },
    }
    story_hit = {"_id": "c" * 32, "_source": {"title": "Other", "source": "post.example"}}
    stories = page_stories_from(
        {
            "aggregations": {
                "stories": {
                    "buckets": [
                        {
                            "key": "s1",
                            "doc_count": 3,
                            "sources": {"value": 2},
                            "top": {"hits": {"hits": [hits[0], story_hit]}},
                        }
                    ]
                }
            }
        }
    )
    request = SearchRequest(
        q="vote",
        people=("Q1", "Old Name"),
        source=("herald.example",),
        date_from="2024-01-01T08:30:00+01:00",
        date_to="2024-12-31",
    )
    return request, raw, stories


def test_search_answer_is_sent_as_the_model_writes_it() -> None:
    # The answer is built as dicts and sent with orjson (results.search_answer);
    # its bytes must be those of the documented model: same fields, same order,
    # same types, instants written the same way.
    request, raw, stories = _answer_parts()
    names = {"Q30": "United States", "ent_0123456789abcdef": "Ada Lovelace"}
    for spelling in (None, Spelling(suggestion="vote", applied=True)):
        parts: dict[str, Any] = {
            "next_cursor": "abc",
            "interval": "month",
            "spelling": spelling,
            "names": names,
            "stories": stories,
        }
        answer = search_answer(request, raw, **parts)
        model = search_response(request, raw, **parts)
        assert answer_json(answer) == model.model_dump_json().encode()
    hit = model.hits[0]
    assert hit.score == 7.0 and hit.story is not None
    assert [o.id for o in hit.story.others] == ["c" * 32]  # the hit itself left out
    assert [(e.id, e.name) for e in hit.entities] == [
        ("ent_0123456789abcdef", "Ada Lovelace"),
        ("Q30", "United States"),
    ]
    assert model.facets is not None
    assert [b.value for b in model.facets.people] == ["Q30", "Old Name", "Q1"]
