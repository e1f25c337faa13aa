"""The shared machinery of every stream stage (cleaning, entities, indexer).

A stage is a Faust agent that takes batches from its input topic, turns each
message into zero or more output messages, and must never lose one. The rules
it follows, in one place:

* Bad data (undecodable, invalid against the contract, or refused by the
  stage's logic) goes to the stage's dead-letter topic with the reason and the
  original bytes, and the stream moves on. It is never retried.
* A temporary failure (Elasticsearch 429/5xx or down, Kafka send failure)
  raises :class:`TemporaryFailure`; the batch is retried with backoff until it
  goes through or the worker is asked to stop. Nothing is acknowledged before
  its outputs and dead letters are delivered.
* Faust acknowledges every event of a batch when the batch's loop body ends,
  even by exception (``Stream.take_events``), so exceptions never leave the
  batch handler: an unexpected error in the batch is retried item by item to
  find the poison message, which alone goes to the DLQ.
* A cap on the DLQ: if most of the recent messages fail, the worker stops and
  says why (exit code 3) instead of draining its input into the DLQ.
* SIGTERM lets the batch in hand finish (outputs delivered, offsets committed)
  before the worker exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar

import faust
import orjson
from faust.types import EventT
from pydantic import BaseModel, ValidationError

from shared.contracts.models import DeadLetterV1, Stage
from shared.contracts.topics import TopicSpec
from shared.runtime import metrics
from shared.runtime.article_status import StageName, StatusStore
from shared.runtime.logs import logging_config
from shared.runtime.settings import WorkerSettings

log = logging.getLogger(__name__)

In = TypeVar("In", bound=BaseModel)

DLQ_LIMIT_EXIT_CODE = 3

# Kafka's default `max.message.bytes` is 1 MiB per record batch; this leaves room
# for the key and the batch framing. The broker refuses a bigger message for good,
# and `_send_all` retried it for ever: one 10 MB dead letter stalled a stage.
MAX_MESSAGE_BYTES = 1_000_000
# Starts the note appended to the reason of a dead letter whose payload was cut.
PAYLOAD_CUT_MARK = "[payload cut"


class BadMessage(Exception):
    """Raised by a stage's logic for a message that can never be processed
    (no article in it, wrong shape): it goes to the DLQ, never retried."""


class TemporaryFailure(Exception):
    """Raised when a dependency is down or overloaded; the batch is retried
    later with backoff and nothing is acknowledged meanwhile."""


class DlqLimitExceeded(RuntimeError):
    """Most recent messages went to the DLQ: something is wrong with the stage
    or its input as a whole, and the worker stops rather than drain the topic."""


@dataclass
class Item(Generic[In]):
    """One input message: its parsed value plus where it came from."""

    value: In
    key: bytes | None
    topic: str
    partition: int
    offset: int
    raw: bytes


@dataclass
class Output:
    """A message to produce: to the stage's output topic unless ``topic`` says otherwise."""

    key: str
    value: BaseModel
    topic: str | None = None

    @cached_property
    def payload(self) -> bytes:
        """The encoded value, made once: measured against the size limit, then sent."""
        return self.value.model_dump_json().encode()


@dataclass
class Result:
    """What became of one input item: outputs, or a rejection reason."""

    article_id: str | None
    outputs: list[Output] = field(default_factory=list)
    rejected: str | None = None
    error_type: str | None = None
    status_detail: dict[str, Any] = field(default_factory=dict)


BatchHandler = Callable[[list[Item[Any]]], Awaitable[list[Result]]]


