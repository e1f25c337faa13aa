"""HTTP API of the feed sources, mounted on the ingestion API.

``/v1/sources``: register, list, inspect, pause, resume and remove sources.
Every route needs the same ``X-API-Key`` as article writes, reads included:
a source's health tells what the poller reached and how it failed, which is
not for anonymous callers. A source whose URL names an internal address
literally is refused with 422 (names are checked by the poller at every
connection, see ``shared.runtime.netguard``). The response shape
(``SourceOut``, with its health) is also what ``newsflow sources list``
prints, so both tell the same story.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.feeds.health import HealthStatus, assess
from services.feeds.registry import (
    Source,
    SourceExists,
    SourceIn,
    SourceRegistry,
    SourceState,
)
from shared.runtime.addresses import AddressPolicy, literal_refusal

log = logging.getLogger(__name__)

SourceIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="Source id.")]


class SourceHealth(BaseModel):
    """How a source is doing, from the poller's records."""

    status: HealthStatus = Field(
        description="pending: never polled; ok; failing: the last poll failed; silent: polls "
        "work but nothing new for longer than usual; paused."
    )
    warnings: list[str] = Field(default_factory=list)
    kind: str | None = Field(default=None, description="rss, atom, sitemap or sitemap-index.")
    feed_title: str | None = None
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: str | None = Field(default=None, description="e.g. '200', '304'.")
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    last_new_entry_at: datetime | None = None
    silent_after_s: float | None = Field(
        default=None, description="No new entry for this long makes the source 'silent'."
    )
    articles_24h: int = Field(default=0, description="Articles sent down the pipeline, 24 h.")


class SourceOut(Source):
    health: SourceHealth


def _dt(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts is not None else None


def source_view(
    source: Source, state: SourceState, articles_24h: int, now: float | None = None
) -> SourceOut:
    now = time.time() if now is None else now
    verdict = assess(
        now=now,
        paused=source.paused,
        interval_s=source.interval_s,
        last_poll_at=state.last_poll_at,
        failures=state.failures,
        last_error=state.last_error,
        next_poll_at=state.next_poll_at,
        last_new_at=state.last_new_at,
        silent_after_s=state.silent_after_s,
    )
    health = SourceHealth(
        status=verdict.status,
        warnings=verdict.warnings,
        kind=state.kind,
        feed_title=state.feed_title,
        last_poll_at=_dt(state.last_poll_at),
        last_success_at=_dt(state.last_success_at),
        last_status=state.last_status,
        last_error=state.last_error,
        last_error_at=_dt(state.last_error_at),
        consecutive_failures=state.failures,
        next_poll_at=_dt(state.next_poll_at),
        last_new_entry_at=_dt(state.last_new_at),
        silent_after_s=state.silent_after_s,
        articles_24h=articles_24h,
    )
    return SourceOut(**source.model_dump(), health=health)


async def describe(registry: SourceRegistry, sources: list[Source]) -> list[SourceOut]:
    """Sources with their health, in three Redis round trips whatever their number."""
    ids = [s.id for s in sources]
    states = await registry.states(ids)
    counts = await registry.sent_last_24h(ids)
    now = time.time()
    return [source_view(s, states[s.id], counts[s.id], now) for s in sources]


def _unavailable(exc: Exception) -> HTTPException:
    log.warning("redis unavailable for sources", extra={"error": repr(exc)})
    return HTTPException(
        503, detail=f"source registry (Redis) unavailable: {exc}", headers={"Retry-After": "5"}
    )


@contextmanager
def _registry_errors() -> Iterator[None]:
    """Redis down answers 503 with Retry-After, whatever the route."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise _unavailable(exc) from exc


def check_source_address(body: SourceIn, policy: AddressPolicy) -> None:
    """422, in FastAPI's usual shape, for a source URL that names an
    internal address literally (``http://127.0.0.1/``, ``http://[::1]/``,
    ``http://localhost/``) unless the policy allows it."""
    refusal = literal_refusal(str(body.url), policy)
    if refusal is not None:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "url"),
                    "msg": f"Value error, address not allowed: {refusal}",
                    "input": str(body.url),
                }
            ]
        )


