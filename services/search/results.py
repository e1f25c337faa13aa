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
    Suggestion,
    SuggestResponse,
)
from services.search.query import DateBounds
from shared.contracts.index import ENTITY_KEY_SEP

# Entity chips on a result line; the article view lists them all.
CHIPS_PER_GROUP = 6
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


def hit_from(raw: dict[str, Any]) -> SearchHit:
    # Every stored value goes through `stored`: the mapping accepts shapes the
    # indexer never writes, and none of them may fail a search.
    source = raw.get("_source") or {}
    marks = raw.get("highlight") or {}
    return SearchHit(
        id=raw["_id"],
        title=stored.text(source.get("title"), stored.MAX_TITLE_CHARS),
        title_html=_title_html(marks.get("title") or []),
        snippets=marks.get("body") or [],
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
    request: SearchRequest, raw: dict[str, Any], *, next_cursor: str | None, interval: Interval
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


def article_from(raw: dict[str, Any]) -> ArticleOut:
    """The stored document as the article view shows it; entities most
    mentioned first."""
    source = raw.get("_source") or {}
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
    )


def similar_from(article_id: str, response: dict[str, Any]) -> SimilarResponse:
    items = [
        SimilarArticle(
            id=h["_id"],
            title=stored.text((h.get("_source") or {}).get("title"), stored.MAX_TITLE_CHARS),
            source=stored.text((h.get("_source") or {}).get("source")) or "",
            published_at=stored.instant((h.get("_source") or {}).get("published_at")),
            score=h.get("_score") or 0.0,
        )
        for h in response["hits"]["hits"]
    ]
    return SimilarResponse(id=article_id, items=items)


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