def build_app(stage: Stage, settings: WorkerSettings, web_port: int) -> faust.App:
    """A Faust app for one stage. Consumer group = app id, one per stage, so
    operators scale a stage by starting more workers of it."""
    datadir = os.path.join(tempfile.gettempdir(), f"newsflow-faust-{stage}-{os.getpid()}")
    return faust.App(
        f"{settings.namespace}newsflow-{stage}",
        broker=settings.kafka_broker_url,
        datadir=datadir,
        web_enabled=True,
        web_bind="127.0.0.1",
        web_port=web_port,
        # Topics are created from the registry (`newsflow topics create`), not
        # by whichever worker happens to start first.
        topic_allow_declare=False,
        # No tables, no need for Faust's leader-election topic.
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        producer_acks=-1,
        producer_max_request_size=8_000_000,
        consumer_max_fetch_size=8_000_000,
        key_serializer="raw",
        value_serializer="raw",
        logging_config=logging_config(settings.log_level, f"newsflow-{stage}"),
        worker_redirect_stdouts=False,
    )


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(
        name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


class StageRunner:
    """Runs a batch handler over a stage's input with the rules above."""

    def __init__(
        self,
        *,
        app: faust.App,
        stage: Stage,
        input_spec: TopicSpec,
        output_spec: TopicSpec | None,
        settings: WorkerSettings,
        handler: BatchHandler,
        status: StatusStore | None,
        done_status: StageName,
    ) -> None:
        self.app = app
        self.stage = stage
        self.input_spec = input_spec
        self.settings = settings
        self.handler = handler
        self.status = status
        self.done_status = done_status
        ns = settings.namespace
        self.input_topic = raw_topic(app, input_spec.full_name(ns))
        self.output_topic = raw_topic(app, output_spec.full_name(ns)) if output_spec else None
        dlq = input_spec.full_dlq(ns)
        if dlq is None:
            raise ValueError(f"topic {input_spec.name} has no DLQ in the registry")
        self.dlq_topic = raw_topic(app, dlq)
        self._topics: dict[str, faust.TopicT] = {}
        self._recent: deque[bool] = deque(maxlen=settings.dlq_window)
        # Only the indexer's settings have this knob (it used to be read nowhere,
        # the cap was a hard-coded 30 s); the other stages keep 30 s.
        self.max_backoff_s = float(getattr(settings, "retry_max_backoff_s", 30.0))
        self.ready = False
        self.last_batch_at: float | None = None
        self.stopping_for: str | None = None
        app.agent(self.input_topic, name=f"{stage}-agent")(self._agent)

    # ------------------------------------------------------------ the agent
    async def _agent(self, stream: faust.StreamT) -> None:
        self.ready = True
        # take_events exists on faust-streaming's Stream but not on its StreamT protocol.
        async for events in stream.take_events(  # type: ignore[attr-defined]
            self.settings.batch_size, within=self.settings.batch_within_s
        ):
            # Shield the batch from cancellation: on SIGTERM Faust cancels the
            # agent, and `take_events` acknowledges the batch in its finally
            # block. Finishing the batch first keeps that ack truthful.
            task = asyncio.ensure_future(self._process_events(list(events)))
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                log.info(
                    "stop requested: finishing the batch in hand",
                    extra={"stage": self.stage, "batch": len(events)},
                )
                # Not a bare `await task`: cancelled again while waiting (a second
                # stop request), it would cancel the batch itself mid-delivery.
                while not task.done():
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.shield(task)
                task.result()  # the batch's own error, if it had one
                raise

    async def _process_events(self, events: Sequence[EventT]) -> None:
        started = time.monotonic()
        metrics.BATCH_SIZE.labels(self.stage).observe(len(events))
        metrics.MESSAGES_IN.labels(self.stage).inc(len(events))
        items: list[Item[Any]] = []
        dead: list[tuple[EventT, str, str]] = []
        for event in events:
            parsed = self._parse(event)
            if isinstance(parsed, Item):
                items.append(parsed)
            else:
                dead.append((event, *parsed))
        results = await self._run_handler(items) if items else []
        await self._deliver(events, items, results, dead)
        metrics.BATCH_SECONDS.labels(self.stage).observe(time.monotonic() - started)
        self.last_batch_at = time.time()

    def _parse(self, event: EventT) -> Item[Any] | tuple[str, str]:
        message = event.message
        raw = message.value if isinstance(message.value, bytes) else bytes(message.value or b"")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return f"value is not valid JSON: {exc}", "JSONDecodeError"
        try:
            value = self.input_spec.value_model.model_validate(data)
        except ValidationError as exc:
            return f"value breaks the {self.input_spec.name} contract: {_short(exc)}", (
                "ValidationError"
            )
        key = message.key if isinstance(message.key, bytes) or message.key is None else None
        return Item(value, key, message.topic, message.partition, message.offset, raw)

    async def _run_handler(self, items: list[Item[Any]]) -> list[Result]:
        backoff = 0.5
        while True:
            try:
                results = await self.handler(items)
                if len(results) != len(items):
                    raise RuntimeError("handler returned a result count unlike its input")
                return results
            except TemporaryFailure as exc:
                metrics.RETRIES.labels(self.stage).inc()
                log.warning(
                    "temporary failure, retrying the batch",
                    extra={"stage": self.stage, "error": str(exc), "backoff_s": backoff},
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
            except Exception as error:
                if len(items) == 1:
                    log.exception("message failed", extra={"stage": self.stage})
                    return [
                        Result(
                            article_id=_article_id(items[0]),
                            rejected=str(error) or repr(error),
                            error_type=type(error).__name__,
                        )
                    ]
                # Isolate the poison message: run the items one by one.
                log.warning(
                    "batch failed, retrying item by item",
                    exc_info=True,
                    extra={"stage": self.stage},
                )
                results = []
                for item in items:
                    results.extend(await self._run_handler([item]))
                return results

    async def _deliver(
        self,
        events: Sequence[EventT],
        items: list[Item[Any]],
        results: list[Result],
        dead: list[tuple[EventT, str, str]],
    ) -> None:
        letters: list[tuple[bytes | None, DeadLetterV1]] = []
        for event, reason, error_type in dead:
            m = event.message
            letters.append(
                (
                    m.key if isinstance(m.key, bytes) else None,
                    DeadLetterV1.from_bytes(
                        stage=self.stage,
                        reason=reason,
                        error_type=error_type,
                        topic=m.topic,
                        partition=m.partition,
                        offset=m.offset,
                        key=m.key,
                        value=m.value if isinstance(m.value, bytes) else None,
                    ),
                )
            )
        outputs: list[Output] = []
        # An output over Kafka's size limit could never be delivered: it is bad
        # data (megabytes of article text), dead-lettered like any other.
        results = [_within_message_limit(r) for r in results]
        for item, result in zip(items, results, strict=True):
            if result.rejected is not None:
                letters.append(
                    (
                        item.key,
                        DeadLetterV1.from_bytes(
                            stage=self.stage,
                            reason=result.rejected,
                            error_type=result.error_type or "BadMessage",
                            topic=item.topic,
                            partition=item.partition,
                            offset=item.offset,
                            key=item.key,
                            value=item.raw,
                        ),
                    )
                )
            else:
                outputs.extend(result.outputs)

        # A dead letter must fit in a Kafka message too: a huge payload keeps its head.
        letters = [(key, _fit_message_limit(letter)) for key, letter in letters]
        self._check_dlq_cap(len(events), len(letters))
        await self._send_all(outputs, letters)

        metrics.MESSAGES_OUT.labels(self.stage).inc(len(outputs))
        for _, letter in letters:
            metrics.FAILURES.labels(self.stage, letter.error_type).inc()
            log.warning(
                "dead-lettered",
                extra={
                    "stage": self.stage,
                    "reason": letter.reason,
                    "article_id": letter.key,
                    "offset": letter.offset,
                },
            )
        if self.status is not None:
            done = [r.article_id for r in results if r.rejected is None and r.article_id]
            details = {
                r.article_id: r.status_detail for r in results if r.article_id and r.status_detail
            }
            await self.status.mark(done, self.done_status, details)
            for r in results:
                if r.rejected is not None and r.article_id:
                    await self.status.fail(r.article_id, self.stage, r.rejected)

    def _check_dlq_cap(self, total: int, failed: int) -> None:
        self._recent.extend([False] * (total - failed) + [True] * failed)
        window = self._recent.maxlen or 1
        if len(self._recent) < window:
            return
        ratio = sum(self._recent) / len(self._recent)
        if ratio > self.settings.dlq_max_ratio:
            reason = (
                f"{ratio:.0%} of the last {window} messages of {self.input_spec.name} "
                f"failed (limit {self.settings.dlq_max_ratio:.0%}); stopping instead of "
                f"draining the topic into the DLQ. Fix the cause and restart."
            )
            self.stopping_for = reason
            log.critical(reason, extra={"stage": self.stage})
            # Exit without acknowledging this batch: its offsets are not
            # committed, so nothing of it is lost when the worker comes back.
            logging.shutdown()
            os._exit(DLQ_LIMIT_EXIT_CODE)

    async def _send_all(
        self, outputs: list[Output], letters: list[tuple[bytes | None, DeadLetterV1]]
    ) -> None:
        backoff = 0.5
        while True:
            try:
                futures = []
                for out in outputs:
                    topic = self._topic_for(out)
                    futures.append(await topic.send(key=out.key.encode(), value=out.payload))
                for key, letter in letters:
                    futures.append(
                        await self.dlq_topic.send(key=key, value=letter.model_dump_json().encode())
                    )
                await asyncio.gather(*futures)
                return
            except Exception as exc:  # Kafka unreachable or refusing: retry, never drop
                metrics.RETRIES.labels(self.stage).inc()
                log.warning(
                    "could not deliver outputs, retrying",
                    extra={"stage": self.stage, "error": repr(exc), "backoff_s": backoff},
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    def _topic_for(self, out: Output) -> faust.TopicT:
        if out.topic is None:
            if self.output_topic is None:
                raise RuntimeError(f"stage {self.stage} has no output topic")
            return self.output_topic
        if out.topic not in self._topics:
            self._topics[out.topic] = raw_topic(self.app, out.topic)
        return self._topics[out.topic]


def _within_message_limit(result: Result) -> Result:
    """The result, or a rejection when one of its outputs is over
    MAX_MESSAGE_BYTES once encoded."""
    if result.rejected is not None:
        return result
    for out in result.outputs:
        size = len(out.payload)
        if size > MAX_MESSAGE_BYTES:
            return Result(
                result.article_id,
                rejected=f"output of {size} bytes is over the {MAX_MESSAGE_BYTES}-byte "
                "limit of a Kafka message",
                error_type="OutputTooLarge",
            )
    return result


def _fit_message_limit(letter: DeadLetterV1) -> DeadLetterV1:
    """The dead letter, its payload cut to a head when the whole would be over
    MAX_MESSAGE_BYTES. Its reason then says so and where the whole message is
    (the input topic keeps it until its retention), so it can still be found."""
    full = letter.payload
    if len(letter.model_dump_json()) <= MAX_MESSAGE_BYTES:
        return letter
    keep = MAX_MESSAGE_BYTES // 2
    while True:
        head = full[:keep]
        if letter.payload_encoding == "base64":
            head = head[: len(head) // 4 * 4]  # stay decodable
        note = (
            f"{PAYLOAD_CUT_MARK} to its first {len(head)} of {len(full)} characters to fit "
            f"a Kafka message; the whole message is {letter.topic}[{letter.partition}]"
            f"@{letter.offset}]"
        )
        cut = letter.model_copy(update={"payload": head, "reason": f"{letter.reason} {note}"})
        if len(cut.model_dump_json()) <= MAX_MESSAGE_BYTES:
            return cut
        keep //= 2  # characters that JSON escapes (controls, quotes) take more room


def _short(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def _article_id(item: Item[Any]) -> str | None:
    return getattr(item.value, "article_id", None)
