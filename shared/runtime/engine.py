"""The rules every stream stage follows, in one place, free of any Kafka
client so that they run the same in a Faust worker and in a unit test.

* Bad data (undecodable, invalid against the contract, or refused by the
  stage's logic) goes to the stage's dead-letter topic with the reason and the
  original bytes, and the stream moves on. It is never retried.
* A temporary failure (:class:`TemporaryFailure` from the handler, a broker
  error on delivery) is retried with the :class:`RetryPolicy`. Nothing of a
  batch is acknowledged before its outputs and dead letters are delivered.
* An unexpected error in the handler is retried item by item to find the
  poison message, which alone goes to the DLQ; it counts as systemic.
* The :class:`DlqPolicy` watches systemic failures per partition and raises
  before anything of the batch is delivered.
* An unexpected error while delivering is a bug: it is raised, never retried.
* Outputs of the batch itself (:class:`BatchResult`) go out whatever becomes of
  any one item; the batch's ``after_delivery`` hook runs once everything is
  delivered, before the offsets are committed, and is never run otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from pydantic import ValidationError

from shared.contracts.models import DeadLetterV1, read_message
from shared.runtime import metrics
from shared.runtime.article_status import ArticleStatusStore
from shared.runtime.dead_letters import dead_letter, fit_message_limit, within_message_limit
from shared.runtime.policies import DlqPolicy, RetryPolicy, is_transient
from shared.runtime.stage import (
    BatchHandler,
    BatchResult,
    Item,
    Output,
    Record,
    Result,
    StageDefinition,
    TemporaryFailure,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """A message ready to send."""

    topic: str
    key: bytes | None
    value: bytes


class Producer(Protocol):
    """Sends a batch of messages and returns once the broker has them all."""

    async def send_batch(self, messages: Sequence[Outgoing]) -> None: ...


class StageEngine:
    """Processes batches of records for one stage."""

    def __init__(
        self,
        *,
        stage: StageDefinition,
        namespace: str,
        handler: BatchHandler,
        producer: Producer,
        retry: RetryPolicy,
        dlq: DlqPolicy,
        status: ArticleStatusStore | None = None,
    ) -> None:
        self.stage = stage
        self.handler = handler
        self.producer = producer
        self.retry = retry
        self.dlq = dlq
        self.status = status
        self.output_topic = stage.output.full_name(namespace) if stage.output else None
        self.dlq_topic = stage.dlq_topic(namespace)
        self.last_batch_at: float | None = None

    async def process(self, records: Sequence[Record]) -> None:
        """One batch, start to end: parse, handle, check the DLQ limit, deliver,
        record statuses. Raises DlqLimitExceeded, or an unexpected delivery error."""
        started = time.monotonic()
        name = self.stage.name
        metrics.BATCH_SIZE.labels(name).observe(len(records))
        metrics.MESSAGES_IN.labels(name).inc(len(records))
        parsed = [self._parse(record) for record in records]
        items = [p for p in parsed if isinstance(p, Item)]
        batch = await self._handle(items) if items else BatchResult([])
        handled = iter(batch.results)
        results = [next(handled) if isinstance(p, Item) else p for p in parsed]
        results = [within_message_limit(r) for r in results]
        self._check_dlq_limit(records, results)
        letters = [
            dead_letter(name, record, result)
            for record, result in zip(records, results, strict=True)
            if result.rejected is not None
        ]
        outputs = [out for r in results if r.rejected is None for out in r.outputs]
        outputs += batch.outputs
        await self._deliver(outputs, letters)
        await self._after_delivery(batch.after_delivery)
        self._count(outputs, letters)
        await self._record_status(results)
        metrics.BATCH_SECONDS.labels(name).observe(time.monotonic() - started)
        self.last_batch_at = time.time()

    # ------------------------------------------------------------ steps
    def _parse(self, record: Record) -> Item[Any] | Result:
        try:
            data = orjson.loads(record.value)
        except orjson.JSONDecodeError as exc:
            return _contract_break(record, f"value is not valid JSON: {exc}", "JSONDecodeError")
        try:
            value = read_message(self.stage.input.value_model, data)
        except ValidationError as exc:
            reason = f"value breaks the {self.stage.input.name} contract: {_short(exc)}"
            return _contract_break(record, reason, "ValidationError")
        return Item(value, record.key, record.topic, record.partition, record.offset, record.value)

    async def _handle(self, items: list[Item[Any]]) -> BatchResult:
        """The handler's results, retrying temporary failures; an unexpected
        error is narrowed down to the one item that causes it."""
        try:
            handled = await self.retry.run(
                lambda: self.handler(items),
                retry_on=lambda exc: isinstance(exc, TemporaryFailure),
                on_retry=self._log_retry("temporary failure, retrying the batch"),
            )
        except Exception as error:
            if len(items) > 1:
                log.warning(
                    "batch failed, retrying item by item",
                    exc_info=True,
                    extra={"stage": self.stage.name},
                )
                return _combine([await self._handle([item]) for item in items])
            log.exception("message failed", extra={"stage": self.stage.name})
            failed = Result(
                article_id=getattr(items[0].value, "article_id", None),
                rejected=str(error) or repr(error),
                error_type=type(error).__name__,
                systemic=True,
            )
            return BatchResult([failed])
        batch = handled if isinstance(handled, BatchResult) else BatchResult(handled)
        if len(batch.results) != len(items):
            raise RuntimeError(
                f"stage {self.stage.name}: handler returned {len(batch.results)} results "
                f"for {len(items)} items"
            )
        return batch

    def _check_dlq_limit(self, records: Sequence[Record], results: list[Result]) -> None:
        by_partition: dict[int, list[bool]] = {}
        for record, result in zip(records, results, strict=True):
            failed = result.rejected is not None and result.systemic
            by_partition.setdefault(record.partition, []).append(failed)
        for partition, outcomes in by_partition.items():
            self.dlq.record(partition, outcomes)

    async def _deliver(self, outputs: list[Output], letters: list[DeadLetterV1]) -> None:
        messages = [
            Outgoing(self._topic_for(out), out.key.encode(), out.payload) for out in outputs
        ]
        for letter in letters:
            letter = fit_message_limit(letter)
            key = letter.key.encode() if letter.key is not None else None
            messages.append(Outgoing(self.dlq_topic, key, letter.model_dump_json().encode()))
        if not messages:
            return
        await self.retry.run(
            lambda: self.producer.send_batch(messages),
            retry_on=is_transient,
            on_retry=self._log_retry("could not deliver outputs, retrying"),
        )

    async def _after_delivery(self, hook: Callable[[], Awaitable[None]] | None) -> None:
        """The batch's hook, once its outputs are delivered. A failure is logged,
        not raised: the outputs are out, and the hook's work is redone later
        (see :class:`BatchResult`); failing the batch would only send them again."""
        if hook is None:
            return
        try:
            await hook()
        except Exception:
            log.warning(
                "after-delivery hook failed; a later batch redoes its work",
                exc_info=True,
                extra={"stage": self.stage.name},
            )

    def _topic_for(self, out: Output) -> str:
        if out.topic is not None:
            return out.topic
        if self.output_topic is None:
            raise RuntimeError(f"stage {self.stage.name} has no output topic")
        return self.output_topic

    def _count(self, outputs: list[Output], letters: list[DeadLetterV1]) -> None:
        metrics.MESSAGES_OUT.labels(self.stage.name).inc(len(outputs))
        for letter in letters:
            metrics.FAILURES.labels(self.stage.name, letter.error_type).inc()
            log.warning(
                "dead-lettered",
                extra={
                    "stage": self.stage.name,
                    "reason": letter.reason,
                    "article_id": letter.key,
                    "offset": letter.offset,
                },
            )

    async def _record_status(self, results: list[Result]) -> None:
        if self.status is None or self.stage.done_status is None:
            return
        done = [r.article_id for r in results if r.rejected is None and r.article_id]
        details = {
            r.article_id: r.status_detail for r in results if r.article_id and r.status_detail
        }
        await self.status.mark(done, self.stage.done_status, details)
        for r in results:
            if r.rejected is not None and r.article_id:
                await self.status.fail(r.article_id, self.stage.name, r.rejected)

    def _log_retry(self, message: str) -> Any:
        def on_retry(exc: BaseException, delay: float) -> None:
            metrics.RETRIES.labels(self.stage.name).inc()
            log.warning(
                message, extra={"stage": self.stage.name, "error": repr(exc), "backoff_s": delay}
            )

        return on_retry


def _combine(parts: list[BatchResult]) -> BatchResult:
    """The handler's answers for items taken one by one, as one batch's. Each call
    may repeat the batch outputs of the calls before (an outbox peeked again, its
    messages made again with a new timestamp): an output on a topic and key an
    earlier call already gave is taken as that one, asked again, and sent once.
    Every call's hook runs."""
    outputs: list[Output] = []
    seen: set[tuple[str | None, str]] = set()
    for part in parts:
        outputs += [out for out in part.outputs if (out.topic, out.key) not in seen]
        seen |= {(out.topic, out.key) for out in part.outputs}
    hooks = [part.after_delivery for part in parts if part.after_delivery is not None]

    async def after_delivery() -> None:
        for hook in hooks:
            await hook()

    return BatchResult(
        [r for part in parts for r in part.results],
        outputs,
        after_delivery if hooks else None,
    )


def _contract_break(record: Record, reason: str, error_type: str) -> Result:
    # Our topics are written by our own producers: a message that breaks its
    # contract means a broken producer, so it counts as systemic.
    return Result(article_id=None, rejected=reason, error_type=error_type, systemic=True)


def _short(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
