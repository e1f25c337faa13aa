"""Pure query building: a validated request in, an Elasticsearch body out.

Nothing here talks to a server, so every rule of the search (what is scored,
what filters, how facets stay multi-select, how pages continue) is unit
tested on plain dicts (tests/search/test_query.py), and the latency bench
sends the very same bodies straight to Elasticsearch. The words themselves
are read by ``syntax`` and scored by ``textquery``.

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

Entry points: ``build_search_body`` (a page of ``/v1/search``) and
``matching_query`` (the whole matching condition of a request as one query,
for anything that must decide "does this article match this search", such
as saved searches).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.search.entityfacets import ID_FIELDS, entity_aggregations, entity_clause
from services.search.histogram import (
    DateBounds,
    build_bounds_body,
    choose_interval,
    date_histogram,
    histogram_span,
    span_aggregation,
    undated_aggregation,
)
from services.search.models import (
    FACET_FIELDS,
    FACET_NAMES,
    FacetName,
    SearchRequest,
    SortOrder,
    range_end,
    range_start,
)
from services.search.stopwords import STOP_WORDS
from services.search.syntax import ParsedQuery, parse
from services.search.textquery import (
    FUZZY_MAX_EXPANSIONS,
    FUZZY_PREFIX_LENGTH,
    HIGHLIGHT_BODIES,
    HIGHLIGHT_TITLES,
    MATCH_FIELDS,
    field_highlight_query,
    parsed_query,
    text_query,
)

__all__ = [
    "FUZZY_MAX_EXPANSIONS",
    "FUZZY_PREFIX_LENGTH",
    "MATCH_FIELDS",
    "DateBounds",
    "build_bounds_body",
    "build_search_body",
    "choose_interval",
    "histogram_span",
    "matching_query",
    "text_query",
]

# Elasticsearch refuses from + size beyond index.max_result_window (10,000 by
# default); deeper pages go through the cursor (search_after), which has no limit.
MAX_RESULT_WINDOW = 10_000

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
    *ID_FIELDS.values(),
    "story_id",
    "duplicate_of",
)

SNIPPET_CHARS = 180
SNIPPETS_PER_HIT = 2
# Fields without offsets in the index (the titles) are re-analysed to be
# highlighted; past this many characters a stored value is not (Elasticsearch
# would refuse the whole search over 1,000,000 of them, its index limit).
HIGHLIGHT_MAX_ANALYZED_CHARS = 10_000


# ----------------------------------------------------------------- highlighting
def _body_highlight(no_match: bool) -> dict[str, Any]:
    field: dict[str, Any] = {
        "fragment_size": SNIPPET_CHARS,
        "number_of_fragments": SNIPPETS_PER_HIT,
    }
    if no_match:
        field["no_match_size"] = SNIPPET_CHARS
    return field


def highlight(parsed: ParsedQuery) -> dict[str, Any]:
    """Highlighting with the HTML encoder: the text around the matches is
    escaped by Elasticsearch, so the only markup in a fragment is our <mark>.

    The folded title and body are highlighted, and the article's stemmed
    ones (``body_en`` …: only the article's own language has one), so a
    stemmed match is marked too; the response keeps the stemmed fragments
    when they mark something (``results.hit_from``). ``no_match_size`` still
    gives a lead paragraph when nothing matched in the body (or there were
    no words at all). Every highlighted field has offsets in the index and
    its own highlight query (``textquery.field_highlight_query``): nothing
    is re-analysed, and a field's query names that field only.

    Cost: the highlight queries have no fuzzy or prefix operator
    (``textquery.highlight_terms``); an expanding word costs the highlighter
    an automaton per hit, and would also make it re-analyse bodies instead of
    reading offsets from the index. Re-analysis, if a stored document ever
    needs it, stops at HIGHLIGHT_MAX_ANALYZED_CHARS."""
    fields: dict[str, Any] = {name: {"number_of_fragments": 0} for name in HIGHLIGHT_TITLES}
    for name in HIGHLIGHT_BODIES:
        fields[name] = _body_highlight(no_match=name == "body")
    if not parsed.empty:
        for name, field in fields.items():
            field["highlight_query"] = field_highlight_query(parsed, name)
    return {
        "encoder": "html",
        "max_analyzed_offset": HIGHLIGHT_MAX_ANALYZED_CHARS,
        "pre_tags": ["<mark>"],
        "post_tags": ["</mark>"],
        "fields": fields,
    }


# ----------------------------------------------------------------- filters
def facet_clause(name: FacetName, values: Sequence[str]) -> dict[str, Any]:
    """Any of the values (OR within a facet); entity facets take ids (and
    names, from older links: ``entityfacets``)."""
    if name in ID_FIELDS:
        return entity_clause(name, values)
    return {"terms": {FACET_FIELDS[name]: list(values)}}


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


def words_of(request: SearchRequest, text: ParsedQuery | None = None) -> ParsedQuery:
    """The parsed words of a request (or the given replacement: a spelling
    correction)."""
    return text if text is not None else parse(request.q)


def scored_query(
    request: SearchRequest, text: ParsedQuery | None = None, *, prefix_last: bool = True
) -> dict[str, Any]:
    """Words (scored) and the date range (filter): the query of a page."""
    filters: list[dict[str, Any]] = []
    if (dates := date_clause(request)) is not None:
        filters.append(dates)
    words = parsed_query(words_of(request, text), prefix_last=prefix_last)
    return {"bool": {"must": [words], "filter": filters}}


def matching_query(
    request: SearchRequest, *, text: ParsedQuery | None = None, prefix_last: bool = True
) -> dict[str, Any]:
    """Everything that decides whether an article is among the request's
    hits (words, date range, facet filters) as one query. ``/v1/search``
    lists exactly the articles this matches; ``prefix_last=False`` leaves
    out the matching of the last word as a prefix (a saved search is not
    being typed)."""
    query = scored_query(request, text, prefix_last=prefix_last)
    query["bool"]["filter"] += list(facet_clauses(request).values())
    return query


# ----------------------------------------------------------------- sorting
def sort_clause(order: SortOrder) -> list[dict[str, Any]]:
    """Newest/oldest sort on the publication date, undated articles last
    (then by when we received them); every order ends on the unique article
    id so that search_after never skips or repeats a hit that ties."""
    if order == "oldest":
        return [
            {"published_at": {"order": "asc", "missing": "_last"}},
            {"sort_date": {"order": "asc"}},
            {"article_id": {"order": "asc"}},
        ]
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
    count, possibly 0) even when it is not among the top ones. Entity
    facets count ids (``entityfacets``)."""
    if name in ID_FIELDS:
        ids = entity_aggregations(name, request.facet_size, getattr(request, name))
        return {"filter": all_of(others), "aggs": ids}
    field = FACET_FIELDS[name]
    aggs: dict[str, Any] = {
        "top": {
            "terms": {
                "field": field,
                "size": request.facet_size,
                "order": [{"_count": "desc"}, {"_key": "asc"}],
            }
        }
    }
    selected = getattr(request, name)
    if selected:
        aggs["selected"] = {
            "terms": {
                "field": field,
                "include": list(selected),
                "size": len(selected),
                "min_doc_count": 0,
            }
        }
    return {"filter": all_of(others), "aggs": aggs}


def aggregations(request: SearchRequest, bounds: DateBounds | None) -> dict[str, Any]:
    """One filtered aggregation per facet, plus the histogram (its interval
    fitted to the span the results can have), the results' own date span and
    the count of undated articles, under every facet filter."""
    clauses = facet_clauses(request)
    aggs: dict[str, Any] = {}
    for name in FACET_NAMES:
        others = [clause for facet, clause in clauses.items() if facet != name]
        aggs[f"facet_{name}"] = facet_aggregation(request, name, others)
    aggs["dates"] = {
        "filter": all_of(list(clauses.values())),
        "aggs": {
            "histogram": date_histogram(choose_interval(*histogram_span(request, bounds))),
            "undated": undated_aggregation(),
            "span": span_aggregation(),
        },
    }
    return aggs


# ----------------------------------------------------------------- stories
# Grouped results (group=story) collapse on the story: each hit is the best
# article of its story under the request's sort. What a hit says of its
# story ("N articles from M sources", its next best articles) comes from a
# second request per page, never per hit (``build_page_stories_body``): one
# terms aggregation over the page's stories, restricted to what the search
# matches, with a cardinality of sources and the top hits of each. Inner
# hits would give the same in the main request, but Elasticsearch runs them
# as one search per hit and per inner hit definition (40 searches for a
# page of 20): bench/stories_search.py measured them slower than the second
# request. The number of stories (for pages) is a cardinality aggregation
# under the facet filters, exact below its precision threshold.
STORY_FIELD = "story_id"
STORY_OTHERS = 3
STORY_PRECISION = 40_000
STORY_ARTICLE_SOURCE = ("article_id", "title", "source", "url", "published_at", "duplicate_of")


def story_collapse() -> dict[str, Any]:
    return {"field": STORY_FIELD}


def build_page_stories_body(
    request: SearchRequest,
    stories: Sequence[str],
    *,
    text: ParsedQuery | None = None,
    timeout: str | None = None,
) -> dict[str, Any]:
    """Per story of a grouped page: its articles matching the search (N,
    the bucket's count), their distinct sources (M) and the best of them in
    the page's order (the hit itself among them)."""
    query = matching_query(request, text=text)
    query["bool"]["filter"].append({"terms": {STORY_FIELD: list(stories)}})
    body: dict[str, Any] = {
        "size": 0,
        "track_total_hits": False,
        "query": query,
        "aggs": {
            "stories": {
                "terms": {"field": STORY_FIELD, "size": max(1, len(stories))},
                "aggs": {
                    "sources": {"cardinality": {"field": "source", "precision_threshold": 3000}},
                    "top": {
                        "top_hits": {
                            "size": STORY_OTHERS + 1,
                            "sort": sort_clause(request.effective_sort),
                            "_source": list(STORY_ARTICLE_SOURCE),
                        }
                    },
                },
            }
        },
    }
    if timeout is not None:
        body["timeout"] = timeout
    return body


def story_count(request: SearchRequest) -> dict[str, Any]:
    """Stories among the hits (the post_filter's facet filters applied)."""
    return {
        "filter": all_of(list(facet_clauses(request).values())),
        "aggs": {
            "n": {"cardinality": {"field": STORY_FIELD, "precision_threshold": STORY_PRECISION}}
        },
    }


# ----------------------------------------------------------------- bodies
def build_search_body(
    request: SearchRequest,
    *,
    bounds: DateBounds | None = None,
    search_after: Sequence[Any] | None = None,
    pit_id: str | None = None,
    pit_keep_alive: str = "2m",
    timeout: str | None = None,
    text: ParsedQuery | None = None,
    offset: int | None = None,
) -> dict[str, Any]:
    """The whole search request body. Without ``search_after`` the page is
    taken with from/size (``request.page``, or ``offset``: a grouped cursor's
    position, since Elasticsearch cannot continue collapsed results after a
    sort position); with it, the page continues
    after that sort position, inside the point in time when one is given (the
    body then names no index: the point in time does). ``timeout`` bounds the
    search on each shard (what was found by then is answered). ``text``
    replaces the request's words (a spelling correction)."""
    words = words_of(request, text)
    body: dict[str, Any] = {
        "query": scored_query(request, words),
        "sort": sort_clause(request.effective_sort),
        "size": request.size,
        "track_total_hits": True,
        "_source": list(HIT_SOURCE),
        "highlight": highlight(words),
    }
    if clauses := list(facet_clauses(request).values()):
        body["post_filter"] = all_of(clauses)
    if search_after is not None:
        body["search_after"] = list(search_after)
    elif offset is not None:
        body["from"] = min(offset, MAX_RESULT_WINDOW)
        body["size"] = max(0, min(request.size, MAX_RESULT_WINDOW - offset))
    else:
        body["from"] = (request.page - 1) * request.size
    if pit_id is not None:
        body["pit"] = {"id": pit_id, "keep_alive": pit_keep_alive}
    if request.with_facets:
        body["aggs"] = aggregations(request, bounds)
    if request.group == "story":
        body["collapse"] = story_collapse()
        body.setdefault("aggs", {})["stories"] = story_count(request)
    if timeout is not None:
        body["timeout"] = timeout
    return body


def build_histogram_body(
    request: SearchRequest,
    span: DateBounds,
    *,
    text: ParsedQuery | None = None,
    timeout: str | None = None,
) -> dict[str, Any]:
    """The histogram alone, with the interval that fits the results' own
    span (asked when they lie closer together than the requested range)."""
    body: dict[str, Any] = {
        "size": 0,
        "track_total_hits": False,
        "query": scored_query(request, words_of(request, text)),
        "aggs": {
            "dates": {
                "filter": all_of(list(facet_clauses(request).values())),
                "aggs": {"histogram": date_histogram(choose_interval(*span), span)},
            }
        },
    }
    if timeout is not None:
        body["timeout"] = timeout
    return body


# more_like_this looks at the folded title and body: what an article is
# about, in words as written or nearly, whatever its language.
SIMILAR_FIELDS = ("title", "body")


def build_similar_body(index: str, article_id: str, size: int) -> dict[str, Any]:
    """more_like_this on title and body, seeded by the stored article, which
    is included in the hits: its own score is the yardstick of every other
    one's (``results.similar_from`` keeps those above a share of it).
    ``min_doc_freq`` is 2, its floor in practice: a word found in this
    article only cannot link it to another one (the default 5 would blind
    the query on a small corpus)."""
    return {
        "size": size + 1,
        "_source": ["title", "source", "published_at"],
        "query": {
            "more_like_this": {
                "fields": list(SIMILAR_FIELDS),
                "like": [{"_index": index, "_id": article_id}],
                "min_term_freq": 1,
                "min_doc_freq": 2,
                "max_query_terms": 40,
                "minimum_should_match": "30%",
                "stop_words": list(STOP_WORDS),
                "include": True,
            }
        },
    }
