"""From Elasticsearch answers to API responses: pure functions, like the
query builder, so the shapes the UI relies on are unit tested without
servers."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from services.search import stored
from services.search.models import (
    FACET_NAMES,
    ArticleOut,
    EntityOut,
    FacetBucket,
    FacetName,
    Facets,
    Histogram,
    HistogramBucket,
    Interval,
    SearchEcho,
    SearchHit,
    SearchRequest,
    SearchResponse,
    SimilarArticle,
    SimilarResponse,
    Spelling,
    Suggestion,
    SuggestResponse,
)
from services.search.query import DateBounds
from services.search.textquery import HIGHLIGHT_BODIES, HIGHLIGHT_TITLES
from shared.contracts.index import ENTITY_KEY_SEP

# Entity chips on a result line; the article view lists them all.
CHIPS_PER_GROUP = 6
# "Similar articles" lists only articles whose more_like_this score is at
# least this share of the seed article's own score (the best any article
# can have): unrelated articles share a few common words and score far
# below it. Tuned on the samples (tests/search/test_relevance.py): reports
# of one event or topic (the two WeWork investigations, the Europa plumes,
# the plague cases, the South Dakota meth campaign) score 0.4 to 0.75
# against each other; an article with no counterpart finds nothing above
# 0.3 (most under 0.25).
SIMILAR_MIN_SHARE = 0.3
# Entity groups that are also search facets (groups and events are not).
_FACET_OF_GROUP: dict[str, FacetName] = {
    "people": "people",
    "organisations": "organisations",
    "places": "places",
}


def _title_html(marks: list[str]) -> str | None:
    """The highlighted title; a fragment without <mark> is the no-match
    fallback, and one longer than a title may be is dropped (it is the whole
    stored value, and cutting HTML could cut a tag)."""
    if not marks or "<mark>" not in marks[0] or len(marks[0]) > 4 * stored.MAX_TITLE_CHARS:
        return None
    return marks[0]


def _marked(marks: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    """The fragments of the first field (stemmed ones first: they mark
    every form the search matched) that mark something, else the folded
    field's (the no-match fallback among them)."""
    for name in (*fields[1:], fields[0]):
        fragments = marks.get(name) or []
        if any("<mark>" in f for f in fragments):
            return list(fragments)
    return list(marks.get(fields[0]) or [])


def hit_from(raw: dict[str, Any]) -> SearchHit:
    # Every stored value goes through `stored`: the mapping accepts shapes the
    # indexer never writes, and none of them may fail a search.
    source = raw.get("_source") or {}
    marks = raw.get("highlight") or {}
    return SearchHit(
        id=raw["_id"],
        title=stored.text(source.get("title"), stored.MAX_TITLE_CHARS),
        title_html=_title_html(_marked(marks, HIGHLIGHT_TITLES)),
        snippets=_marked(marks, HIGHLIGHT_BODIES),
        source=stored.text(source.get("source")) or "",
        language=stored.text(source.get("language")),
        published_at=stored.instant(source.get("published_at")),
        url=stored.text(source.get("url"), 4_000),
        authors=stored.texts(source.get("authors")),
        word_count=stored.integer(source.get("word_count")),
        score=raw.get("_score"),
        people=stored.texts(source.get("people"), CHIPS_PER_GROUP),
        organisations=stored.texts(source.get("organisations"), CHIPS_PER_GROUP),
        places=stored.texts(source.get("places"), CHIPS_PER_GROUP),
    )


def facet_from(agg: dict[str, Any], selected: tuple[str, ...]) -> list[FacetBucket]:
    """Top values first, then any selected value the top list left out."""
    chosen = set(selected)
    buckets = [
        FacetBucket(value=str(b["key"]), count=b["doc_count"], selected=str(b["key"]) in chosen)
        for b in agg["top"]["buckets"]
    ]
    listed = {b.value for b in buckets}
    extra = {str(b["key"]): b["doc_count"] for b in agg.get("selected", {}).get("buckets", [])}
    for value in selected:
        if value not in listed:
            buckets.append(FacetBucket(value=value, count=extra.get(value, 0), selected=True))
    return buckets


def facets_from(aggs: dict[str, Any], request: SearchRequest) -> Facets:
    values: dict[FacetName, list[FacetBucket]] = {
        name: facet_from(aggs[f"facet_{name}"], getattr(request, name)) for name in FACET_NAMES
    }
    return Facets(**values)


def interval_end(start: date, interval: Interval) -> date:
    """Day after the last day of the calendar interval that starts on `start`."""
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12, "decade": 120}[interval]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _bucket_start(raw: dict[str, Any], interval: Interval) -> date | None:
    """The first day of a bucket, from its epoch key (its text form reads
    "+10000-01-01" past year 9999); decades start on years ending in 0."""
    moment = stored.instant(raw.get("key"))
    if moment is None:
        return None
    start = moment.astimezone(UTC).date()
    return start.replace(year=start.year - start.year % 10) if interval == "decade" else start


def results_span(aggs: dict[str, Any] | None) -> DateBounds | None:
    """Oldest and newest publication date among the results (inside the
    window), None when none has one."""
    span = ((aggs or {}).get("dates") or {}).get("span") or {}
    oldest = stored.instant((span.get("oldest") or {}).get("value"))
    newest = stored.instant((span.get("newest") or {}).get("value"))
    if oldest is None or newest is None:
        return None
    return DateBounds(oldest, newest)


