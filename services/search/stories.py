"""Stories in search: the story page (``GET /v1/stories/{id}``) and the
same-story part of "similar articles".

A story is the set of indexed articles sharing a ``story_id`` (set by the
stories stage; an article it never saw is a story of its own). Everything a
story page shows comes from one Elasticsearch request: its articles in time
order (the timeline) and aggregations over all of them (sources, entities,
first and last date). Bodies and answers are pure functions, like
``query`` and ``results``; the router only runs them.

The story's title is that of its most central article, chosen among the
timeline's articles by, in order:

1. the size of its copy group inside the story (the text republished most:
   wire copies point at their first copy with ``duplicate_of``), so a wire
   story carried by many outlets names the story;
2. being the first copy itself rather than a republication;
3. how many of the story's entities it mentions, weighted by how many of
   the story's articles mention them (the article closest to what the
   others report);
4. being earliest (the article that opened the story).
"""

# No `from __future__ import annotations`: FastAPI reads the route's
# annotations at run time.
import logging
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from elastic_transport import TransportError
from elasticsearch import ApiError
from fastapi import Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from fastapi.routing import APIRouter
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.search import stored
from services.search.models import (
    ErrorOut,
    SearchRequest,
    SimilarArticle,
    SimilarResponse,
    StoryArticle,
)
from services.search.query import build_page_stories_body, build_similar_body
from services.search.results import page_stories_from, similar_from, story_article
from services.search.syntax import ParsedQuery
from shared.contracts.index import ENTITY_FACETS

if TYPE_CHECKING:  # the service imports this module (similar articles)
    from services.search.service import SearchService

log = logging.getLogger(__name__)

# The timeline lists this many articles at most (a story past it says so);
# sources and entities are aggregated over every article of the story.
TIMELINE_MAX = 500
SOURCES_MAX = 50
ENTITIES_PER_GROUP = 8
STORY_SOURCE = (
    "article_id",
    "title",
    "source",
    "url",
    "published_at",
    "sort_date",
    "duplicate_of",
    "copies",
    *ENTITY_FACETS,
)

StoryIdParam = Annotated[
    str, PathParam(pattern=r"^[0-9a-f]{32}$", description="Story id (32 hex characters).")
]


# ----------------------------------------------------------------- shapes
class StorySource(BaseModel):
    source: str
    count: int = Field(description="Articles of the story from this source.")


class StoryEntity(BaseModel):
    name: str
    count: int = Field(description="Articles of the story that mention it.")


class TimelineItem(StoryArticle):
    date: datetime | None = Field(
        default=None, description="Publication date, else when Newsflow received it."
    )
    copies: int = Field(default=1, description="Size of its copy group when it arrived.")


class StoryOut(BaseModel):
    id: str
    title: str | None = Field(description="The title of its most central article.")
    central_article_id: str
    articles: int = Field(description="Articles of the story.")
    source_count: int = Field(description="Distinct sources of those articles.")
    sources: list[StorySource] = Field(description="Sources, most articles first.")
    entities: dict[str, list[StoryEntity]] = Field(
        description="Top entities per group (people, organisations, places, groups, events), "
        "by the number of the story's articles mentioning them."
    )
    first_seen: datetime | None = Field(
        description="Earliest article date (publication, else reception)."
    )
    last_seen: datetime | None = Field(description="Latest article date.")
    timeline: list[TimelineItem] = Field(description="Its articles, oldest first.")
    timeline_truncated: bool = Field(
        default=False, description=f"More than {TIMELINE_MAX} articles: the first are listed."
    )


# ----------------------------------------------------------------- bodies
def _terms(field: str, size: int) -> dict[str, Any]:
    return {"terms": {"field": field, "size": size, "order": [{"_count": "desc"}, {"_key": "asc"}]}}


def build_story_body(story_id: str) -> dict[str, Any]:
    """The story's articles in time order and its aggregations, one request."""
    aggs: dict[str, Any] = {
        "sources": _terms("source", SOURCES_MAX),
        "source_count": {"cardinality": {"field": "source"}},
        "first": {"min": {"field": "sort_date"}},
        "last": {"max": {"field": "sort_date"}},
    }
    for group, field in ENTITY_FACETS.items():
        aggs[f"entities_{group}"] = _terms(field, ENTITIES_PER_GROUP)
    return {
        "query": {"term": {"story_id": story_id}},
        "size": TIMELINE_MAX,
        "sort": [{"sort_date": {"order": "asc"}}, {"article_id": {"order": "asc"}}],
        "_source": list(STORY_SOURCE),
        "track_total_hits": True,
        "aggs": aggs,
    }


