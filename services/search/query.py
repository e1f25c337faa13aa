"""Pure query building: a validated request in, an Elasticsearch body out.

Nothing here talks to a server, so every rule of the search (what is scored,
what filters, how facets stay multi-select, how pages continue) is unit
tested on plain dicts (tests/search/test_query.py), and the latency bench
sends the very same bodies straight to Elasticsearch.

How a search body is shaped, and why:

* ``query`` holds what decides *which* articles match for every part of the
  page: the words (scored) and the date range (a filter). The date range sits
  here, not in the post-filter, so the histogram zooms into the chosen range
  instead of showing the whole corpus with a highlighted slice.
* ``post_filter`` holds the facet filters. It narrows the hits after the
  aggregations ran, and each facet's aggregation re-applies every facet filter
  *except its own*: ticking a second source then widens the results (OR within
  a facet) while the source list still shows what other sources would add.
  Different facets combine with AND.
* Sorts end with ``article_id``, a unique keyword, so ``search_after`` is
  exact with or without a point in time (see ``services/search/cursor.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from services.search.limits import clamp, date_window, epoch_ms, highlight_text
from services.search.models import (
    FACET_NAMES,
    FacetName,
    Interval,
    SearchRequest,
    SortOrder,
    range_end,
    range_start,
)

# Elasticsearch refuses from + size beyond index.max_result_window (10,000 by
# default); deeper pages go through the cursor (search_after), which has no limit.
MAX_RESULT_WINDOW = 10_000

# Stemmed fields find "elections" for "election"; the `.std` sub-fields keep
# exact word forms and add to the score of exact matches (simple_query_string
# sums the fields a word matches). A title match counts three times a body match.
TEXT_FIELDS = ("title^3", "title.std^2", "body", "body.std^0.5")

# What a result line needs; the body is left out of hits (articles can be
# long) and reaches the page only through highlighted snippets.
HIT_SOURCE = (
    "article_id",
    "title",
    "source",
    "language",
    "published_at",
    "url",
    "authors",
    "word_count",
    "people",
    "organisations",
    "places",
)

SNIPPET_CHARS = 180
SNIPPETS_PER_HIT = 2
# Fields without offsets in the index (the title) are re-analysed to be
# highlighted; past this many characters a stored value is not (Elasticsearch
# would refuse the whole search over 1,000,000 of them, its index limit).
HIGHLIGHT_MAX_ANALYZED_CHARS = 10_000
# A fuzzy word matches at most this many indexed words (Elasticsearch's
# default, 50, multiplied over four fields and every fuzzy word, made a
# query of 100 of them cost seconds), sharing its first letter.
FUZZY_MAX_EXPANSIONS = 10
FUZZY_PREFIX_LENGTH = 1
HISTOGRAM_MAX_BUCKETS = 60
# Calendar intervals from fine to coarse, with their longest length in days:
# the finest one that keeps the histogram under HISTOGRAM_MAX_BUCKETS wins.
# A decade is drawn from yearly buckets (Elasticsearch has no decade).
_INTERVAL_DAYS: tuple[tuple[Interval, int], ...] = (
    ("day", 1),
    ("week", 7),
    ("month", 31),
    ("quarter", 92),
    ("year", 366),
    ("decade", 3653),
)


class DateBounds(NamedTuple):
    """Oldest and newest publication date in the index; used to pick the
    histogram's interval when the request leaves a side of the range open."""

    oldest: datetime
    newest: datetime


# ----------------------------------------------------------------- full text
def text_query(q: str) -> dict[str, Any]:
    """The scored part. simple_query_string because it never fails on user
    input: stray quotes or operators are read as text, not as a syntax error.
    It still gives people "exact phrases", -exclusions, OR (`|`) and prefix*.
    Words are ANDed: a news reader expects every word they typed to count."""
    if not q:
        return {"match_all": {}}
    return {
        "simple_query_string": {
            "query": q,
            "fields": list(TEXT_FIELDS),
            "default_operator": "and",
            # Quoted phrases match exact word forms, not stems.
            "quote_field_suffix": ".std",
            "lenient": True,
            "fuzzy_max_expansions": FUZZY_MAX_EXPANSIONS,
            "fuzzy_prefix_length": FUZZY_PREFIX_LENGTH,
        }
    }


def highlight(q: str) -> dict[str, Any]:
    """Highlighting with the HTML encoder: the text around the matches is
    escaped by Elasticsearch, so the only markup in a fragment is our <mark>.

    The highlight query matches the plain fields: a phrase is searched on the
    `.std` sub-fields, which carry no offsets, and pointing the highlighter at
    them would re-analyse whole bodies; the stemmed fields find the same words.
    ``no_match_size`` still gives a lead paragraph when nothing matched in the
    body (or there were no words at all).

    Cost: the highlight query has no fuzzy or prefix operator
    (``limits.highlight_text``); an expanding word costs the highlighter an
    automaton per hit, and would also make it re-analyse bodies instead of
    reading offsets from the index. Re-analysis stops at
    HIGHLIGHT_MAX_ANALYZED_CHARS, whatever a stored title holds."""
    body: dict[str, Any] = {
        "encoder": "html",
        "max_analyzed_offset": HIGHLIGHT_MAX_ANALYZED_CHARS,
        "pre_tags": ["<mark>"],
        "post_tags": ["</mark>"],
        "fields": {
            "title": {"number_of_fragments": 0},
            "body": {
                "fragment_size": SNIPPET_CHARS,
                "number_of_fragments": SNIPPETS_PER_HIT,
                "no_match_size": SNIPPET_CHARS,
            },
        },
    }
    if q:
        words = highlight_text(q)
        body["highlight_query"] = (
            {
                "simple_query_string": {
                    "query": words,
                    "fields": ["title", "body"],
                    "default_operator": "or",
                    "lenient": True,
                }
            }
            if words
            else {"match_none": {}}
        )
    return body


