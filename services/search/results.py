"""From Elasticsearch answers to API responses: pure functions, like the
query builder, so the shapes the UI relies on are unit tested without
servers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

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


def _datetime(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def hit_from(raw: dict[str, Any]) -> SearchHit:
    source = raw.get("_source", {})
    marks = raw.get("highlight", {})
    title_marks = marks.get("title") or []
    return SearchHit(
        id=raw["_id"],
        title=source.get("title"),
        # A title fragment without <mark> is the no-match fallback: drop it.
        title_html=title_marks[0] if title_marks and "<mark>" in title_marks[0] else None,
        snippets=marks.get("body") or [],
        source=source.get("source", ""),
        language=source.get("language"),
        published_at=_datetime(source.get("published_at")),
        url=source.get("url"),
        authors=source.get("authors") or [],
        word_count=source.get("word_count"),
        score=raw.get("_score"),
        people=(source.get("people") or [])[:CHIPS_PER_GROUP],
        organisations=(source.get("organisations") or [])[:CHIPS_PER_GROUP],
        places=(source.get("places") or [])[:CHIPS_PER_GROUP],
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
    months = {"month": 1, "quarter": 3, "year": 12}[interval]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def histogram_from(agg: dict[str, Any], interval: Interval) -> Histogram:
    buckets = []
    for raw in agg["histogram"]["buckets"]:
        start = date.fromisoformat(raw["key_as_string"])
        buckets.append(
            HistogramBucket(start=start, end=interval_end(start, interval), count=raw["doc_count"])
        )
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
    )


def bounds_from(response: dict[str, Any]) -> DateBounds | None:
    """The corpus' date bounds, None when no article has a date."""
    aggs = response.get("aggregations", {})
    oldest = aggs.get("oldest", {}).get("value_as_string")
    newest = aggs.get("newest", {}).get("value_as_string")
    if not oldest or not newest:
        return None
    return DateBounds(datetime.fromisoformat(oldest), datetime.fromisoformat(newest))


def article_from(raw: dict[str, Any]) -> ArticleOut:
    """The stored document as the article view shows it; entities most
    mentioned first."""
    source = raw["_source"]
    entities = sorted(
        (
            EntityOut(name=e["canonical"], label=e["label"], group=e["group"], count=e["count"])
            for e in source.get("entities") or []
        ),
        key=lambda e: (-e.count, e.name),
    )
    return ArticleOut(
        id=raw["_id"],
        title=source.get("title"),
        text=source.get("body") or "",
        source=source.get("source", ""),
        url=source.get("url"),
        site_name=source.get("site_name"),
        language=source.get("language"),
        authors=source.get("authors") or [],
        credit=source.get("credit") or [],
        published_at=_datetime(source.get("published_at")),
        received_at=_datetime(source.get("received_at")),
        word_count=source.get("word_count"),
        entities=entities,
    )


def similar_from(article_id: str, response: dict[str, Any]) -> SimilarResponse:
    items = [
        SimilarArticle(
            id=h["_id"],
            title=h["_source"].get("title"),
            source=h["_source"].get("source", ""),
            published_at=_datetime(h["_source"].get("published_at")),
            score=h["_score"],
        )
        for h in response["hits"]["hits"]
    ]
    return SimilarResponse(id=article_id, items=items)


def suggestions_from(prefix: str, response: dict[str, Any]) -> SuggestResponse:
    items = []
    # No aggregations at all when no index exists yet.
    buckets = response.get("aggregations", {}).get("entities", {}).get("buckets", [])
    for bucket in buckets:
        _lower, group, name = str(bucket["key"]).split(ENTITY_KEY_SEP, 2)
        items.append(
            Suggestion(
                name=name, group=group, facet=_FACET_OF_GROUP.get(group), count=bucket["doc_count"]
            )
        )
    return SuggestResponse(q=prefix, items=items)
