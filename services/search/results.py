"""From Elasticsearch answers to API responses: pure functions, like the
query builder, so the shapes the UI relies on are unit tested without
servers.

A search's answer is built as plain dicts (``search_answer``) and sent with
orjson: pydantic models for its ~200 parts (hits, entity chips, stories,
facet buckets), then ``model_dump_json``, were a fifth of the API's CPU per
search. The dicts have the models' fields, in their order, with values of
their types (``stored`` makes sure of that), so the bytes are those the
models wrote (``tests/search/test_query.py`` compares them); the models
(``search_response``, ``hit_from`` …) remain the documented shapes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, timedelta
from typing import Any

import orjson

from services.search import stored
from services.search.entityfacets import (
    ID_FIELDS,
    entity_bucket_fields,
    hit_entity_fields,
    parse_key,
)
from services.search.models import (
    FACET_NAMES,
    ArticleOut,
    EntityOut,
    FacetBucket,
    FacetName,
    Histogram,
    Interval,
    SearchHit,
    SearchRequest,
    SearchResponse,
    SimilarArticle,
    SimilarResponse,
    Spelling,
    StoryArticle,
    Suggestion,
    SuggestResponse,
)
from services.search.query import STORY_OTHERS, DateBounds
from services.search.textquery import HIGHLIGHT_BODIES, HIGHLIGHT_TITLES

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


def _score(value: Any) -> float | None:
    """A hit's score as SearchHit.score holds it (a float, or null)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def hit_fields(raw: dict[str, Any], names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A hit as ``SearchHit``'s fields (in their order)."""
    # Every stored value goes through `stored`: the mapping accepts shapes the
    # indexer never writes, and none of them may fail a search.
    source = raw.get("_source") or {}
    marks = raw.get("highlight") or {}
    return {
        "id": str(raw["_id"]),
        "title": stored.text(source.get("title"), stored.MAX_TITLE_CHARS),
        "title_html": _title_html(_marked(marks, HIGHLIGHT_TITLES)),
        "snippets": _marked(marks, HIGHLIGHT_BODIES),
        "source": stored.text(source.get("source")) or "",
        "language": stored.text(source.get("language")),
        "published_at": stored.instant(source.get("published_at")),
        "url": stored.text(source.get("url"), 4_000),
        "authors": stored.texts(source.get("authors")),
        "word_count": stored.integer(source.get("word_count")),
        "score": _score(raw.get("_score")),
        "people": stored.texts(source.get("people"), CHIPS_PER_GROUP),
        "organisations": stored.texts(source.get("organisations"), CHIPS_PER_GROUP),
        "places": stored.texts(source.get("places"), CHIPS_PER_GROUP),
        "entities": hit_entity_fields(source, names or {}),
        "story_id": stored.text(source.get("story_id"), 64),
        "duplicate_of": stored.text(source.get("duplicate_of"), 64),
        "story": None,
    }


def hit_from(raw: dict[str, Any], names: Mapping[str, str] | None = None) -> SearchHit:
    return SearchHit.model_validate(hit_fields(raw, names))


# ----------------------------------------------------------------- stories
def story_article_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """An inner hit (or a story page's hit) as ``StoryArticle``'s fields."""
    source = raw.get("_source") or {}
    return {
        "id": str(raw["_id"]),
        "title": stored.text(source.get("title"), stored.MAX_TITLE_CHARS),
        "source": stored.text(source.get("source")) or "",
        "url": stored.text(source.get("url"), 4_000),
        "published_at": stored.instant(source.get("published_at")),
        "duplicate_of": stored.text(source.get("duplicate_of"), 64),
    }


def story_article(raw: dict[str, Any]) -> StoryArticle:
    """An inner hit (or a story page's hit) as a line of its story."""
    return StoryArticle.model_validate(story_article_fields(raw))


def page_stories_from(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The stories of a grouped page by id (``query.build_page_stories_body``),
    as ``StoryGroup``'s fields; ``others`` still holds every top article, the
    hit's own included."""
    buckets = ((response.get("aggregations") or {}).get("stories") or {}).get("buckets") or []
    groups = {}
    for bucket in buckets:
        top = ((bucket.get("top") or {}).get("hits") or {}).get("hits") or []
        story_id = str(bucket["key"])
        groups[story_id] = {
            "id": story_id,
            "articles": max(1, int(bucket.get("doc_count") or 1)),
            "sources": max(1, stored.integer((bucket.get("sources") or {}).get("value")) or 1),
            "others": [story_article_fields(h) for h in top],
        }
    return groups


def with_story(hit: dict[str, Any], groups: Mapping[str, dict[str, Any]] | None) -> dict[str, Any]:
    """A grouped hit (``hit_fields``) with its story (the hit itself left out
    of ``others``)."""
    group = (groups or {}).get(hit["story_id"] or "")
    if group is not None:
        others = [o for o in group["others"] if o["id"] != hit["id"]][:STORY_OTHERS]
        hit["story"] = {**group, "others": others}
    return hit


def stories_total(raw: dict[str, Any]) -> int | None:
    """Stories among the hits (query.story_count), None when not grouped."""
    count = ((raw.get("aggregations") or {}).get("stories") or {}).get("n") or {}
    value = count.get("value")
    return int(value) if isinstance(value, int) else None


def _bucket(value: str, count: Any, selected: bool) -> dict[str, Any]:
    """``FacetBucket``'s fields for a value that is no entity."""
    return {"value": value, "id": None, "name": None, "count": int(count), "selected": selected}


def facet_fields(agg: dict[str, Any], selected: tuple[str, ...]) -> list[dict[str, Any]]:
    """Top values first, then any selected value the top list left out."""
    chosen = set(selected)
    buckets = [
        _bucket(str(b["key"]), b["doc_count"], str(b["key"]) in chosen)
        for b in agg["top"]["buckets"]
    ]
    listed = {b["value"] for b in buckets}
    extra = {str(b["key"]): b["doc_count"] for b in agg.get("selected", {}).get("buckets", [])}
    for value in selected:
        if value not in listed:
            buckets.append(_bucket(value, extra.get(value, 0), True))
    return buckets


def facet_from(agg: dict[str, Any], selected: tuple[str, ...]) -> list[FacetBucket]:
    return [FacetBucket.model_validate(b) for b in facet_fields(agg, selected)]


def facets_fields(
    aggs: dict[str, Any], request: SearchRequest, names: Mapping[str, str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every facet (``Facets``' fields); entity facets list ids with their
    names (``names``)."""
    return {
        name: (
            entity_bucket_fields(aggs[f"facet_{name}"], getattr(request, name), names or {})
            if name in ID_FIELDS
            else facet_fields(aggs[f"facet_{name}"], getattr(request, name))
        )
        for name in FACET_NAMES
    }


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
    return Histogram.model_validate(histogram_fields(agg, interval))


def histogram_fields(agg: dict[str, Any], interval: Interval) -> dict[str, Any]:
    """Buckets as the API shows them (``Histogram``'s fields); yearly buckets
    are summed into decades when the interval is one. A bucket whose dates
    Python cannot hold is left out (``hard_bounds`` keeps them from being
    asked for anyway)."""
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
        buckets.append({"start": start, "end": end, "count": count})
    return {"interval": interval, "buckets": buckets, "undated": int(agg["undated"]["doc_count"])}


def echo_of(request: SearchRequest) -> dict[str, Any]:
    """``SearchEcho``'s fields."""
    return {
        "q": request.q,
        "filters": {name: list(values) for name, values in request.filters().items()},
        "date_from": request.date_from,
        "date_to": request.date_to,
        "sort": request.effective_sort,
        "group": request.group,
    }


def search_response(
    request: SearchRequest,
    raw: dict[str, Any],
    *,
    next_cursor: str | None,
    interval: Interval,
    spelling: Spelling | None = None,
    names: Mapping[str, str] | None = None,
    stories: Mapping[str, dict[str, Any]] | None = None,
) -> SearchResponse:
    """``search_answer`` as the documented model."""
    return SearchResponse.model_validate(
        search_answer(
            request,
            raw,
            next_cursor=next_cursor,
            interval=interval,
            spelling=spelling,
            names=names,
            stories=stories,
        )
    )


def search_answer(
    request: SearchRequest,
    raw: dict[str, Any],
    *,
    next_cursor: str | None,
    interval: Interval,
    spelling: Spelling | None = None,
    names: Mapping[str, str] | None = None,
    stories: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The API's answer to a search, as ``SearchResponse``'s fields (send it
    with ``answer_json``); no facets or histogram when the request skipped
    them or no index exists yet. `names`: display names of the entity ids
    shown (``entityfacets.search_ids``); `stories`: a grouped page's
    (``page_stories_from``)."""
    answer = page_answer(request, raw, next_cursor=next_cursor, spelling=spelling, names=names)
    return with_followups(answer, raw, interval=interval, stories=stories)


def page_answer(
    request: SearchRequest,
    raw: dict[str, Any],
    *,
    next_cursor: str | None,
    spelling: Spelling | None = None,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``search_answer`` but for what follow-up requests may still change:
    the histogram (its second pass) and the hits' stories (a grouped page's
    story counts). The service shapes this while they are out, then adds
    them (``with_followups``)."""
    aggs = _facet_aggregations(raw)
    return {
        "total": int(raw["hits"]["total"]["value"]),
        "stories": stories_total(raw),
        "took_ms": int(raw.get("took", 0)),
        "page": None if request.cursor else request.page,
        "size": request.size,
        "next_cursor": next_cursor,
        "query": echo_of(request),
        "hits": [hit_fields(h, names) for h in raw["hits"]["hits"]],
        "facets": facets_fields(aggs, request, names) if aggs else None,
        "histogram": None,  # with_followups; its place kept for the JSON's field order
        "timed_out": bool(raw.get("timed_out")),
        "spelling": spelling.model_dump() if spelling is not None else None,
    }


def with_followups(
    answer: dict[str, Any],
    raw: dict[str, Any],
    *,
    interval: Interval,
    stories: Mapping[str, dict[str, Any]] | None,
) -> dict[str, Any]:
    """A ``page_answer`` completed: the histogram at `interval` (from `raw`,
    whose dates a second pass may have replaced) and each hit's story."""
    if (aggs := _facet_aggregations(raw)) is not None:
        answer["histogram"] = histogram_fields(aggs["dates"], interval)
    if stories:
        answer["hits"] = [with_story(hit, stories) for hit in answer["hits"]]
    return answer


def _facet_aggregations(raw: dict[str, Any]) -> dict[str, Any] | None:
    """Facet and histogram aggregations; None if not asked (a grouped search has its count)."""
    aggs = raw.get("aggregations")
    return aggs if aggs and "dates" in aggs else None


def answer_json(answer: dict[str, Any]) -> bytes:
    """JSON of a ``search_answer``, as ``SearchResponse.model_dump_json``
    writes it (UTC instants end in Z)."""
    return orjson.dumps(answer, option=orjson.OPT_UTC_Z)


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


def suggestion_keys(response: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    """(id, name, group, articles) per entity among the suggested keys, most
    mentioned first. Keys without an id are left out: the entity stage gives
    an id to every mention it resolved, so one without is not offered (an
    index older than ids, a fragment). One entity under several names (before
    a merge reached every article) is one suggestion, its counts summed."""
    found: dict[str, tuple[str, str, str, int]] = {}
    # No aggregations at all when no index exists yet.
    buckets = response.get("aggregations", {}).get("entities", {}).get("buckets", [])
    for bucket in buckets:
        parsed = parse_key(str(bucket["key"]))
        if parsed is None or parsed[2] is None:
            continue  # not a key the indexer wrote, or an entity without identity
        name, group, entity_id = parsed[0], parsed[1], parsed[2]
        count = int(bucket["doc_count"])
        if entity_id in found:
            first = found[entity_id]
            found[entity_id] = (entity_id, first[1], first[2], first[3] + count)
        else:
            found[entity_id] = (entity_id, name, group, count)
    return sorted(found.values(), key=lambda item: -item[3])


def suggestions_from(
    prefix: str, response: dict[str, Any], names: Mapping[str, str] | None = None, size: int = 10
) -> SuggestResponse:
    """Entities whose name has a word starting with `prefix`, by articles;
    `names`: the registry's display names (else the indexed one)."""
    items = [
        Suggestion(
            id=entity_id,
            name=(names or {}).get(entity_id, name),
            group=group,
            facet=_FACET_OF_GROUP.get(group),
            count=count,
        )
        for entity_id, name, group, count in suggestion_keys(response)
    ]
    return SuggestResponse(q=prefix, items=items[:size])