# ----------------------------------------------------------------- filters
def facet_clause(name: FacetName, values: Sequence[str]) -> dict[str, Any]:
    """Any of the values (OR within a facet)."""
    return {"terms": {name: list(values)}}


def facet_clauses(request: SearchRequest) -> dict[FacetName, dict[str, Any]]:
    return {name: facet_clause(name, values) for name, values in request.filters().items()}


def date_clause(request: SearchRequest) -> dict[str, Any] | None:
    """Range on ``published_at``. Articles without a publication date cannot
    be said to fall inside a range, so any bound excludes them; with no bound
    they are found like any other (and sort last under "newest")."""
    if request.date_from is None and request.date_to is None:
        return None
    limits: dict[str, str] = {}
    if request.date_from is not None:
        limits["gte"] = range_start(request.date_from).isoformat()
    if request.date_to is not None:
        end, inclusive = range_end(request.date_to)
        limits["lte" if inclusive else "lt"] = end.isoformat()
    return {"range": {"published_at": limits}}


def all_of(clauses: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """AND of filter clauses, in the lightest form Elasticsearch accepts."""
    if not clauses:
        return {"match_all": {}}
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"filter": list(clauses)}}


# ----------------------------------------------------------------- sorting
def sort_clause(order: SortOrder) -> list[dict[str, Any]]:
    """Newest sorts on the publication date, undated articles last (then by
    when we received them); both end on the unique article id so that
    search_after never skips or repeats a hit that ties."""
    tiebreak = [{"sort_date": {"order": "desc"}}, {"article_id": {"order": "asc"}}]
    if order == "relevance":
        return [{"_score": {"order": "desc"}}, *tiebreak]
    return [{"published_at": {"order": "desc", "missing": "_last"}}, *tiebreak]


