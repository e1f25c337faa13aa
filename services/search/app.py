"""HTTP layer of the search service: the JSON API under ``/v1`` and the web UI
at ``/``, served by one FastAPI app.

``create_app(settings)`` builds everything from one settings object (tests
build as many apps as they like); ``main()`` reads the settings once and runs
uvicorn, which is what ``newsflow api search`` calls.
"""

# No `from __future__ import annotations` here: FastAPI reads the parameter
# annotations at run time, and those of the route closures name local values
# (this deployment's limits), which string annotations could not resolve.
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.serializer import OrjsonSerializer
from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRouter
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.entities.directory import EntityDirectory
from services.search.cache import CacheStatus, ResponseCache
from services.search.entities import entities_router
from services.search.errors import install_error_handlers
from services.search.essearch import SearchClient
from services.search.export import (
    MEDIA_TYPES,
    ExportFormat,
    ExportSettings,
    ExportSlots,
    filename,
    start_export,
)
from services.search.facetsearch import MAX_PREFIX_CHARS, MAX_VALUES, normalise
from services.search.models import (
    ArticleOut,
    ErrorOut,
    FacetName,
    FacetValuesResponse,
    HealthOut,
    ReadyOut,
    SearchRequest,
    SearchResponse,
    SimilarResponse,
    SuggestResponse,
)
from services.search.params import search_request_dependency
from services.search.pits import PitRegistry
from services.search.ratelimit import InFlight, RateLimiter, client_budget, search_budget
from services.search.service import PIT_KEEP_ALIVE_S, SearchService
from services.search.stories import stories_router
from services.subscriptions.api import subscriptions_router
from services.subscriptions.settings import SubscriptionsSettings
from shared.runtime import metrics
from shared.runtime.settings import SearchSettings
from shared.runtime.web import RequestMetrics, install_security, serve

STATIC_DIR = Path(__file__).parent / "static"

# The UI renders untrusted article text. It never parses it as HTML, and the
# page's policy would not run an injected script or handler anyway: only our
# own files may load, nothing inline. (The other security headers, and the
# policy of every other response, come from shared.runtime.web.SecurityHeaders.)
UI_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
}

API_DESCRIPTION = """
Full-text search over the articles Newsflow has cleaned and enriched.

* **Dates.** `from` / `to` take a day (`2024-03-01`, the whole day) or an ISO
  8601 date-time, and filter on the publication date. Articles without one
  are excluded by any date range, counted apart in `histogram.undated`, and
  sorted last under `sort=newest`.
* **Facets.** Each facet's counts apply every filter except the facet's own:
  values of one facet combine with OR, facets with AND. People,
  organisations and places are entities: their values are entity ids
  (`people=ent_…`, `places=Q30`) with a display `name`; a value that is no
  id filters by name (older links). `/v1/entities/{id}` is an entity's page.
* **Paging.** `page` (with `size`) reaches the first 10,000 results; every
  response also carries `next_cursor`, which continues from its last hit in a
  stable snapshot (point in time) and has no depth limit.
* **Cache.** Responses may come from a short-lived cache, never older than
  the configured bound; the `X-Cache` header says `HIT`, `MISS` or `BYPASS`.
* **Words.** All must match, each in the title, the text or the byline, as
  written, without accents or in another form of the word (stemmed for
  English, French and Spanish articles); the last word also matches as the
  start of a word. `"exact phrase"`, `-excluded`, `a | b`, `pre*`, `word~`
  (typos), `author:`, `source:`, `title:`. Symbols and emoji are ignored.
  When nothing matches, the search answers for a spelling correction (or
  words within a typo or two) and says so in `spelling` (`correct=false`
  turns this off).
* **Stories.** Results are grouped by story (`group=story`, the default):
  each hit is the best article of its story, with `story` giving the
  story's matching articles and sources ("N articles from M sources") and
  its next best articles; `total` still counts articles, `stories` counts
  stories, and pages count stories. `group=none` lists every article.
  `/v1/stories/{id}` shows a whole story.
* **Export.** `/v1/search/export?format=csv|json|ndjson` with the same
  parameters streams the whole result set (up to a cap of rows).
* **Limits.** Dates fall between 1900-01-01 and two days from now. A query
  may hold a few fuzzy (`word~`) or prefix (`word*`) words, never a leading
  `*`; fuzzy and prefix words find matches but are highlighted only where
  they appear as typed. Each client address may send a limited number of
  requests per minute (429 with `Retry-After` past it).
* **Errors** are JSON objects with a `reason`.
"""

ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorOut, "description": "Invalid parameters (limits included)."},
    429: {"model": ErrorOut, "description": "Rate limit of this client address reached."},
    503: {"model": ErrorOut, "description": "Elasticsearch unreachable."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No article with this id."},
}