def histogram_from(agg: dict[str, Any], interval: Interval) -> Histogram:
    """Buckets as the API shows them; yearly buckets are summed into decades
    when the interval is one. A bucket whose dates Python cannot hold is left
    out (``hard_bounds`` keeps them from being asked for anyway)."""
    counts: dict[date, int] = {}
    for raw in agg["histogram"]["buckets"]:
        start = _bucket_start(raw, interval)
        if start is not None:
            counts[start] = counts.get(start, 0) + int(raw["doc_count"])
    buckets = []
    for start, count in counts.items():
        try:
            end = interval_end(start, interval)
        except ValueError:  # the interval ends after 9999-12-31
            continue
        buckets.append(HistogramBucket(start=start, end=end, count=count))
    return Histogram(interval=interval, buckets=buckets, undated=agg["undated"]["doc_count"])


def echo_of(request: SearchRequest) -> SearchEcho:
    return SearchEcho(
        q=request.q,
        filters={name: list(values) for name, values in request.filters().items()},
        date_from=request.date_from,
        date_to=request.date_to,
        sort=request.effective_sort,
    )


def search_response(
    request: SearchRequest,
    raw: dict[str, Any],
    *,
    next_cursor: str | None,
    interval: Interval,
    spelling: Spelling | None = None,
) -> SearchResponse:
    """The API's answer to a search. Facets and histogram are absent when the
    request skipped them, or when no index exists yet."""
    aggs = raw.get("aggregations")
    return SearchResponse(
        total=int(raw["hits"]["total"]["value"]),
        took_ms=int(raw.get("took", 0)),
        page=None if request.cursor else request.page,
        size=request.size,
        next_cursor=next_cursor,
        query=echo_of(request),
        hits=[hit_from(h) for h in raw["hits"]["hits"]],
        facets=facets_from(aggs, request) if aggs else None,
        histogram=histogram_from(aggs["dates"], interval) if aggs else None,
        timed_out=bool(raw.get("timed_out")),
        spelling=spelling,
    )


def bounds_from(response: dict[str, Any]) -> DateBounds | None:
    """The corpus' date bounds, None when no article has a date. Read from
    the epoch values: the text form of a date past 9999 is not ISO 8601."""
    aggs = response.get("aggregations", {})
    oldest = stored.instant(aggs.get("oldest", {}).get("value"))
    newest = stored.instant(aggs.get("newest", {}).get("value"))
    if oldest is None or newest is None:
        return None
    return DateBounds(oldest, newest)


def _whole(marks: dict[str, Any], fields: tuple[str, ...]) -> str | None:
    """A field highlighted whole (one fragment), stemmed fields first."""
    found = _marked(marks, fields)
    return found[0] if found and "<mark>" in found[0] else None


def article_from(raw: dict[str, Any], marks: dict[str, Any] | None = None) -> ArticleOut:
    """The stored document as the article view shows it; entities most
    mentioned first. `marks`: the title and text highlighted whole, when the
    article is shown for a query."""
    source = raw.get("_source") or {}
    marks = marks or {}
    stored_entities = source.get("entities")
    found = (
        stored.entity(e) for e in (stored_entities if isinstance(stored_entities, list) else [])
    )
    entities = sorted(
        (EntityOut(**e) for e in found if e is not None), key=lambda e: (-e.count, e.name)
    )
    return ArticleOut(
        id=raw["_id"],
        title=stored.text(source.get("title"), stored.MAX_TITLE_CHARS),
        text=stored.text(source.get("body"), limit=2**62) or "",
        source=stored.text(source.get("source")) or "",
        url=stored.text(source.get("url"), 4_000),
        site_name=stored.text(source.get("site_name")),
        language=stored.text(source.get("language")),
        authors=stored.texts(source.get("authors")),
        credit=stored.texts(source.get("credit")),
        published_at=stored.instant(source.get("published_at")),
        received_at=stored.instant(source.get("received_at")),
        word_count=stored.integer(source.get("word_count")),
        entities=entities,
        title_html=_title_html([t] if (t := _whole(marks, HIGHLIGHT_TITLES)) else []),
        text_html=_whole(marks, HIGHLIGHT_BODIES),
    )


def similar_from(
    article_id: str, response: dict[str, Any], size: int, min_share: float = SIMILAR_MIN_SHARE
) -> SimilarResponse:
    """Other articles scoring at least `min_share` of the seed's own score
    (the seed is among the hits: see query.build_similar_body); their score
    is that share. Without the seed's score (it matched nothing of itself:
    too short to have a distinctive word), none."""
    hits = response["hits"]["hits"]
    own = next((h.get("_score") or 0.0 for h in hits if h["_id"] == article_id), 0.0)
    items = []
    for h in hits:
        share = (h.get("_score") or 0.0) / own if own > 0 else 0.0
        if h["_id"] == article_id or share < min_share:
            continue
        source = h.get("_source") or {}
        items.append(
            SimilarArticle(
                id=h["_id"],
                title=stored.text(source.get("title"), stored.MAX_TITLE_CHARS),
                source=stored.text(source.get("source")) or "",
                published_at=stored.instant(source.get("published_at")),
                score=round(share, 4),
            )
        )
    return SimilarResponse(id=article_id, items=items[:size])


def suggestions_from(prefix: str, response: dict[str, Any]) -> SuggestResponse:
    items = []
    # No aggregations at all when no index exists yet.
    buckets = response.get("aggregations", {}).get("entities", {}).get("buckets", [])
    for bucket in buckets:
        parts = str(bucket["key"]).split(ENTITY_KEY_SEP, 2)
        if len(parts) != 3 or not parts[2]:
            continue  # not a key the indexer wrote
        _lower, group, name = parts
        items.append(
            Suggestion(
                name=name, group=group, facet=_FACET_OF_GROUP.get(group), count=bucket["doc_count"]
            )
        )
    return SuggestResponse(q=prefix, items=items)
