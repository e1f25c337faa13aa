"""What a stream stage is: a small declared thing the runtime runs.

A stage names its input and output topics and gives a handler that turns a
batch of input items into one :class:`Result` per item. The runtime
(:mod:`shared.runtime.engine`, driven by Faust in production and by
:mod:`shared.runtime.memory` in tests) owns Kafka, retries, dead letters,
statuses and commits, so a stage module is its logic plus a definition:

    CLEANING = StageDefinition(
        name="cleaning", input=RAW, output=CLEAN, done_status="cleaned",
        settings=CleaningSettings, make_handler=make_handler,
    )
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.contracts.models import Stage
from shared.contracts.topics import TopicSpec
from shared.runtime.article_status import StageName
from shared.runtime.settings import WorkerSettings

In = TypeVar("In", bound=BaseModel)


def group_name(namespace: str, stage: str) -> str:
    """The Kafka consumer group of a stage: the one place this name is made
    (the Faust app id, ``newsflow status``, replay and the DLQ tools use it)."""
    return f"{namespace}newsflow-{stage}"


class BadMessage(Exception):
    """Raised by a stage's logic for a message that can never be processed
    (no article in it, wrong shape): it goes to the DLQ, never retried."""


class TemporaryFailure(Exception):
    """Raised when a dependency is down or overloaded; the batch is retried
    later with backoff and nothing is acknowledged meanwhile."""


@dataclass(frozen=True)
class Record:
    """One message as read from Kafka, whatever the client library."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


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
    """What became of one input item: outputs, or a rejection reason.

    ``systemic`` marks a failure that says something about the stage rather
    than the message (an unexpected exception, a message breaking its topic's
    contract): only those count against the dead-letter limit, so that bad
    articles sent by callers can never stop a stage."""

    article_id: str | None
    outputs: list[Output] = field(default_factory=list)
    rejected: str | None = None
    error_type: str | None = None
    status_detail: dict[str, Any] = field(default_factory=dict)
    systemic: bool = False


@dataclass
class BatchResult:
    """What a handler returns when the batch itself, not only its items, has
    something to deliver: ``results`` (one per item, as a plain list would be),
    ``outputs`` that belong to the batch (e.g. the merges an outbox holds),
    delivered whatever becomes of any one item, so a rejected or oversized
    article never takes them along, and ``after_delivery``, awaited once every
    output and dead letter of the batch is delivered and before its offsets are
    committed (e.g. to delete the outbox entries just sent).

    ``after_delivery`` must be safe to skip: if it fails, or the process dies
    before it runs, the outputs went out and the hook's work is redone by a
    later batch (an outbox re-sends; consumers of such outputs are idempotent).
    So the engine logs its failure and goes on."""

    results: list[Result]
    outputs: list[Output] = field(default_factory=list)
    after_delivery: Callable[[], Awaitable[None]] | None = None


BatchHandler = Callable[[list[Item[Any]]], Awaitable[list[Result] | BatchResult]]


@dataclass(frozen=True)
class StageDefinition:
    """A stage as the runtime needs it. ``make_handler`` is called once per
    process with the stage's settings (load models, open clients there)."""

    name: Stage
    input: TopicSpec
    output: TopicSpec | None
    # The per-article status recorded when the stage is done with an article;
    # None for stages that are not steps of an article (e.g. the matcher).
    done_status: StageName | None
    settings: type[WorkerSettings]
    make_handler: Callable[[Any], BatchHandler]
    # Other topics the handler writes to (``Output.topic`` = their full name),
    # e.g. the stories stage's merges: checked at start like the output.
    extra_outputs: tuple[TopicSpec, ...] = ()

    def group(self, namespace: str) -> str:
        return group_name(namespace, self.name)

    def topics(self, namespace: str) -> list[str]:
        """Every topic the stage reads or writes (checked at start)."""
        names = [self.input.full_name(namespace), self.dlq_topic(namespace)]
        if self.output is not None:
            names.append(self.output.full_name(namespace))
        names.extend(topic.full_name(namespace) for topic in self.extra_outputs)
        return names

    def dlq_topic(self, namespace: str) -> str:
        dlq = self.input.full_dlq(namespace)
        if dlq is None:
            raise ValueError(f"topic {self.input.name} has no DLQ in the registry")
        return dlq
