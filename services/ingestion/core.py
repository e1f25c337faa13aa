"""Accepting articles, without HTTP: validate, give each its id, drop repeats,
publish to ``articles.raw``.

Both front doors stand on this: the HTTP API (``services.ingestion.api``) and
the feed poller (``services.feeds``), so an article gets the same id, dedup
and status whichever way it came. Failures are domain exceptions
(:class:`Unavailable`, :class:`TooLarge`); each front door decides what they
mean to its callers (503 / 413 for HTTP, a later retry for the poller).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Literal, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.contracts.ids import article_id
from shared.contracts.models import RawArticleV1
from shared.contracts.sanity import implausible_reason, strip_bidi_controls
from shared.contracts.topics import RAW
from shared.runtime.article_status import ArticleStatusStore

log = logging.getLogger(__name__)

# Upper bound on how long a request waits for Kafka to confirm its articles.
SEND_TIMEOUT_S = 5.0
# While Kafka is known to be down, try to reach it at most this often.
PROBE_INTERVAL_S = 1.0


class Unavailable(Exception):
    """Kafka cannot take the articles now; the caller should retry later."""

    def __init__(self, reason: str, retry_after_s: int = 5) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class TooLarge(Exception):
    """The article is bigger than the pipeline carries once encoded: every
    retry would fail alike, so it is the caller's error, not an outage."""


class ArticleIn(BaseModel):
    """One article as a client (or a feed) sends it: a page or scraped text.

    Everything detectable here is refused here, with the field and the reason,
    so bad input never reaches a stage (where it would cost a dead letter and
    count against the stage's dead-letter limit)."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl | None = Field(default=None, description="Where the article lives.")
    source: str = Field(min_length=1, max_length=200, description="Publisher, e.g. 'lemonde.fr'.")
    html: str | None = Field(default=None, description="The page as served.")
    text: str | None = Field(default=None, description="Text already scraped from the page.")
    title: str | None = Field(default=None, max_length=2000)
    author: str | None = Field(default=None, max_length=2000)
    published_at: datetime | None = Field(
        default=None, description="Publication time; 1900-01-01 … now + 2 days."
    )
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")

    @field_validator("source", "title", "author")
    @classmethod
    def _no_bidi_controls(cls, value: str | None) -> str | None:
        if value is None:
            return None
        cleaned = strip_bidi_controls(value).strip()
        if not cleaned:
            raise ValueError("empty once invisible control characters are removed")
        return cleaned

    @field_validator("html", "text")
    @classmethod
    def _is_text(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("contains NUL characters: binary data, not a page or text")
        return value

    @field_validator("published_at")
    @classmethod
    def _plausible_date(cls, value: datetime | None) -> datetime | None:
        if value is not None and (reason := implausible_reason(value)):
            raise ValueError(reason)
        return value

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


class Ingestor:
    """Holds the Kafka producer and the status store of one process."""

    def __init__(self, settings: IngestorSettings) -> None:
        self.settings = settings
        self.topic = RAW.full_name(settings.namespace)
        self.status = ArticleStatusStore.from_url(
            settings.redis_dsn, settings.namespace, settings.status_ttl_s
        )
        self.producer: AIOKafkaProducer | None = None
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
                # Re-checked on Kafka 4.1 / aiokafka 0.14 (tests/cluster): the
                # duplicates a broker failover leaves come from the client re-sending
                # after SEND_TIMEOUT_S, which idempotence would not remove either.
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

    async def accept(self, articles: list[ArticleIn], reprocess: bool) -> list[ArticleAccepted]:
        """Dedup, then hand every new article to Kafka; acknowledged only when sent.
        Raises Unavailable or TooLarge, having released the claims it took."""
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
        except (Unavailable, TooLarge):
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
        # aiokafka never gives up on a batch by itself: it retries until the
        # broker is back, so awaiting the delivery without a bound hung every
        # request for the whole of a Kafka outage. Wait SEND_TIMEOUT_S at most,
        # then say Unavailable. The message may still be delivered later, which
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
            # The API's body limit counts raw bytes, the broker the encoded batch.
            raise TooLarge("article too large for the pipeline once encoded") from exc
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
