"""The search service's plumbing: requests to Elasticsearch, through the cache.

The HTTP layer (``app.py``) validates and renders; the pure modules build
bodies and shape answers; this class is the part that waits on servers. Its
methods return serialised JSON plus a cache status, so a cache hit is sent as
stored without being parsed and re-validated.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, AsyncElasticsearch, BadRequestError, NotFoundError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.search import cursor as cursors
from services.search.cache import CacheStatus, ResponseCache
from services.search.models import ArticleOut, ReadyOut, SearchRequest, SearchResponse
from services.search.pits import PitRegistry
from services.search.query import (
    DateBounds,
    build_bounds_body,
    build_search_body,
    build_similar_body,
    choose_interval,
    histogram_span,
)
from services.search.results import (
    article_from,
    bounds_from,
    search_response,
    similar_from,
    suggestions_from,
)
from services.search.suggest import build_suggest_body, normalise_prefix

log = logging.getLogger(__name__)

# A point in time lives this long after each page: long enough for a person
# reading a page, or a client fetching the next one, short enough that
# abandoned walks free their resources soon.
PIT_KEEP_ALIVE = "2m"
PIT_KEEP_ALIVE_S = 120.0
# The corpus' date bounds only pick the histogram's interval; a minute-old
# value is good enough and saves a request per search.
BOUNDS_TTL_S = 60.0

Result = tuple[bytes, CacheStatus]


class ArticleNotFound(LookupError):
    """No article with that id in the index."""


class SearchService:
    """Answers the API's questions from Elasticsearch (``alias``), with
    responses cached in Redis when a cache is configured."""

    def __init__(
        self,
        es: AsyncElasticsearch,
        cache: ResponseCache,
        *,
        alias: str,
        redis: Redis | None = None,
        pits: PitRegistry | None = None,
        search_timeout_s: float | None = None,
    ) -> None:
        self.es = es
        self.cache = cache
        self.alias = alias
        self._redis = redis
        self.pits = pits or PitRegistry(
            None, cap=100, keep_alive_s=PIT_KEEP_ALIVE_S, namespace=alias
        )
        self._timeout = f"{int(search_timeout_s * 1000)}ms" if search_timeout_s else None
        self._bounds: DateBounds | None = None
        self._bounds_at = float("-inf")

    # ------------------------------------------------------------- caching
    async def _cached(
        self, kind: str, identity: dict[str, Any], produce: Callable[[], Awaitable[bytes]]
    ) -> Result:
        if not self.cache.usable:
            return await produce(), CacheStatus.BYPASS
        key = self.cache.key(kind, identity)
        if (stored := await self.cache.get(key)) is not None:
            return stored, CacheStatus.HIT
        started = time.monotonic()
        value = await produce()
        await self.cache.put(key, value, started=started)
        return value, CacheStatus.MISS

    # ------------------------------------------------------------- search
    async def search(self, request: SearchRequest) -> Result:
        if request.cursor is not None:
            # A cursor page is asked for once; caching it would only fill Redis.
            return await self._search(request), CacheStatus.BYPASS
        return await self._cached("search", request.cache_identity(), lambda: self._search(request))

    async def _search(self, request: SearchRequest) -> bytes:
        position = cursors.decode(request.cursor, request) if request.cursor else None
        bounds = await self._date_bounds() if request.with_facets else None
        if position is None:
            raw = await self._query(
                build_search_body(request, bounds=bounds, timeout=self._timeout)
            )
            seen = (request.page - 1) * request.size
        else:
            raw = await self._continue(request, position, bounds)
            seen = position.seen
        response = self._render(request, raw, seen, bounds)
        if response.next_cursor is None and isinstance(raw.get("pit_id"), str):
            await self._close_pit(raw["pit_id"])  # the walk is over
        if response.timed_out:
            log.warning("search timed out; answering what was found", extra={"q": request.q})
        return response.model_dump_json().encode()

    async def _query(self, body: dict[str, Any]) -> dict[str, Any]:
        if "pit" in body:
            response = await self.es.search(body=body)
        else:
            # A missing alias (nothing indexed yet) reads as an empty corpus.
            response = await self.es.search(
                index=self.alias, body=body, ignore_unavailable=True, allow_no_indices=True
            )
        return dict(response.body)

    async def _continue(
        self, request: SearchRequest, position: cursors.Cursor, bounds: DateBounds | None
    ) -> dict[str, Any]:
        """The page after `position`, inside its point in time: the cursor's
        own (one per walk, kept alive page after page), or one opened now if
        this is the walk's first cursor and the cap allows. An expired point
        in time, or none, falls back to the live index at the same sort
        position."""
        pit = position.pit or await self._open_pit()
        if pit is not None:
            try:
                raw = await self._query(
                    build_search_body(
                        request,
                        bounds=bounds,
                        search_after=position.after,
                        pit_id=pit,
                        pit_keep_alive=PIT_KEEP_ALIVE,
                        timeout=self._timeout,
                    )
                )
            except NotFoundError:
                log.info("point in time expired; continuing on the live index")
                await self.pits.release(pit)
            except BadRequestError as exc:
                raise cursors.InvalidCursor("the cursor does not fit this search") from exc
            else:
                await self.pits.touch(pit)
                return raw
        try:
            return await self._query(
                build_search_body(
                    request, bounds=bounds, search_after=position.after, timeout=self._timeout
                )
            )
        except BadRequestError as exc:
            raise cursors.InvalidCursor("the cursor does not fit this search") from exc

    async def _open_pit(self) -> str | None:
        """A new point in time, or None at the cap (or with no index yet)."""
        token = await self.pits.reserve()
        if token is None:
            log.info("open points in time at the cap; cursor page from the live index")
            return None
        try:
            response = await self.es.open_point_in_time(index=self.alias, keep_alive=PIT_KEEP_ALIVE)
        except NotFoundError:
            await self.pits.cancel(token)
            return None
        except BaseException:
            await self.pits.cancel(token)
            raise
        pit = str(response["id"])
        await self.pits.confirm(token, pit)
        return pit

    async def _close_pit(self, pit: str) -> None:
        """Free a point in time now rather than at the end of its keep-alive."""
        await self.pits.release(pit)
        try:
            await self.es.close_point_in_time(id=pit)
        except (ApiError, TransportError) as exc:  # it expires anyway
            log.info("could not close a point in time", extra={"error": repr(exc)})

    def _render(
        self,
        request: SearchRequest,
        raw: dict[str, Any],
        seen: int,
        bounds: DateBounds | None,
    ) -> SearchResponse:
        return search_response(
            request,
            raw,
            next_cursor=self._next_cursor(request, raw, seen),
            interval=choose_interval(*histogram_span(request, bounds)),
        )

    @staticmethod
    def _next_cursor(request: SearchRequest, raw: dict[str, Any], seen: int) -> str | None:
        """Cursor after the last hit of this page, if more hits follow; it
        carries the point in time the page was read from, if any."""
        hits = raw["hits"]["hits"]
        seen_now = seen + len(hits)
        if not hits or seen_now >= raw["hits"]["total"]["value"]:
            return None
        return cursors.encode(
            cursors.Cursor(
                identity=cursors.identity_of(request),
                after=hits[-1]["sort"],
                seen=seen_now,
                pit=raw.get("pit_id"),
            )
        )

    async def _date_bounds(self) -> DateBounds | None:
        """Oldest and newest publication date, refreshed once a minute."""
        if time.monotonic() - self._bounds_at < BOUNDS_TTL_S:
            return self._bounds
        response = await self._query(build_bounds_body())
        self._bounds = bounds_from(response)
        self._bounds_at = time.monotonic()
        return self._bounds

    # ------------------------------------------------------------- articles
    async def article(self, article_id: str) -> ArticleOut:
        try:
            raw = await self.es.get(
                index=self.alias, id=article_id, source_excludes=["entity_keys"]
            )
        except NotFoundError as exc:
            raise ArticleNotFound(article_id) from exc
        return article_from(dict(raw.body))

    async def similar(self, article_id: str, size: int) -> Result:
        return await self._cached(
            "similar",
            {"id": article_id, "size": size},
            lambda: self._similar(article_id, size),
        )

    async def _similar(self, article_id: str, size: int) -> bytes:
        try:
            seed = await self.es.get(index=self.alias, id=article_id, source=False)
        except NotFoundError as exc:
            raise ArticleNotFound(article_id) from exc
        body = build_similar_body(str(seed["_index"]), article_id, size)
        response = await self._query(body)
        return similar_from(article_id, response).model_dump_json().encode()

    # ------------------------------------------------------------- entities
    async def suggest(self, q: str, size: int) -> Result:
        prefix = normalise_prefix(q)
        return await self._cached(
            "suggest", {"q": prefix, "size": size}, lambda: self._suggest(prefix, size)
        )

    async def _suggest(self, prefix: str, size: int) -> bytes:
        response = await self._query(build_suggest_body(prefix, size))
        return suggestions_from(prefix, response).model_dump_json().encode()

    # ------------------------------------------------------------- health
    async def readiness(self) -> ReadyOut:
        """Elasticsearch answers (cluster not red) and Redis answers a PING."""
        checks = {"elasticsearch": await self._check_es(), "redis": await self._check_redis()}
        ready = all(value == "ok" for value in checks.values())
        return ReadyOut(status="ready" if ready else "unavailable", checks=checks)

    async def _check_es(self) -> str:
        # Not ping(): it is a GET /, which the integ-test distribution
        # of Elasticsearch does not serve.
        try:
            health = await self.es.cluster.health(timeout="2s")
        except Exception as exc:  # any failure means "not ready", said in the body
            return f"unreachable: {type(exc).__name__}"
        status = str(health.get("status"))
        return "ok" if status in ("green", "yellow") else f"cluster {status}"

    async def _check_redis(self) -> str:
        if self._redis is None:
            return "not configured"
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            return f"unreachable: {type(exc).__name__}"
        return "ok"
