"""Ingestion API: the front door of the pipeline.

``POST /v1/articles`` (one JSON article) and ``POST /v1/articles:batch``
(NDJSON) validate what they get, give each article its deterministic id, drop
repeats within the dedup TTL (unless ``?reprocess=true``), and write the rest
to ``articles.raw``. A request is all or nothing: every line of a batch is
validated before anything is sent, and an article is acknowledged (202) only
once Kafka has it. While Kafka is down the API answers 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from services.feeds.api import sources_router
from shared.contracts.ids import article_id
from shared.contracts.models import RawArticleV1
from shared.contracts.topics import RAW
from shared.runtime import metrics
from shared.runtime.article_status import StatusStore
from shared.runtime.settings import IngestionSettings
from shared.runtime.web import RequestMetrics, serve

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- API models
class ArticleIn(BaseModel):
    """One article as a client sends it: an HTML page or already-scraped text."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl | None = Field(default=None, description="Where the article lives.")
    source: str = Field(min_length=1, max_length=200, description="Publisher, e.g. 'lemonde.fr'.")
    html: str | None = Field(default=None, description="The page as served.")
    text: str | None = Field(default=None, description="Text already scraped from the page.")
    title: str | None = Field(default=None, max_length=2000)
    author: str | None = Field(default=None, max_length=2000)
    published_at: datetime | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")

    @model_validator(mode="after")
    def _has_content(self) -> ArticleIn:
        if not (self.html and self.html.strip()) and not (self.text and self.text.strip()):
            raise ValueError("one of 'html' or 'text' must be given and non-empty")
        return self


class ArticleAccepted(BaseModel):
    article_id: str
    status: Literal["accepted", "duplicate"] = Field(
        description="'duplicate': already received within the dedup window; not reprocessed."
    )


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
class Unavailable(HTTPException):
    def __init__(self, reason: str, retry_after_s: int = 5) -> None:
        super().__init__(503, detail=reason, headers={"Retry-After": str(retry_after_s)})


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


# ---------------------------------------------------------------- the app
class IngestorSettings(Protocol):
    """What an Ingestor needs from its settings: both the API's
    IngestionSettings and the feed poller's PollerSettings provide it."""

    @property
    def namespace(self) -> str: ...
    @property
    def kafka_bootstrap(self) -> str: ...
    @property
    def redis_dsn(self) -> str: ...
    @property
    def status_ttl_s(self) -> int: ...
    @property
    def dedup_ttl_s(self) -> int: ...
    @property
    def max_body_bytes(self) -> int: ...


# Upper bound on how long a request waits for Kafka to confirm its articles.
SEND_TIMEOUT_S = 5.0
# While Kafka is known to be down, try to reach it at most this often.
PROBE_INTERVAL_S = 1.0


