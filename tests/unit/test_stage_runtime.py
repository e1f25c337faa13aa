"""The stream runtime's rules, driven through the in-memory stream: the same
engine the Faust worker runs, without a broker. Each test feeds records,
runs the stage until its input is consumed, and reads back the outputs, the
dead letters and the committed offsets."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaConnectionError

from shared.contracts.models import DeadLetterV1, RawArticleV1
from shared.contracts.topics import CLEAN, RAW
from shared.runtime.dead_letters import MAX_MESSAGE_BYTES
from shared.runtime.memory import MemoryBroker, MemoryStream, group_offsets, memory_engine
from shared.runtime.policies import DlqLimitExceeded, DlqPolicy, RetryPolicy
from shared.runtime.settings import WorkerSettings
from shared.runtime.stage import (
    BatchHandler,
    BatchResult,
    Item,
    Output,
    Result,
    StageDefinition,
    TemporaryFailure,
    group_name,
)

NS = "unit-"
IN = RAW.full_name(NS)
OUT = CLEAN.full_name(NS)
DLQ = f"{IN}.dlq"
GROUP = group_name(NS, "cleaning")


def _echo_handler(settings: Any) -> BatchHandler:
    """Passes every raw article on as-is (as its own output)."""

    async def handle(items: list[Item[Any]]) -> list[Result]:
        return [
            Result(i.value.article_id, outputs=[Output(i.value.article_id, i.value)]) for i in items
        ]

    return handle


STAGE = StageDefinition(
    name="cleaning",
    input=RAW,
    output=CLEAN,
    done_status="cleaned",
    settings=WorkerSettings,
    make_handler=_echo_handler,
)


def _settings(**over: Any) -> WorkerSettings:
    return WorkerSettings(namespace=NS, **over)


def _raw(text: str = "A story.") -> bytes:
    return (
        RawArticleV1(article_id=uuid.uuid4().hex, source="unit", text=text)
        .model_dump_json()
        .encode()
    )


def _run(
    broker: MemoryBroker, handler: BatchHandler | None = None, batch: int = 10, **over: Any
) -> None:
    engine = memory_engine(STAGE, _settings(**over), broker, handler=handler)
    asyncio.run(MemoryStream(engine, broker, IN, GROUP, batch).run_until_idle())


def _letters(broker: MemoryBroker) -> list[DeadLetterV1]:
    return [DeadLetterV1.model_validate(orjson.loads(r.value)) for r in broker.messages(DLQ)]


def test_good_messages_reach_the_output_and_are_committed() -> None:
    broker = MemoryBroker()
    for _ in range(25):
        broker.produce(IN, b"k", _raw())
    _run(broker)
    assert len(broker.messages(OUT)) == 25
    assert broker.messages(DLQ) == []
    assert group_offsets(broker, GROUP) == {(IN, 0): 25}


def test_undecodable_and_contract_breaking_messages_go_to_the_dlq_with_their_bytes() -> None:
    broker = MemoryBroker()
    broker.produce(IN, b"good", _raw())
    broker.produce(IN, b"junk", b"\xff not json")
    broker.produce(IN, b"shape", b'{"junk": 1}')
    _run(broker)
    letters = {letter.key: letter for letter in _letters(broker)}
    assert set(letters) == {"junk", "shape"}
    assert letters["junk"].error_type == "JSONDecodeError"
    assert letters["junk"].payload_encoding == "base64"  # the original bytes, byte-exact
    assert letters["shape"].error_type == "ValidationError"
    assert "articles.raw contract" in letters["shape"].reason
    assert (letters["shape"].topic, letters["shape"].offset) == (IN, 2)
    assert len(broker.messages(OUT)) == 1


def test_a_poison_message_is_isolated_and_the_rest_of_its_batch_goes_through() -> None:
    broker = MemoryBroker()
    poison = _raw("POISON")
    for _ in range(4):
        broker.produce(IN, b"k", _raw())
    broker.produce(IN, b"p", poison)
    calls: list[int] = []

    async def handler(items: list[Item[Any]]) -> list[Result]:
        calls.append(len(items))
        if any(i.value.text == "POISON" for i in items):
            raise KeyError("a bug that only this article triggers")
        return [
            Result(i.value.article_id, outputs=[Output(i.value.article_id, i.value)]) for i in items
        ]

    _run(broker, handler)
    assert calls[0] == 5 and calls.count(1) == 5  # the batch, then item by item
    (letter,) = _letters(broker)
    assert letter.error_type == "KeyError" and letter.key == "p"
    assert len(broker.messages(OUT)) == 4


def test_a_temporary_failure_is_retried_until_it_passes_and_nothing_is_dead_lettered() -> None:
    broker = MemoryBroker()
    broker.produce(IN, b"k", _raw())
    failures = [TemporaryFailure("Elasticsearch 429")] * 3

    async def handler(items: list[Item[Any]]) -> list[Result]:
        if failures:
            raise failures.pop()
        return [
            Result(i.value.article_id, outputs=[Output(i.value.article_id, i.value)]) for i in items
        ]

    _run(broker, handler)
    assert failures == []
    assert len(broker.messages(OUT)) == 1 and broker.messages(DLQ) == []


def test_a_broker_outage_on_delivery_is_retried_and_loses_nothing() -> None:
    broker = MemoryBroker(fail_sends=[KafkaConnectionError(), OSError("reset")])
    broker.produce(IN, b"k", _raw())
    _run(broker)
    assert broker.send_attempts == 3
    assert len(broker.messages(OUT)) == 1


def test_an_unexpected_delivery_error_is_raised_not_retried_for_ever() -> None:
    broker = MemoryBroker(fail_sends=[TypeError("a bug in the producer code")])
    broker.produce(IN, b"k", _raw())
    with pytest.raises(TypeError):
        _run(broker)
    assert broker.send_attempts == 1
    assert group_offsets(broker, GROUP) == {}  # nothing acknowledged: nothing lost


def test_the_dlq_limit_stops_the_stage_before_it_delivers_or_commits_anything() -> None:
    broker = MemoryBroker()
    for i in range(30):
        broker.produce(IN, f"j{i}".encode(), b'{"junk": true}')
    with pytest.raises(DlqLimitExceeded, match="stopping instead of draining"):
        _run(broker, batch=10, dlq_window=20, dlq_max_ratio=0.5)
    # The first batch (10 junk) filled half the window; the second tripped it.
    assert len(broker.messages(DLQ)) == 10
    assert group_offsets(broker, GROUP) == {(IN, 0): 10}


def test_bad_articles_from_callers_never_stop_the_stage() -> None:
    """Rejections by the stage's own logic are data verdicts, not systemic."""
    broker = MemoryBroker()
    for _ in range(50):
        broker.produce(IN, b"k", _raw())

    async def refuse_all(items: list[Item[Any]]) -> list[Result]:
        return [Result(i.value.article_id, rejected="no article text left") for i in items]

    _run(broker, refuse_all, dlq_window=20, dlq_max_ratio=0.5)
    assert len(broker.messages(DLQ)) == 50