# ----------------------------------------------------------------- aggregations
def facet_aggregation(
    request: SearchRequest, name: FacetName, others: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Top values of one facet under every filter but its own. Selected values
    are counted separately too, so a chosen value stays listed (with its
    count, possibly 0) even when it is not among the top ones."""
    aggs: dict[str, Any] = {
        "top": {
            "terms": {
                "field": name,
                "size": request.facet_size,
                "order": [{"_count": "desc"}, {"_key": "asc"}],
            }
        }
    }
    selected = getattr(request, name)
    if selected:
        aggs["selected"] = {
            "terms": {
                "field": name,
                "include": list(selected),
                "size": len(selected),
                "min_doc_count": 0,
            }
        }
    return {"filter": all_of(others), "aggs": aggs}


def choose_interval(oldest: datetime | None, newest: datetime | None) -> Interval:
    """Finest calendar interval that keeps the histogram readable. The span
    lies inside the date window (``histogram_span``), so a decade keeps even
    the widest one under 15 bars."""
    if oldest is None or newest is None:
        return "month"
    span_days = max((newest - oldest) / timedelta(days=1), 1.0)
    for interval, days in _INTERVAL_DAYS:
        if span_days / days <= HISTOGRAM_MAX_BUCKETS:
            return interval
    return "decade"


def es_interval(interval: Interval) -> str:
    """The calendar interval asked of Elasticsearch (decades are summed from years)."""
    return "year" if interval == "decade" else interval


def histogram_span(
    request: SearchRequest, bounds: DateBounds | None, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """The dates the histogram covers: the requested range, each open side
    taken from the corpus, both brought inside the date window (a stored
    year 9999 must not stretch the axis, or break it)."""
    oldest = range_start(request.date_from) if request.date_from else None
    newest = range_end(request.date_to)[0] if request.date_to else None
    if bounds is not None:
        oldest = oldest or bounds.oldest
        newest = newest or bounds.newest
    oldest = clamp(oldest, now) if oldest is not None else None
    newest = clamp(newest, now) if newest is not None else None
    if oldest is not None and newest is not None and oldest > newest:
        # A one-sided range that lies beyond the corpus: draw the given side.
        if request.date_from is not None:
            newest = oldest
        else:
            oldest = newest
    return oldest, newest


def date_histogram(
    request: SearchRequest, bounds: DateBounds | None, now: datetime | None = None
) -> dict[str, Any]:
    """Counts per calendar interval over the requested range, each open side
    stretched to the corpus' oldest/newest date. Empty intervals are kept, so
    gaps show, and every search without a range is drawn on the same time
    axis: a reader sees *when* in the archive the matches fall.

    ``hard_bounds`` keeps every bucket inside the date window: articles
    dated outside it (written before dates were checked) fall in no bucket
    and are counted as undated instead, and a stored year 9999 cannot make
    Elasticsearch draw thousands of empty buckets. (1900-01-01 starts a
    day, a Monday week, a month, a quarter, a year and a decade alike.)"""
    oldest, newest = histogram_span(request, bounds, now)
    floor, ceiling = date_window(now)
    agg: dict[str, Any] = {
        "field": "published_at",
        "calendar_interval": es_interval(choose_interval(oldest, newest)),
        "min_doc_count": 0,
        "format": "yyyy-MM-dd",
        "hard_bounds": {"min": epoch_ms(floor), "max": epoch_ms(ceiling)},
    }
    extended: dict[str, int] = {}
    if oldest is not None:
        extended["min"] = epoch_ms(oldest)
    if newest is not None:
        # The last millisecond inside the span (an exclusive end is not in it).
        inclusive = request.date_to is None or range_end(request.date_to)[1]
        extended["max"] = max(epoch_ms(newest) - (0 if inclusive else 1), extended.get("min", 0))
    if extended:
        agg["extended_bounds"] = extended
    return {"date_histogram": agg}


def in_window_clause(now: datetime | None = None) -> dict[str, Any]:
    """Publication dates inside the date window."""
    floor, ceiling = date_window(now)
    return {"range": {"published_at": {"gte": epoch_ms(floor), "lte": epoch_ms(ceiling)}}}


def undated_aggregation(now: datetime | None = None) -> dict[str, Any]:
    """Articles without a usable publication date: none, or one outside the
    window (which no bucket shows)."""
    return {"filter": {"bool": {"must_not": [in_window_clause(now)]}}}


def aggregations(request: SearchRequest, bounds: DateBounds | None) -> dict[str, Any]:
    """One filtered aggregation per facet, plus the histogram and the count
    of undated articles under every facet filter."""
    clauses = facet_clauses(request)
    aggs: dict[str, Any] = {}
    for name in FACET_NAMES:
        others = [clause for facet, clause in clauses.items() if facet != name]
        aggs[f"facet_{name}"] = facet_aggregation(request, name, others)
    aggs["dates"] = {
        "filter": all_of(list(clauses.values())),
        "aggs": {
            "histogram": date_histogram(request, bounds),
            "undated": undated_aggregation(),
        },
    }
    return aggs


# ----------------------------------------------------------------- bodies
def build_search_body(
    request: SearchRequest,
    *,
    bounds: DateBounds | None = None,
    search_after: Sequence[Any] | None = None,
    pit_id: str | None = None,
    pit_keep_alive: str = "2m",
    timeout: str | None = None,
) -> dict[str, Any]:
    """The whole search request body. Without ``search_after`` the page is
    taken with from/size (``request.page``); with it, the page continues
    after that sort position, inside the point in time when one is given (the
    body then names no index: the point in time does). ``timeout`` bounds the
    search on each shard (what was found by then is answered)."""
    filters: list[dict[str, Any]] = []
    if (dates := date_clause(request)) is not None:
        filters.append(dates)
    body: dict[str, Any] = {
        "query": {"bool": {"must": [text_query(request.q)], "filter": filters}},
        "sort": sort_clause(request.effective_sort),
        "size": request.size,
        "track_total_hits": True,
        "_source": list(HIT_SOURCE),
        "highlight": highlight(request.q),
    }
    if clauses := list(facet_clauses(request).values()):
        body["post_filter"] = all_of(clauses)
    if search_after is not None:
        body["search_after"] = list(search_after)
    else:
        body["from"] = (request.page - 1) * request.size
    if pit_id is not None:
        body["pit"] = {"id": pit_id, "keep_alive": pit_keep_alive}
    if request.with_facets:
        body["aggs"] = aggregations(request, bounds)
    if timeout is not None:
        body["timeout"] = timeout
    return body


def build_bounds_body(now: datetime | None = None) -> dict[str, Any]:
    """Oldest and newest publication date of the whole index, among those
    inside the date window."""
    return {
        "size": 0,
        "track_total_hits": False,
        "query": in_window_clause(now),
        "aggs": {
            "oldest": {"min": {"field": "published_at"}},
            "newest": {"max": {"field": "published_at"}},
        },
    }


def build_similar_body(index: str, article_id: str, size: int) -> dict[str, Any]:
    """more_like_this on title and body, seeded by the stored article.
    ``min_doc_freq`` is 2, its floor in practice: a word found in this article
    only cannot link it to another one (the default 5 would blind the query
    on a small corpus)."""
    return {
        "size": size,
        "_source": ["title", "source", "published_at"],
        "query": {
            "more_like_this": {
                "fields": ["title", "body"],
                "like": [{"_index": index, "_id": article_id}],
                "min_term_freq": 1,
                "min_doc_freq": 2,
                "max_query_terms": 40,
                "minimum_should_match": "30%",
            }
        },
    }
