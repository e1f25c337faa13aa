"""Ingestion HTTP API: the front door of the pipeline.

``POST /v1/articles`` (one JSON article) and ``POST /v1/articles:batch``
(NDJSON) check the caller's key, validate what they get and hand it to the
:class:`~services.ingestion.core.Ingestor` (ids, dedup, Kafka). A request is
all or nothing: every line of a batch is validated before anything is sent,
and an article is acknowledged (202) only once Kafka has it. While Kafka is
down the API answers 503 with Retry-After. The feed sources' routes
(``/v1/sources``) are mounted here too, under the same keys.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, SecretStr, ValidationError

from services.feeds.api import sources_router
from services.ingestion.core import ArticleAccepted, ArticleIn, Ingestor, TooLarge, Unavailable
from services.ingestion.settings import IngestionSettings
from shared.runtime import metrics
from shared.runtime.addresses import AddressPolicy
from shared.runtime.web import RequestMetrics, install_security, serve

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- API models
class BatchAccepted(BaseModel):
    articles: list[ArticleAccepted]


class StageStatus(BaseModel):
    stage: str
    at: datetime
    detail: dict[str, Any] = Field(default_factory=dict)


class ArticleStatus(BaseModel):
    article_id: str
    stages: list[StageStatus]
    failed: StageStatus | None = None


# ---------------------------------------------------------------- errors
def unavailable(reason: str, retry_after_s: int = 5) -> HTTPException:
    return HTTPException(503, detail=reason, headers={"Retry-After": str(retry_after_s)})


def _validation_detail(exc: ValidationError, line: int | None = None) -> list[dict[str, Any]]:
    detail = []
    for err in exc.errors(include_url=False):
        item: dict[str, Any] = {
            "loc": ["body", *err["loc"]],
            "msg": err["msg"],
            "type": err["type"],
        }
        if line is not None:
            item["line"] = line
        detail.append(item)
    return detail


class ApiKeys:
    """The keys allowed to write. Compared in constant time, so a caller
    cannot learn a key from how long a refusal takes."""

    def __init__(self, keys: Iterable[SecretStr]) -> None:
        self._keys = [k.get_secret_value().encode() for k in keys]

    def check(self, key: str | None) -> None:
        if not key:
            raise HTTPException(401, detail="missing API key: send it in the X-API-Key header")
        given = key.encode()
        # Every key is compared (no early exit), for the same reason.
        matches = [hmac.compare_digest(given, known) for known in self._keys]
        if not any(matches):
            raise HTTPException(401, detail="unknown API key")


async def refuse_repeated_key(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Two X-API-Key headers are ambiguous (which one was checked?): refuse them."""
    if len(request.headers.getlist("x-api-key")) > 1:
        return JSONResponse({"detail": "send the X-API-Key header once"}, status_code=400)
    return await call_next(request)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) past `limit` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, detail=f"body larger than the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, detail=f"body larger than the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_article(payload: bytes, line: int | None = None) -> ArticleIn:
    where = f"line {line}: " if line is not None else ""
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestValidationError(
            [
                {
                    "loc": ["body"],
                    "msg": f"{where}the body is not valid UTF-8 (byte {exc.start}): "
                    "send JSON encoded as UTF-8",
                    "type": "utf8_invalid",
                    **({"line": line} if line is not None else {}),
                }
            ]
        ) from exc
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise RequestValidationError(
            [
                {
                    "loc": ["body"],
                    "msg": f"{where}invalid JSON: {exc}",
                    "type": "json_invalid",
                    **({"line": line} if line is not None else {}),
                }
            ]
        ) from exc
    try:
        return ArticleIn.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(_validation_detail(exc, line)) from exc


def _article_body_schema() -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ArticleIn.model_json_schema()}},
        }
    }


def _batch_body_schema() -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {
                    "schema": {
                        "type": "string",
                        "description": "One ArticleIn JSON object per line.",
                    }
                }
            },
        }
    }


async def accept(
    ingestor: Ingestor, articles: list[ArticleIn], reprocess: bool
) -> list[ArticleAccepted]:
    """The core's answer, its failures said in HTTP."""
    try:
        return await ingestor.accept(articles, reprocess)
    except Unavailable as exc:
        raise unavailable(exc.reason, exc.retry_after_s) from exc
    except TooLarge as exc:
        raise HTTPException(413, detail=str(exc)) from exc


