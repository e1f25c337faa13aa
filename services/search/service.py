"""The search service's plumbing: requests to Elasticsearch, through the cache.

The HTTP layer (``app.py``) validates and renders; the pure modules build
bodies and shape answers; this class is the part that waits on servers. Its
methods return serialised JSON plus a cache status, so a cache hit is sent as
stored without being parsed and re-validated.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, AsyncElasticsearch, BadRequestError, NotFoundError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.search import cursor as cursors
from services.search.cache import CacheStatus, ResponseCache
from services.search.entityfacets import search_ids
from services.search.entitynames import Directory, EntityNames
from services.search.essearch import SearchClient, requests_sent
from services.search.facetsearch import build_facet_values_body, facet_values_from, value_ids
from services.search.histogram import finer
from services.search.models import (
    ArticleOut,
    FacetName,
    Interval,
    ReadyOut,
    SearchRequest,
    Spelling,
)
from services.search.pits import PitRegistry
from services.search.query import (
    DateBounds,
    build_bounds_body,
    build_histogram_body,
    build_search_body,
    choose_interval,
    highlight,
    histogram_span,
)
from services.search.results import (
    answer_json,
    article_from,
    bounds_from,
    page_answer,
    results_span,
    stories_total,
    suggestion_keys,
    suggestions_from,
    with_followups,
)
from services.search.spelling import (
    build_spelling_body,
    corrected,
    fuzzy_variant,
    render_query,
)
from services.search.stories import page_stories, similar_articles, ungrouped_fallback
from services.search.suggest import build_suggest_body, normalise_prefix
from services.search.syntax import ParsedQuery, parse

log = logging.getLogger(__name__)

# A point in time lives this long after each page: long enough for a person
# reading a page, or a client fetching the next one, short enough that
# abandoned walks free their resources soon.
PIT_KEEP_ALIVE = "2m"
PIT_KEEP_ALIVE_S = 120.0
# The corpus' date bounds only pick the histogram's interval; a minute-old
# value is good enough and saves a request per search.
BOUNDS_TTL_S = 60.0

# A search of an alias nothing was indexed under yet finds nothing (no 404).
EMPTY_IF_MISSING = {"ignore_unavailable": "true", "allow_no_indices": "true"}

Result = tuple[bytes, CacheStatus]
# A page of hits as Elasticsearch answered it, and how many hits came before.
Page = tuple[dict[str, Any], int]


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
        max_fuzzy: int = 5,
        directory: Directory | None = None,
        names_ttl_s: float = 0.0,
        searches: SearchClient,
    ) -> None:
        self.es = es
        # Its _search requests; every other request goes through `es`.
        self.searches = searches
        # Display names of entity ids: the registry, else the documents.
        self.names = EntityNames(directory, self._query, ttl_s=names_ttl_s)
        self.cache = cache
        self.alias = alias
        self._redis = redis
        self.pits = pits or PitRegistry(
            None, cap=100, keep_alive_s=PIT_KEEP_ALIVE_S, namespace=alias
        )
        self._timeout = f"{int(search_timeout_s * 1000)}ms" if search_timeout_s else None
        self._bounds: DateBounds | None = None
        self._bounds_at = float("-inf")
        # Fuzzy words the typo remedy may add (the API's cap on typed ones).
        self.max_fuzzy = max_fuzzy

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
            raw, seen = await self._first_page(request, bounds)
        else:
            raw, seen = await self._page(request, position, bounds)
        text: ParsedQuery | None = None
        spelling: Spelling | None = None
        if raw["hits"]["total"]["value"] == 0 and request.correct and request.q:
            if position is not None and isinstance(raw.get("pit_id"), str):
                position = replace(position, pit=raw["pit_id"])  # reuse it, open no other
            # A first page asked for the correction along with the hits.
            asked = raw if "suggest" in raw else None
            if (remedy := await self.respell(request, position, bounds, asked)) is not None:
                (raw, seen), text, spelling = remedy
        # Everything after the page depends on the page alone. The follow-up
        # requests (the histogram's second pass if it needs one, the story
        # counts of a grouped page) go out first, and the page is shaped
        # while Elasticsearch answers them: the names of the entity ids of
        # facets and hits (kept per process, else one registry round trip),
        # then the hits and facets, plain dicts sent with orjson (the
        # models' bytes at a fraction of the CPU: results module docstring).
        followups = asyncio.gather(
            self._fit_histogram(request, raw, bounds, text),
            page_stories(self, request, raw, text),  # group=story only
        )
        try:
            names = await self.names.names(search_ids(raw))
            await requests_sent()
            answer = page_answer(
                request,
                raw,
                next_cursor=self._next_cursor(request, raw, seen),
                spelling=spelling,
                names=names,
            )
        except BaseException:
            followups.cancel()
            if followups.done() and not followups.cancelled():
                followups.exception()  # one failed first: retrieved, not logged as lost
            raise
        interval, stories = await followups
        with_followups(answer, raw, interval=interval, stories=stories)
        if answer["next_cursor"] is None and isinstance(raw.get("pit_id"), str):
            await self.close_pit(raw["pit_id"])  # the walk is over
        if answer["timed_out"]:
            log.warning("search timed out; answering what was found", extra={"q": request.q})
        return answer_json(answer)

    async def _page(
        self,
        request: SearchRequest,
        position: cursors.Cursor | None,
        bounds: DateBounds | None,
        text: ParsedQuery | None = None,
    ) -> Page:
        if position is None:
            body = build_search_body(request, bounds=bounds, timeout=self._timeout, text=text)
            return await self._query(body), (request.page - 1) * request.size
        return await self._continue(request, position, bounds, text), position.seen

    async def _first_page(self, request: SearchRequest, bounds: DateBounds | None) -> Page:
        """The first page (no cursor). A search that may need a correction
        carries the spelling suggester along (``spelling.build_spelling_body``):
        it reads the whole index, not the hits, so its answer is the one a
        separate request would get, and a search that finds nothing then
        costs one round trip less. Its price on a search with hits is small
        (``suggest_mode: missing`` proposes nothing for words the index has)."""
        body = build_search_body(request, bounds=bounds, timeout=self._timeout)
        spelling = build_spelling_body(parse(request.q)) if request.correct else None
        seen = (request.page - 1) * request.size
        if spelling is None:
            return await self._query(body), seen
        try:
            return await self._query({**body, "suggest": spelling["suggest"]}), seen
        except BadRequestError as exc:  # e.g. an index from before the analysis fields
            log.info("no spelling suggestion", extra={"error": repr(exc)})
            return await self._query(body), seen

    async def respell(
        self,
        request: SearchRequest,
        position: cursors.Cursor | None,
        bounds: DateBounds | None,
        asked: dict[str, Any] | None = None,
    ) -> tuple[Page, ParsedQuery, Spelling] | None:
        """Nothing matched the words as typed: the page for a spelling
        correction, else for fuzzy words (``spelling``), with what was done;
        None when neither finds anything. Deterministic for a given index, so
        a cursor's next page makes the same choice. `asked`: a response that
        already holds the suggester's answer (``_first_page``)."""
        parsed = parse(request.q)
        if (body := build_spelling_body(parsed)) is not None:
            try:
                fixed = corrected(parsed, asked if asked is not None else await self._query(body))
            except ApiError as exc:  # e.g. an index from before the analysis fields
                log.info("no spelling suggestion", extra={"error": repr(exc)})
                fixed = None
            if fixed is not None:
                page = await self._page(request, position, bounds, fixed)
                if page[0]["hits"]["total"]["value"]:
                    return page, fixed, Spelling(suggestion=render_query(fixed), applied=True)
        if (fuzzy := fuzzy_variant(parsed, self.max_fuzzy)) is not None:
            page = await self._page(request, position, bounds, fuzzy)
            if page[0]["hits"]["total"]["value"]:
                return page, fuzzy, Spelling(fuzzy=True)
        return None

    async def _fit_histogram(
        self,
        request: SearchRequest,
        raw: dict[str, Any],
        bounds: DateBounds | None,
        text: ParsedQuery | None,
    ) -> Interval:
        """The histogram's interval; when the results lie much closer
        together than the range they could span, the histogram is asked
        again at the interval of their own span (``histogram``)."""
        interval = choose_interval(*histogram_span(request, bounds))
        aggs = raw.get("aggregations")
        span = results_span(aggs)
        if aggs is None or span is None or not finer(choose_interval(*span), interval):
            return interval
        body = build_histogram_body(request, span, text=text, timeout=self._timeout)
        try:
            refined = await self._query(body)
        except (ApiError, TransportError) as exc:  # the coarse chart is still an answer
            log.warning("finer histogram failed", extra={"error": repr(exc)})
            return interval
        if refined.get("aggregations"):
            aggs["dates"]["histogram"] = refined["aggregations"]["dates"]["histogram"]
            return choose_interval(*span)
        return interval

    @property
    def timeout(self) -> str | None:
        """Per-shard time budget of a search, as Elasticsearch reads it."""
        return self._timeout

    async def run(self, body: dict[str, Any]) -> dict[str, Any]:
        """A search body against the alias (or its point in time)."""
        return await self._query(body)

    async def _query(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self._send(body)
        except BadRequestError as exc:
            if (ungrouped := ungrouped_fallback(body, exc)) is None:
                raise
            log.warning("collapse by story failed; answering ungrouped", extra={"error": repr(exc)})
            return await self._send(ungrouped)

    async def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        # Searches go through their own lean client (essearch module docstring).
        if "pit" in body:
            return await self.searches.search(body)
        # A missing alias (nothing indexed yet) reads as an empty corpus.
        return await self.searches.search(body, self.alias, EMPTY_IF_MISSING)

    async def _continue(
        self,
        request: SearchRequest,
        position: cursors.Cursor,
        bounds: DateBounds | None,
        text: ParsedQuery | None = None,
    ) -> dict[str, Any]:
        """The page after `position`, inside its point in time: the cursor's
        own (one per walk, kept alive page after page), or one opened now if
        this is the walk's first cursor and the cap allows. An expired point
        in time, or none, falls back to the live index at the same sort
        position."""
        pit = position.pit or await self.open_pit()
        if pit is not None:
            try:
                raw = await self._query(
                    build_search_body(
                        request,
                        bounds=bounds,
                        **cursors.continuation(position),
                        pit_id=pit,
                        pit_keep_alive=PIT_KEEP_ALIVE,
                        timeout=self._timeout,
                        text=text,
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
                    request,
                    bounds=bounds,
                    **cursors.continuation(position),
                    timeout=self._timeout,
                    text=text,
                )
            )
        except BadRequestError as exc:
            raise cursors.InvalidCursor("the cursor does not fit this search") from exc

    async def open_pit(self) -> str | None:
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

    async def close_pit(self, pit: str) -> None:
        """Free a point in time now rather than at the end of its keep-alive."""
        await self.pits.release(pit)
        try:
            await self.es.close_point_in_time(id=pit)
        except (ApiError, TransportError) as exc:  # it expires anyway
            log.info("could not close a point in time", extra={"error": repr(exc)})

    @staticmethod
    def _next_cursor(request: SearchRequest, raw: dict[str, Any], seen: int) -> str | None:
        """Cursor after the last hit of this page, if more hits follow; it
        carries the point in time the page was read from, if any."""
        following = cursors.following(request, raw, seen, stories_total(raw))
        return cursors.encode(following) if following is not None else None

    async def _date_bounds(self) -> DateBounds | None:
        """Oldest and newest publication date, refreshed once a minute."""
        if time.monotonic() - self._bounds_at < BOUNDS_TTL_S:
            return self._bounds
        response = await self._query(build_bounds_body())
        self._bounds = bounds_from(response)
        self._bounds_at = time.monotonic()
        return self._bounds

    # ------------------------------------------------------------- articles
    async def article(self, article_id: str, q: str = "") -> ArticleOut:
        """The whole article; with `q`, its title and text highlighted whole."""
        excluded = ["entity_keys", "title_*", "body_*"]
        if not q:
            try:
                raw = await self.es.get(index=self.alias, id=article_id, source_excludes=excluded)
            except NotFoundError as exc:
                raise ArticleNotFound(article_id) from exc
            return article_from(dict(raw.body))
        marks = highlight(parse(q))
        for field in marks["fields"].values():
            field.update(number_of_fragments=0)
            field.pop("no_match_size", None)
        found = await self._query(
            {
                "query": {"ids": {"values": [article_id]}},
                "_source": {"excludes": excluded},
                "highlight": marks,
                "size": 1,
            }
        )
        hits = found["hits"]["hits"]
        if not hits:
            raise ArticleNotFound(article_id)
        return article_from(hits[0], hits[0].get("highlight"))

    async def similar(self, article_id: str, size: int) -> Result:
        return await self._cached(
            "similar",
            {"id": article_id, "size": size},
            lambda: self._similar(article_id, size),
        )

    async def _similar(self, article_id: str, size: int) -> bytes:
        try:
            seed = await self.es.get(index=self.alias, id=article_id, source_includes=["story_id"])
        except NotFoundError as exc:
            raise ArticleNotFound(article_id) from exc
        # Its story's articles first, then more_like_this (stories.py).
        answer = await similar_articles(self, dict(seed), article_id, size)
        return answer.model_dump_json().encode()

    # ------------------------------------------------------------- facets
    async def facet_values(
        self, request: SearchRequest, facet: FacetName, prefix: str, size: int
    ) -> Result:
        identity = {**request.result_set_identity(), "facet": facet, "q_": prefix, "n": size}
        return await self._cached(
            "facet", identity, lambda: self._facet_values(request, facet, prefix, size)
        )

    async def _facet_values(
        self, request: SearchRequest, facet: FacetName, prefix: str, size: int
    ) -> bytes:
        raw = await self._query(build_facet_values_body(request, facet, prefix, size))
        # Values found by a prefix carry their indexed name: only the registry renames.
        lookup = self.names.registry_names if prefix else self.names.names
        names = await lookup(value_ids(raw, facet))
        answer = facet_values_from(raw, request, facet, prefix, names, size)
        return answer.model_dump_json().encode()

    # ------------------------------------------------------------- entities
    async def suggest(self, q: str, size: int) -> Result:
        prefix = normalise_prefix(q)
        return await self._cached(
            "suggest", {"q": prefix, "size": size}, lambda: self._suggest(prefix, size)
        )

    async def _suggest(self, prefix: str, size: int) -> bytes:
        response = await self._query(build_suggest_body(prefix, size))
        names = await self.names.registry_names([key[0] for key in suggestion_keys(response)])
        return suggestions_from(prefix, response, names, size).model_dump_json().encode()

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