ArticleId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$", description="Article id.")]


async def get_service(request: Request) -> SearchService:
    # async: a plain def dependency would run in the thread pool, a measurable
    # hop on every search (docs/benchmarks.md); this one never blocks.
    service: SearchService = request.app.state.service
    return service


Service = Annotated[SearchService, Depends(get_service)]


def _json(body: bytes, cache: CacheStatus) -> Response:
    return Response(content=body, media_type="application/json", headers={"X-Cache": cache})


# ----------------------------------------------------------------- routes
def search_router(settings: SearchSettings) -> APIRouter:
    """``/v1/search`` alone: the other /v1 routes count their client's budget
    first (``client_budget``); the search sends the count alongside its work
    when the client is comfortably under its budget (``search_budget``)."""
    router = APIRouter(prefix="/v1", responses=ERRORS)
    search_request, parameters = search_request_dependency(settings)
    counted = asynccontextmanager(search_budget)

    @router.get(
        "/search",
        response_model=SearchResponse,
        summary="Search articles",
        openapi_extra={"parameters": parameters},
    )
    async def search(http: Request) -> Response:
        """Full-text search with facets, a date histogram and highlighted
        snippets (HTML-escaped; `<mark>` is the only tag)."""
        # The busiest route takes no FastAPI dependency (each is solved per
        # request, services/search/params.py): the same steps, called here.
        # The count starts before the parameters are read, so an invalid
        # request past the limit is a 429, as with client_budget.
        async with counted(http) as budget:
            request = await search_request(http)
            service: SearchService = http.app.state.service
            body, cache = await service.search(request)
            await budget.confirm()
        return _json(body, cache)

    return router