def create_app(settings: IngestionSettings) -> FastAPI:
    ingestor = Ingestor(settings)
    keys = ApiKeys(settings.api_keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await ingestor.start()
        except Unavailable as exc:  # start anyway; requests answer 503 until Kafka is back
            log.warning("starting without Kafka", extra={"error": exc.reason})
        yield
        await ingestor.stop()

    app = FastAPI(
        title="Newsflow ingestion API",
        version="1",
        description="Send articles (HTML pages or scraped text) into the Newsflow pipeline.",
        lifespan=lifespan,
    )
    app.state.ingestor = ingestor
    # Feed sources are managed beside the articles, with the same keys and Redis.
    app.include_router(
        sources_router(
            ingestor.status.redis,
            settings.namespace,
            keys.check,
            AddressPolicy(tuple(settings.feed_allowed_networks)),
        )
    )
    app.add_middleware(RequestMetrics, stage="ingestion")
    install_security(app)
    app.middleware("http")(refuse_repeated_key)
    _article_routes(app, ingestor, keys, settings)
    _health_routes(app, ingestor)
    return app


def _article_routes(
    app: FastAPI, ingestor: Ingestor, keys: ApiKeys, settings: IngestionSettings
) -> None:
    def api_key(x_api_key: Annotated[str | None, Header()] = None) -> None:
        keys.check(x_api_key)

    @app.post(
        "/v1/articles",
        status_code=202,
        response_model=ArticleAccepted,
        dependencies=[Depends(api_key)],
        openapi_extra=_article_body_schema(),
        responses={400: {}, 401: {}, 413: {}, 422: {}, 503: {}},
    )
    async def post_article(request: Request, reprocess: bool = False) -> ArticleAccepted:
        """Send one article. Answers 202 with its id once Kafka has it."""
        body = await read_body(request, settings.max_body_bytes)
        article = parse_article(body)
        return (await accept(ingestor, [article], reprocess))[0]

    @app.post(
        "/v1/articles:batch",
        status_code=202,
        response_model=BatchAccepted,
        dependencies=[Depends(api_key)],
        openapi_extra=_batch_body_schema(),
        responses={400: {}, 401: {}, 413: {}, 422: {}, 503: {}},
    )
    async def post_batch(request: Request, reprocess: bool = False) -> BatchAccepted:
        """Send many articles as NDJSON. All lines are validated before any is sent."""
        body = await read_body(request, settings.max_body_bytes)
        lines = [(n, line) for n, line in enumerate(body.splitlines(), start=1) if line.strip()]
        if not lines:
            raise RequestValidationError(
                [{"loc": ["body"], "msg": "no articles in the body", "type": "value_error"}]
            )
        if len(lines) > settings.max_batch_items:
            raise HTTPException(413, detail=f"more than {settings.max_batch_items} articles")
        articles = [parse_article(line, n) for n, line in lines]
        return BatchAccepted(articles=await accept(ingestor, articles, reprocess))

    @app.get(
        "/v1/articles/{article_id}/status",
        response_model=ArticleStatus,
        responses={404: {}, 503: {}},
    )
    async def article_status(
        article_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    ) -> ArticleStatus:
        """The stages the article has passed, or where it failed and why."""
        stages = await ingestor.status.get(article_id)
        if stages is None:
            raise unavailable("status store (Redis) unavailable")
        if not stages:
            raise HTTPException(404, detail="unknown article (or its status has expired)")
        return status_answer(article_id, stages)


def status_answer(article_id: str, stages: dict[str, dict[str, Any]]) -> ArticleStatus:
    """The stored stage records of an article, in the order they happened."""
    failed = stages.pop("failed", None)
    ordered = sorted(stages.items(), key=lambda kv: kv[1].get("at", ""))
    return ArticleStatus(
        article_id=article_id,
        stages=[StageStatus(stage=k, at=v.pop("at"), detail=v) for k, v in ordered],
        failed=StageStatus(stage=failed.pop("stage", "?"), at=failed.pop("at"), detail=failed)
        if failed
        else None,
    )


def _health_routes(app: FastAPI, ingestor: Ingestor) -> None:
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        redis_ok = await ingestor.status.ping()
        # A producer object is not a reachable broker: ask the connection.
        kafka_ok = await ingestor.kafka_reachable()
        body = {
            "kafka": "ok" if kafka_ok else "unavailable",
            "redis": "ok" if redis_ok else f"degraded: {ingestor.status.last_error}",
        }
        return JSONResponse(body, status_code=200 if kafka_ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_page() -> Response:
        payload, content_type = metrics.render()
        return Response(payload, media_type=content_type)


def main(port: int | None = None) -> None:
    """Run the ingestion API; `port` overrides the configured one (the CLI's --port)."""
    settings = IngestionSettings()
    serve(
        create_app(settings),
        host=settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        service="newsflow-ingestion",
    )