def test_the_dlq_limit_is_per_partition() -> None:
    policy = DlqPolicy(max_ratio=0.5, window=10)
    policy.record(0, [False] * 5 + [True] * 5)
    policy.record(1, [False] * 5 + [True] * 5)  # each partition at its limit, not over
    with pytest.raises(DlqLimitExceeded) as raised:
        policy.record(1, [True])
    assert raised.value.partition == 1
    policy.record(0, [False])  # partition 0 is still fine


def test_retry_delays_double_up_to_one_cap() -> None:
    delays = RetryPolicy(initial_s=0.5, max_s=3.0).delays()
    assert [next(delays) for _ in range(6)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


async def test_a_stop_request_lets_the_batch_in_hand_finish_and_be_committed() -> None:
    """SIGTERM cancels the consuming task; the batch in hand still delivers
    everything and commits, and no further batch is started."""
    broker = MemoryBroker()
    for _ in range(6):
        broker.produce(IN, b"k", _raw())
    started = asyncio.Event()

    async def slow(items: list[Item[Any]]) -> list[Result]:
        started.set()
        await asyncio.sleep(0.2)  # the batch is mid-way when the stop comes
        return [
            Result(i.value.article_id, outputs=[Output(i.value.article_id, i.value)]) for i in items
        ]

    engine = memory_engine(STAGE, _settings(), broker, handler=slow)
    task = asyncio.ensure_future(MemoryStream(engine, broker, IN, GROUP, 3).run_until_idle())
    await started.wait()
    task.cancel()  # SIGTERM
    await asyncio.sleep(0.05)
    task.cancel()  # and again, while the batch is being finished
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(broker.messages(OUT)) == 3  # the whole batch in hand, no more
    assert group_offsets(broker, GROUP) == {(IN, 0): 3}
    # Restarted, the worker picks up exactly where it stopped: nothing twice.
    engine = memory_engine(STAGE, _settings(), broker, handler=_echo_handler(None))
    await MemoryStream(engine, broker, IN, GROUP, 3).run_until_idle()
    assert len(broker.messages(OUT)) == 6


# ------------------------------------------------------------------ batch outputs
SIDE = f"{NS}side"  # the topic of the batch's own outputs (an outbox's merges, say)


class Outbox:
    """A handler with an outbox: each call peeks every entry not yet sent and sends
    it as an output of the batch; the after-delivery hook removes what was sent."""

    def __init__(self, *entries: str) -> None:
        self.entries = list(entries)
        self.hook_calls = 0

    async def __call__(self, items: list[Item[Any]]) -> BatchResult:
        if any(i.value.text == "POISON" for i in items):
            raise KeyError("a bug that only this article triggers")
        peeked = list(self.entries)
        results = [
            Result(i.value.article_id, outputs=[Output(i.value.article_id, i.value)]) for i in items
        ]
        outputs = [Output(e, _merge(e), topic=SIDE) for e in peeked]

        async def sent() -> None:
            self.hook_calls += 1
            for entry in peeked:
                if entry in self.entries:
                    self.entries.remove(entry)

        return BatchResult(results, outputs, sent)


def _merge(entry: str) -> RawArticleV1:
    return RawArticleV1(
        article_id=uuid.uuid5(uuid.NAMESPACE_URL, entry).hex, source="outbox", text=entry
    )


def _side(broker: MemoryBroker) -> list[str]:
    return [r.key.decode() for r in broker.messages(SIDE) if r.key is not None]


def test_batch_outputs_survive_a_rejected_article_and_the_hook_runs_after_delivery() -> None:
    broker = MemoryBroker()
    broker.produce(IN, b"big", _raw("x" * (MAX_MESSAGE_BYTES + 10)))  # output over the limit
    broker.produce(IN, b"ok", _raw())
    outbox = Outbox("m1", "m2")
    _run(broker, outbox)
    (letter,) = _letters(broker)
    assert letter.error_type == "OutputTooLarge" and letter.key == "big"
    assert _side(broker) == ["m1", "m2"]  # not dropped with the article
    assert len(broker.messages(OUT)) == 1
    assert outbox.entries == [] and outbox.hook_calls == 1


def test_the_hook_never_runs_when_delivery_fails_so_a_restart_sends_again() -> None:
    broker = MemoryBroker(fail_sends=[TypeError("a bug in the producer code")])
    broker.produce(IN, b"k", _raw())
    outbox = Outbox("m1")
    with pytest.raises(TypeError):
        _run(broker, outbox)
    assert outbox.entries == ["m1"] and outbox.hook_calls == 0
    assert group_offsets(broker, GROUP) == {}
    _run(broker, outbox)  # the restarted worker
    assert _side(broker) == ["m1"] and outbox.entries == []


def test_the_hook_never_runs_when_the_dlq_limit_stops_the_stage() -> None:
    broker = MemoryBroker()
    for i in range(10):
        broker.produce(IN, f"j{i}".encode(), b'{"junk": true}')
    broker.produce(IN, b"k", _raw())
    outbox = Outbox("m1")
    with pytest.raises(DlqLimitExceeded):
        _run(broker, outbox, batch=11, dlq_window=10, dlq_max_ratio=0.5)
    assert _side(broker) == [] and outbox.entries == ["m1"] and outbox.hook_calls == 0


def test_item_by_item_retry_sends_batch_outputs_once_and_runs_every_hook() -> None:
    broker = MemoryBroker()
    for _ in range(3):
        broker.produce(IN, b"k", _raw())
    broker.produce(IN, b"p", _raw("POISON"))
    outbox = Outbox("m1", "m2")
    _run(broker, outbox)
    assert _side(broker) == ["m1", "m2"]  # each single-item call peeked both
    assert outbox.hook_calls == 3 and outbox.entries == []
    assert [letter.key for letter in _letters(broker)] == ["p"]
    assert len(broker.messages(OUT)) == 3


def test_a_failing_hook_is_logged_and_the_batch_still_commits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = MemoryBroker()
    broker.produce(IN, b"k", _raw())

    async def handler(items: list[Item[Any]]) -> BatchResult:
        async def broken() -> None:
            raise ConnectionError("Redis went away")

        results = [Result(i.value.article_id) for i in items]
        return BatchResult(results, [], broken)

    with caplog.at_level(logging.WARNING):
        _run(broker, handler)
    assert group_offsets(broker, GROUP) == {(IN, 0): 1}
    assert any("after-delivery hook failed" in r.getMessage() for r in caplog.records)