def api_router(settings: SearchSettings, export: ExportSettings) -> APIRouter:
    router = APIRouter(prefix="/v1", responses=ERRORS, dependencies=[Depends(client_budget)])
    search_request, parameters = search_request_dependency(settings)
    Search = Annotated[SearchRequest, Depends(search_request)]
    takes_search = {"parameters": parameters}

    @router.get(
        "/search/facets/{facet}", response_model=FacetValuesResponse, openapi_extra=takes_search
    )
    async def facet_values(
        facet: FacetName,
        request: Search,
        service: Service,
        prefix: Annotated[
            str,
            Query(
                max_length=MAX_PREFIX_CHARS,
                description="Start of a word of the value (case and accents ignored); "
                "empty lists the most frequent values.",
            ),
        ] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_VALUES)] = 20,
    ) -> Response:
        """Values of one facet among the search's results (any value, not
        only the top ones the search lists), counted like the search's facet."""
        body, cache = await service.facet_values(request, facet, normalise(prefix), limit)
        return _json(body, cache)

    @router.get(
        "/search/export",
        summary="Export the result set",
        response_class=StreamingResponse,
        responses={
            200: {"description": "The rows, streamed.", "content": {"text/csv": {}}},
            429: {"model": ErrorOut, "description": "An export of this address is running."},
        },
        openapi_extra=takes_search,
    )
    async def export_results(
        http: Request,
        request: Search,
        service: Service,
        fmt: Annotated[
            ExportFormat, Query(alias="format", description="csv, json or ndjson.")
        ] = "csv",
    ) -> StreamingResponse:
        """Every hit of the search (the same parameters; `page` and `size`
        are ignored), in relevance or date order, up to a cap of rows:
        id, url, source, title, authors, published_at, language, entities by
        type, snippet, story_id, duplicate_of (every article: exports are never
        grouped by story). `X-Total-Count` gives the hits, `X-Export-Rows` the
        rows sent, `X-Export-Truncated` whether the cap cut them."""
        slots: ExportSlots = http.app.state.export_slots
        client = http.client.host if http.client else "unknown"
        if (busy := slots.take(client)) is not None:
            raise StarletteHTTPException(429, busy, headers={"Retry-After": "10"})
        try:
            run = await start_export(
                service, request, fmt, export, on_end=lambda: slots.give_back(client)
            )
        except BaseException:
            slots.give_back(client)
            raise
        headers = {
            "Content-Disposition": f'attachment; filename="{filename(fmt)}"',
            "X-Total-Count": str(run.total),
            "X-Export-Rows": str(run.rows),
            "X-Export-Truncated": "true" if run.rows < run.total else "false",
            "Cache-Control": "no-store",
        }
        if run.corrected:
            headers["X-Spelling-Applied"] = "true"
        return StreamingResponse(run.chunks, media_type=MEDIA_TYPES[fmt], headers=headers)

    @router.get("/articles/{article_id}", response_model=ArticleOut, responses=NOT_FOUND)
    async def article(
        article_id: ArticleId,
        service: Service,
        q: Annotated[
            str,
            Query(
                max_length=settings.max_query_chars,
                description="A search: the title and text come back highlighted for it too.",
            ),
        ] = "",
    ) -> Response:
        """The whole cleaned article with its entities."""
        found = await service.article(article_id, " ".join(q.split()))
        # Sent as pydantic serialises it: returning the model would have
        # FastAPI validate it again and encode the whole text with json.
        return Response(content=found.model_dump_json(), media_type="application/json")

    @router.get(
        "/articles/{article_id}/similar", response_model=SimilarResponse, responses=NOT_FOUND
    )
    async def similar(
        article_id: ArticleId,
        service: Service,
        size: Annotated[int, Query(ge=1, le=20)] = 5,
    ) -> Response:
        """Articles sharing the most distinctive words of this one; only
        those close enough to it (none rather than unrelated ones)."""
        body, cache = await service.similar(article_id, size)
        return _json(body, cache)

    @router.get("/entities/suggest", response_model=SuggestResponse)
    async def suggest(
        service: Service,
        q: Annotated[
            str,
            Query(
                min_length=1,
                max_length=settings.max_query_chars,
                description="Start of a word of the name.",
            ),
        ],
        size: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> Response:
        """Entity names where a word starts with `q`, most mentioned first
        (by number of articles)."""
        body, cache = await service.suggest(q, size)
        return _json(body, cache)

    return router


def ops_router() -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", response_model=HealthOut, summary="Liveness")
    async def healthz() -> HealthOut:
        """The process answers; says nothing about its servers."""
        return HealthOut(status="ok")

    @router.get(
        "/readyz",
        response_model=ReadyOut,
        summary="Readiness",
        responses={503: {"model": ReadyOut}},
    )
    async def readyz(service: Service) -> JSONResponse:
        """Elasticsearch and Redis both reachable (503 and which one, if not)."""
        ready = await service.readiness()
        return JSONResponse(ready.model_dump(), status_code=200 if ready.status == "ready" else 503)

    @router.get("/metrics", include_in_schema=False)
    async def metrics_page() -> Response:
        payload, content_type = metrics.render()
        return Response(payload, media_type=content_type)

    return router


def mount_ui(app: FastAPI) -> None:
    index = STATIC_DIR / "index.html"

    @app.get("/", include_in_schema=False)
    async def ui() -> FileResponse:
        return FileResponse(index, headers=UI_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


# ----------------------------------------------------------------- plumbing
def lifespan_for(settings: SearchSettings) -> Callable[[FastAPI], Any]:
    """Clients are made at start and closed at stop. Neither server has to
    be up at start: /readyz tells when they are."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # orjson: search answers with facets are large, and the standard
        # library's json decoding is most of the client's share of a request.
        es = AsyncElasticsearch(
            settings.es_url,
            request_timeout=settings.es_request_timeout_s,
            serializer=OrjsonSerializer(),
        )
        searches = SearchClient(settings.es_url, timeout_s=settings.es_request_timeout_s)
        # The cache must never slow a search down: short timeouts, no
        # retries (ResponseCache also rests a few seconds after a failure).
        redis = Redis.from_url(
            settings.redis_dsn,
            socket_timeout=0.25,
            socket_connect_timeout=0.25,
            retry=Retry(NoBackoff(), 0),
        )
        cache = ResponseCache(redis, ttl_s=settings.cache_ttl_s, namespace=settings.namespace)
        app.state.limiter = RateLimiter(
            redis,
            limit=settings.rate_limit_requests,
            window_s=settings.rate_limit_window_s,
            namespace=settings.namespace,
        )
        app.state.in_flight = InFlight(settings.max_concurrent_per_client)
        pits = PitRegistry(
            redis,
            cap=settings.max_open_pits,
            keep_alive_s=PIT_KEEP_ALIVE_S,
            namespace=settings.namespace,
        )
        app.state.service = SearchService(
            es,
            cache,
            alias=settings.index_alias,
            redis=redis,
            pits=pits,
            search_timeout_s=settings.es_search_timeout_s,
            max_fuzzy=settings.max_expanding_terms,
            # Display names of entity ids (facets, chips, entity pages).
            directory=EntityDirectory(redis, namespace=settings.namespace),
            names_ttl_s=settings.names_ttl_s,
            searches=searches,
        )
        try:
            yield
        finally:
            await searches.close()
            await es.close()
            await redis.aclose()

    return lifespan


def create_app(settings: SearchSettings, export: ExportSettings | None = None) -> FastAPI:
    """The search API and UI for one deployment (settings.namespace)."""
    export = export or ExportSettings()
    app = FastAPI(
        title="Newsflow search",
        version="1",
        description=API_DESCRIPTION,
        lifespan=lifespan_for(settings),
    )
    install_error_handlers(app)
    install_security(app)
    app.add_middleware(RequestMetrics, stage="search")
    app.state.export_slots = ExportSlots(export.max_concurrent)
    app.include_router(search_router(settings))
    app.include_router(api_router(settings, export))
    # Stories (/v1/stories/{id}): services/search/stories.py.
    app.include_router(stories_router(responses=ERRORS, dependencies=[Depends(client_budget)]))
    # Entity pages (/v1/entities/{id}): services/search/entities.py; after
    # api_router, whose /v1/entities/suggest must win over the id route.
    app.include_router(entities_router(responses=ERRORS, dependencies=[Depends(client_budget)]))
    # Saved searches, their feeds and live counts, under the same rate limit.
    app.include_router(
        subscriptions_router(
            SubscriptionsSettings.for_search(settings), dependencies=[Depends(client_budget)]
        )
    )
    app.include_router(ops_router())
    mount_ui(app)
    return app


def main(port: int | None = None) -> None:
    """Run the search API + UI; `port` overrides the configured one (the CLI's --port)."""
    settings = SearchSettings()
    serve(
        create_app(settings),
        host=settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        service="newsflow-search",
        # C HTTP parser and libuv loop (pinned dependencies): uvicorn's
        # pure-Python h11 was ~19% of the API's CPU per search
        # (docs/benchmarks.md, "Search latency"). The parser is uvicorn's
        # httptools protocol, each response's head sent with its body (wire).
        http="services.search.wire:HeadWithBodyProtocol",
        loop="uvloop",
    )


__all__ = ["create_app", "main"]
