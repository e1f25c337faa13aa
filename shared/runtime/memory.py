"""An in-memory broker and stream that drive a stage's engine without Kafka.

Unit tests run the very code the Faust worker runs (:class:`StageEngine`,
:func:`finish_despite_cancel`) on records they put in memory, and read back
what the stage produced, dead-lettered and committed:

    broker = MemoryBroker()
    broker.produce("articles.raw", key=b"a1", value=b"{...}")
    engine = memory_engine(CLEANING, settings, broker, handler=...)
    await MemoryStream(engine, broker, "articles.raw", group="g").run_until_idle()
    broker.messages("articles.raw.dlq")

The broker can be told to fail the next sends, as a broker that is down does.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.runtime.batches import finish_despite_cancel
from shared.runtime.engine import Outgoing, StageEngine
from shared.runtime.policies import DlqPolicy, RetryPolicy
from shared.runtime.settings import WorkerSettings
from shared.runtime.stage import BatchHandler, Record, StageDefinition


@dataclass
class MemoryBroker:
    """Topics as lists of records (one partition unless told otherwise),
    committed offsets per group, and failures to inject into sends."""

    partitions: int = 1
    topics: dict[str, list[list[Record]]] = field(default_factory=dict)
    committed: dict[tuple[str, str, int], int] = field(default_factory=dict)
    fail_sends: list[Exception] = field(default_factory=list)
    send_attempts: int = 0

    def _topic(self, name: str) -> list[list[Record]]:
        return self.topics.setdefault(name, [[] for _ in range(self.partitions)])

    def produce(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> Record:
        parts = self._topic(topic)
        p = partition if partition is not None else (hash(key) % self.partitions if key else 0)
        record = Record(topic, p, len(parts[p]), key, value)
        parts[p].append(record)
        return record

    def messages(self, topic: str) -> list[Record]:
        return [r for part in self._topic(topic) for r in part]

    async def send_batch(self, messages: Sequence[Outgoing]) -> None:
        """The Producer protocol: all or nothing, like a batch that failed."""
        self.send_attempts += 1
        if self.fail_sends:
            raise self.fail_sends.pop(0)
        for m in messages:
            self.produce(m.topic, m.key, m.value)

    def uncommitted(self, group: str, topic: str, limit: int) -> list[Record]:
        """The next records of `group` on `topic`, at most `limit`."""
        batch: list[Record] = []
        for p, part in enumerate(self._topic(topic)):
            start = self.committed.get((group, topic, p), 0)
            batch.extend(part[start : start + limit - len(batch)])
            if len(batch) >= limit:
                break
        return batch

    def commit(self, group: str, records: Sequence[Record]) -> None:
        for r in records:
            key = (group, r.topic, r.partition)
            self.committed[key] = max(self.committed.get(key, 0), r.offset + 1)


class MemoryStream:
    """Feeds a stage's engine batch by batch, committing after each, the way
    the Faust worker does; a cancellation (the test's SIGTERM) lets the batch
    in hand finish and be committed, and starts no other."""

    def __init__(
        self, engine: StageEngine, broker: MemoryBroker, topic: str, group: str, batch_size: int
    ) -> None:
        self.engine = engine
        self.broker = broker
        self.topic = topic
        self.group = group
        self.batch_size = batch_size

    async def run_until_idle(self) -> None:
        while batch := self.broker.uncommitted(self.group, self.topic, self.batch_size):
            try:
                await finish_despite_cancel(self.engine.process(batch), self.engine.stage.name)
            except asyncio.CancelledError:
                self.broker.commit(self.group, batch)
                raise
            self.broker.commit(self.group, batch)


def memory_engine(
    stage: StageDefinition,
    settings: WorkerSettings,
    broker: MemoryBroker,
    handler: BatchHandler | None = None,
    sleep_scale: float = 0.0,
    **status: Any,
) -> StageEngine:
    """The stage's engine on the in-memory broker. Backoff delays are scaled
    by `sleep_scale` (0: no waiting) so retries are instant in tests."""
    retry = RetryPolicy(
        settings.retry_initial_backoff_s * sleep_scale or 0.0,
        settings.retry_max_backoff_s * sleep_scale or 0.0,
    )
    return StageEngine(
        stage=stage,
        namespace=settings.namespace,
        handler=handler or stage.make_handler(settings),
        producer=broker,
        retry=retry,
        dlq=DlqPolicy(settings.dlq_max_ratio, settings.dlq_window),
        status=status.get("status"),
    )


def group_offsets(broker: MemoryBroker, group: str) -> dict[tuple[str, int], int]:
    """The committed offsets of one group, by (topic, partition)."""
    found: dict[tuple[str, int], int] = defaultdict(int)
    for (g, topic, partition), offset in broker.committed.items():
        if g == group:
            found[(topic, partition)] = offset
    return dict(found)