class Ingestor:
    """Holds the Kafka producer and the status store of one API process.
    The feed poller uses one too (without API keys), so that articles from
    feeds get the same ids, dedup and status as those posted to the API."""

    def __init__(self, settings: IngestorSettings, api_keys: Iterable[SecretStr] = ()) -> None:
        self.settings = settings
        self.topic = RAW.full_name(settings.namespace)
        self.status = StatusStore.from_url(
            settings.redis_dsn, settings.namespace, settings.status_ttl_s
        )
        self.producer: AIOKafkaProducer | None = None
        self._keys = {k.get_secret_value() for k in api_keys}
        # Set while Kafka is known to be unreachable (see kafka_reachable).
        self._kafka_down_at: float | None = None

    async def start(self) -> None:
        await self._connect()

    async def _connect(self) -> AIOKafkaProducer:
        if self.producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                acks="all",
                # Not idempotent: once the broker refused a batch (an article over
                # its message size), aiokafka's idempotent producer failed every
                # later batch of that partition with OutOfOrderSequenceNumber, i.e.
                # a 503 for good. Dedup by article_id downstream makes a repeated
                # delivery harmless, which is all idempotence bought here.
                enable_idempotence=False,
                max_request_size=self.settings.max_body_bytes + 100_000,
                request_timeout_ms=10_000,
                compression_type="gzip",
            )
            try:
                await producer.start()
            except (KafkaError, OSError) as exc:
                await producer.stop()
                raise Unavailable(f"Kafka unavailable: {exc}") from exc
            self.producer = producer
        return self.producer

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
        await self.status.close()

    def check_key(self, key: str | None) -> None:
        if not key:
            raise HTTPException(401, detail="missing API key: send it in the X-API-Key header")
        if key not in self._keys:
            raise HTTPException(401, detail="unknown API key")

    async def accept(self, articles: list[ArticleIn], reprocess: bool) -> list[ArticleAccepted]:
        """Dedup, then hand every new article to Kafka; acknowledged only when sent."""
        raws: list[RawArticleV1] = []
        answers: list[ArticleAccepted] = []
        seen: set[str] = set()
        for article in articles:
            aid = article_id(
                str(article.url) if article.url else None, article.text or article.html
            )
            if aid in seen:  # the same article twice in one batch
                answers.append(ArticleAccepted(article_id=aid, status="duplicate"))
                continue
            seen.add(aid)
            first = await self.status.claim(aid, self.settings.dedup_ttl_s)
            if first is False and not reprocess:
                answers.append(ArticleAccepted(article_id=aid, status="duplicate"))
                continue
            raws.append(
                RawArticleV1(
                    article_id=aid, reprocess=reprocess and first is False, **article.model_dump()
                )
            )
            answers.append(ArticleAccepted(article_id=aid, status="accepted"))
        try:
            await self._send(raws)
        except HTTPException:  # 503, or 413 from Kafka's size limit
            for raw in raws:  # not sent: let a retry through the dedup
                await self.status.release(raw.article_id)
            raise
        await self.status.mark([r.article_id for r in raws], "received")
        return answers

    async def _send(self, raws: list[RawArticleV1]) -> None:
        if not raws:
            return
        producer = await self._connect()
        if not await self.kafka_reachable():
            raise Unavailable("Kafka unreachable, retry later")
        # aiokafka's idempotent producer never gives up on a batch: it retries
        # until the broker is back, so awaiting the delivery without a bound hung
        # every request for the whole of a Kafka outage. Wait SEND_TIMEOUT_S at
        # most, then answer 503. The message may still be delivered later, which
        # is harmless: an article keeps its id and every stage is idempotent on it.
        deadline = time.monotonic() + SEND_TIMEOUT_S
        try:
            futures = []
            for r in raws:
                # `send` itself can wait (metadata, a full buffer): bound it too.
                futures.append(
                    await asyncio.wait_for(
                        producer.send(
                            self.topic,
                            key=r.article_id.encode(),
                            value=r.model_dump_json().encode(),
                        ),
                        max(0.1, deadline - time.monotonic()),
                    )
                )
            # `asyncio.wait`, not `wait_for(gather(...))`: on timeout the delivery
            # futures must be left alone, the producer still owns them.
            done, pending = await asyncio.wait(
                futures, timeout=max(0.1, deadline - time.monotonic())
            )
            for fut in done:
                fut.result()  # raises the delivery error, if any
        except MessageSizeTooLargeError as exc:
            # Bigger than Kafka takes once encoded (the API's body limit counts raw
            # bytes, the broker counts the compressed batch): every retry would
            # fail alike, so it is the client's 413, not an outage's 503.
            raise HTTPException(
                413, detail="article too large for the pipeline once encoded"
            ) from exc
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("kafka send failed", extra={"error": repr(exc)})
            raise Unavailable(f"Kafka unavailable, retry later: {exc!r}") from exc
        if pending:
            self._kafka_down_at = time.monotonic()
            log.warning("kafka did not confirm in time", extra={"pending": len(pending)})
            raise Unavailable(f"Kafka did not confirm within {SEND_TIMEOUT_S:.0f}s, retry later")

    async def kafka_reachable(self) -> bool:
        """Whether the producer holds (or can open) a connection to a broker
        now. A stopped broker refuses connections at once, so this answers in
        milliseconds and the API can say 503 instead of queueing the article.
        While Kafka is known to be down it looks again at most every
        PROBE_INTERVAL_S; requests in between get False at once."""
        producer = self.producer
        if producer is None:
            return False
        now = time.monotonic()
        if self._kafka_down_at is not None and now - self._kafka_down_at < PROBE_INTERVAL_S:
            return False
        client = producer.client
        brokers = [b.nodeId for b in client.cluster.brokers()]
        if not brokers:  # no metadata yet: let the bounded send decide
            return True
        for node_id in brokers:
            try:
                if await asyncio.wait_for(client.ready(node_id), PROBE_INTERVAL_S):
                    if self._kafka_down_at is not None:
                        log.warning("kafka reachable again")
                    self._kafka_down_at = None
                    return True
            except (TimeoutError, KafkaError, OSError):
                continue
        if self._kafka_down_at is None:
            log.warning("kafka unreachable: answering 503 until it is back")
        self._kafka_down_at = now
        return False


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
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        where = f"line {line}: " if line is not None else ""
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


def create_app(settings: IngestionSettings) -> FastAPI:
    ingestor = Ingestor(settings, settings.api_keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await ingestor.start()
        except Unavailable as exc:  # start anyway; requests answer 503 until Kafka is back
            log.warning("starting without Kafka", extra={"error": exc.detail})
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
        sources_router(ingestor.status.redis, settings.namespace, ingestor.check_key)
    )

    app.add_middleware(RequestMetrics, stage="ingestion")

    def api_key(x_api_key: Annotated[str | None, Header()] = None) -> None:
        ingestor.check_key(x_api_key)

    @app.post(
        "/v1/articles",
        status_code=202,
        response_model=ArticleAccepted,
        dependencies=[Depends(api_key)],
        openapi_extra=_article_body_schema(),
        responses={401: {}, 413: {}, 422: {}, 503: {}},
    )
    async def post_article(request: Request, reprocess: bool = False) -> ArticleAccepted:
        """Send one article. Answers 202 with its id once Kafka has it."""
        body = await read_body(request, settings.max_body_bytes)
        article = parse_article(body)
        return (await ingestor.accept([article], reprocess))[0]

    @app.post(
        "/v1/articles:batch",
        status_code=202,
        response_model=BatchAccepted,
        dependencies=[Depends(api_key)],
        openapi_extra=_batch_body_schema(),
        responses={401: {}, 413: {}, 422: {}, 503: {}},
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
        return BatchAccepted(articles=await ingestor.accept(articles, reprocess))

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
            raise Unavailable("status store (Redis) unavailable")
        if not stages:
            raise HTTPException(404, detail="unknown article (or its status has expired)")
        failed = stages.pop("failed", None)
        ordered = sorted(stages.items(), key=lambda kv: kv[1].get("at", ""))
        return ArticleStatus(
            article_id=article_id,
            stages=[StageStatus(stage=k, at=v.pop("at"), detail=v) for k, v in ordered],
            failed=StageStatus(stage=failed.pop("stage", "?"), at=failed.pop("at"), detail=failed)
            if failed
            else None,
        )

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

    return app


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


__all__ = ["ArticleIn", "create_app", "main"]