# ----------------------------------------------------------------- answers
def _buckets(aggs: dict[str, Any], name: str) -> list[dict[str, Any]]:
    buckets = (aggs.get(name) or {}).get("buckets")
    return [b for b in buckets if isinstance(b, dict)] if isinstance(buckets, list) else []


def _centrality(
    hits: list[dict[str, Any]], weights: dict[str, int]
) -> list[tuple[int, int, int, int]]:
    """Sort keys of the rule in the module docstring (higher is more central)."""
    groups = Counter(_copy_key(h) for h in hits)
    keys = []
    for position, hit in enumerate(hits):
        source = hit.get("_source") or {}
        mentioned = {n for g in ENTITY_FACETS.values() for n in stored.texts(source.get(g))}
        original = int(not source.get("duplicate_of"))
        overlap = sum(weights.get(name, 0) for name in mentioned)
        keys.append((groups[_copy_key(hit)], original, overlap, -position))
    return keys


def _copy_key(hit: dict[str, Any]) -> str:
    source = hit.get("_source") or {}
    return stored.text(source.get("duplicate_of"), 64) or str(hit["_id"])


def story_from(story_id: str, raw: dict[str, Any]) -> StoryOut | None:
    """The story page from ``build_story_body``'s answer; None when no
    article has this story id."""
    hits = [h for h in raw["hits"]["hits"] if isinstance(h, dict)]
    total = int(raw["hits"]["total"]["value"])
    if not hits or total == 0:
        return None
    aggs = raw.get("aggregations") or {}
    entities = {
        group: [
            StoryEntity(name=str(b["key"]), count=int(b["doc_count"]))
            for b in _buckets(aggs, f"entities_{group}")
        ]
        for group in ENTITY_FACETS
    }
    weights = {e.name: e.count for found in entities.values() for e in found}
    keys = _centrality(hits, weights)
    central = hits[max(range(len(hits)), key=keys.__getitem__)]
    timeline = []
    for hit in hits:
        source = hit.get("_source") or {}
        line = story_article(hit)
        timeline.append(
            TimelineItem(
                **line.model_dump(),
                date=line.published_at or stored.instant(source.get("sort_date")),
                copies=max(1, stored.integer(source.get("copies")) or 1),
            )
        )
    return StoryOut(
        id=story_id,
        title=stored.text((central.get("_source") or {}).get("title"), stored.MAX_TITLE_CHARS),
        central_article_id=str(central["_id"]),
        articles=total,
        source_count=stored.integer((aggs.get("source_count") or {}).get("value")) or 0,
        sources=[
            StorySource(source=str(b["key"]), count=int(b["doc_count"]))
            for b in _buckets(aggs, "sources")
        ],
        entities={group: found for group, found in entities.items() if found},
        first_seen=stored.instant((aggs.get("first") or {}).get("value")),
        last_seen=stored.instant((aggs.get("last") or {}).get("value")),
        timeline=timeline,
        timeline_truncated=total > len(hits),
    )


# ----------------------------------------------------------------- grouped pages
async def page_stories(
    service: "SearchService",
    request: SearchRequest,
    raw: dict[str, Any],
    text: ParsedQuery | None,
) -> dict[str, dict[str, Any]] | None:
    """The stories of a grouped page, in one request for the whole page
    (``query.build_page_stories_body``); None when not grouped. Should that
    request fail, the page is still an answer, without story counts."""
    if request.group != "story":
        return None
    ids = []
    for hit in raw["hits"]["hits"]:
        keys = (hit.get("fields") or {}).get("story_id") or []
        if keys and isinstance(keys[0], str):
            ids.append(keys[0])
    if not ids:
        return None
    body = build_page_stories_body(request, ids, text=text, timeout=service.timeout)
    try:
        return page_stories_from(await service.run(body))
    except (ApiError, TransportError) as exc:
        log.warning("story counts of a page failed", extra={"error": repr(exc)})
        return None


def ungrouped_fallback(body: dict[str, Any], error: ApiError) -> dict[str, Any] | None:
    """The body without grouping, when Elasticsearch refused a grouped
    search (a document written around the indexer with several story ids
    makes every collapse over it fail: "the grouping field must be single
    valued"): the page is then answered ungrouped rather than with an error.
    Any refusal of a grouped body is tried so once; a body that fails for
    another reason fails again. None for an ungrouped body."""
    if "collapse" not in body:
        return None
    log.info("grouped search refused", extra={"error": str(error.body)[:300]})
    ungrouped = {key: value for key, value in body.items() if key != "collapse"}
    aggs = {key: value for key, value in (body.get("aggs") or {}).items() if key != "stories"}
    ungrouped.pop("aggs", None)
    if aggs:
        ungrouped["aggs"] = aggs
    return ungrouped