async def _one(registry: SourceRegistry, sid: str) -> SourceOut:
    with _registry_errors():
        source = await registry.get(sid)
        if source is None:
            raise HTTPException(404, detail=f"no source {sid}")
        return (await describe(registry, [source]))[0]


async def _set_paused(registry: SourceRegistry, sid: str, paused: bool) -> SourceOut:
    with _registry_errors():
        source = await registry.set_paused(sid, paused)
    if source is None:
        raise HTTPException(404, detail=f"no source {sid}")
    return await _one(registry, sid)


def sources_router(
    redis: Redis,
    namespace: str,
    check_key: Callable[[str | None], None],
    policy: AddressPolicy,
) -> APIRouter:
    """The /v1/sources routes over this Redis and namespace; `check_key`
    is the ingestion API's key check (raises 401). `policy` says which
    internal addresses a source may name: the poller's own
    (``NEWSFLOW_POLLER_ALLOWED_NETWORKS``), so that the API accepts what the
    poller will read."""
    registry = SourceRegistry(redis, namespace)
    router = APIRouter(prefix="/v1/sources", tags=["sources"])
    addresses = policy

    def api_key(x_api_key: Annotated[str | None, Header()] = None) -> None:
        check_key(x_api_key)

    @router.post(
        "",
        status_code=201,
        response_model=SourceOut,
        dependencies=[Depends(api_key)],
        responses={401: {}, 409: {}, 422: {}, 503: {}},
    )
    async def add_source(body: SourceIn) -> SourceOut:
        """Follow a feed or sitemap. The poller picks it up within a second
        or so. The same feed twice answers 409 with the existing id; a URL
        naming an internal address (loopback, private...) answers 422."""
        check_source_address(body, addresses)
        with _registry_errors():
            try:
                source = await registry.add(body)
            except SourceExists as exc:
                raise HTTPException(409, detail={"msg": str(exc), "id": exc.existing.id}) from exc
        return await _one(registry, source.id)

    @router.get(
        "",
        response_model=list[SourceOut],
        dependencies=[Depends(api_key)],
        responses={401: {}, 503: {}},
    )
    async def list_sources() -> list[SourceOut]:
        """Every source with its health."""
        with _registry_errors():
            return await describe(registry, await registry.all())

    @router.get(
        "/{source_id}",
        response_model=SourceOut,
        dependencies=[Depends(api_key)],
        responses={401: {}, 404: {}, 503: {}},
    )
    async def get_source(source_id: SourceIdPath) -> SourceOut:
        """One source with its health: last success, last error, articles in 24 h…"""
        return await _one(registry, source_id)

    @router.delete(
        "/{source_id}",
        status_code=204,
        dependencies=[Depends(api_key)],
        responses={401: {}, 404: {}, 503: {}},
    )
    async def remove_source(source_id: SourceIdPath) -> Response:
        """Stop following a source and forget its state."""
        with _registry_errors():
            removed = await registry.remove(source_id)
        if not removed:
            raise HTTPException(404, detail=f"no source {source_id}")
        return Response(status_code=204)

    @router.post(
        "/{source_id}/pause",
        response_model=SourceOut,
        dependencies=[Depends(api_key)],
        responses={401: {}, 404: {}, 503: {}},
    )
    async def pause_source(source_id: SourceIdPath) -> SourceOut:
        """Stop polling a source, keeping its state (what it has seen)."""
        return await _set_paused(registry, source_id, True)

    @router.post(
        "/{source_id}/resume",
        response_model=SourceOut,
        dependencies=[Depends(api_key)],
        responses={401: {}, 404: {}, 503: {}},
    )
    async def resume_source(source_id: SourceIdPath) -> SourceOut:
        """Poll a paused source again."""
        return await _set_paused(registry, source_id, False)

    return router