# ----------------------------------------------------------------- similar articles
def build_same_story_body(index: str, article_id: str, story_id: str, size: int) -> dict[str, Any]:
    """The other articles of the seed's story, scored by the very
    more_like_this query of ``query.build_similar_body`` (optional here: an
    article of the story that shares few words still comes, scored 0), so
    their scores are shares of the seed's own score like the others'."""
    similar = build_similar_body(index, article_id, size)
    return {
        "size": size,
        "_source": similar["_source"],
        "query": {
            "bool": {
                "filter": [{"term": {"story_id": story_id}}],
                "must_not": [{"ids": {"values": [article_id]}}],
                "should": [similar["query"]],
            }
        },
        "sort": [
            {"_score": {"order": "desc"}},
            {"sort_date": {"order": "asc"}},
            {"article_id": {"order": "asc"}},
        ],
    }


def similar_with_story(
    article_id: str, same: dict[str, Any] | None, similar: dict[str, Any], size: int
) -> SimilarResponse:
    """Articles of the same story first (most similar first), then the
    more_like_this ones above the threshold (``results.similar_from``)."""
    hits = similar["hits"]["hits"]
    own = next((h.get("_score") or 0.0 for h in hits if h["_id"] == article_id), 0.0)
    items: list[SimilarArticle] = []
    for hit in (same or {}).get("hits", {}).get("hits", []):
        source = hit.get("_source") or {}
        share = (hit.get("_score") or 0.0) / own if own > 0 else 0.0
        items.append(
            SimilarArticle(
                id=str(hit["_id"]),
                title=stored.text(source.get("title"), stored.MAX_TITLE_CHARS),
                source=stored.text(source.get("source")) or "",
                published_at=stored.instant(source.get("published_at")),
                score=round(min(share, 1.0), 4),
                same_story=True,
            )
        )
    listed = {item.id for item in items}
    others = similar_from(article_id, similar, size).items
    items += [item for item in others if item.id not in listed]
    return SimilarResponse(id=article_id, items=items[:size])


async def similar_articles(
    service: "SearchService", seed: dict[str, Any], article_id: str, size: int
) -> SimilarResponse:
    """ "Similar articles" of the seed (its stored document, ``story_id``
    read): with a story, the same-story search and more_like_this in one
    msearch (one round trip); without, more_like_this alone."""
    index = str(seed["_index"])
    body = build_similar_body(index, article_id, size)
    story = (seed.get("_source") or {}).get("story_id")
    if not isinstance(story, str) or not story:
        return similar_from(article_id, await service.run(body), size)
    same_story = build_same_story_body(index, article_id, story, size)
    found = await service.es.msearch(
        searches=[{"index": index}, same_story, {"index": index}, body]
    )
    same, similar = (dict(r) for r in found["responses"])
    if "error" in similar:
        raise ApiError(str(similar["error"]), found.meta, similar)
    if "error" in same:  # the similar articles alone are still an answer
        log.warning("same-story articles failed", extra={"error": same["error"]})
    return similar_with_story(article_id, None if "error" in same else same, similar, size)


# ----------------------------------------------------------------- route
async def _service(request: Request) -> Any:
    service: SearchService = request.app.state.service
    return service


def stories_router(**options: Any) -> APIRouter:
    """``/v1/stories/{id}``; ``options`` go to the router (dependencies,
    responses), as the app mounts its other routes."""
    router = APIRouter(prefix="/v1", **options)

    @router.get(
        "/stories/{story_id}",
        response_model=StoryOut,
        summary="A story",
        responses={404: {"model": ErrorOut, "description": "No article has this story id."}},
    )
    async def story(story_id: StoryIdParam, service: Annotated[Any, Depends(_service)]) -> Response:
        """The articles reporting one event, grouped by the stories stage:
        the title of its most central article, its sources and entities,
        first and last date, and the timeline of its articles (oldest first,
        with `duplicate_of` for wire copies)."""
        found = story_from(story_id, await service.run(build_story_body(story_id)))
        if found is None:
            raise StarletteHTTPException(404, f"no story with id {story_id}")
        return Response(found.model_dump_json().encode(), media_type="application/json")

    return router
