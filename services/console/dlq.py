"""``newsflow dlq list|show|replay STAGE``: read a stage's dead letters
(``DeadLetterV1`` records in ``<input>.dlq``) and, once their cause is fixed,
put them back on the stage's input.

Replay re-produces each letter's original payload bytes with its original
key onto the input topic, as if the source had sent it again; the stage's
idempotence (``article_id`` keys, ES ``_id``) makes a repeat harmless. How far
it got is the committed offset of the group ``{ns}newsflow-dlq-replay-{stage}``,
so a replay never repeats what an earlier one did, and it reads only up to the
DLQ's end as it was when it started (letters that fail again during the
replay are for the next one).

A letter "fails" the replay when it cannot help to send it: it is not a dead
letter, it belongs to another stage or topic, its payload was cut to fit the
DLQ, or its payload still breaks the input's contract. ``--on-error`` says
what then, explicitly:

* ``stop``: stop there; everything before it is replayed and committed, the
  failing letter is where the next replay starts.
* ``dead-letter``: put it back at the end of the DLQ with the replay's reason
  prepended, and go on (nothing is lost, it waits for the next fix).
* ``drop``: go on without it, after appending a record of it to a JSON Lines
  file (``--drop-log``: the whole letter, where it was, why it was dropped):
  dropped by a decision, on the record, never silently.

A Kafka failure while replaying always stops without committing what was not
confirmed (run it again; at worst a few letters are sent twice, harmlessly).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from services.console.stages import StageSpec
from shared.contracts.models import DeadLetterV1
from shared.runtime.dead_letters import PAYLOAD_CUT_MARK

REPLAY_PREFIX = "replay refused"


class OnError(StrEnum):
    stop = "stop"
    dead_letter = "dead-letter"
    drop = "drop"


class ReplayStopped(Exception):
    """`--on-error stop` met a letter that cannot be replayed (or Kafka failed)."""


# ---------------------------------------------------------------- pure
@dataclass(frozen=True)
class Verdict:
    """What a DLQ record is, and whether sending it again can help."""

    letter: DeadLetterV1 | None
    error: str | None  # None: replay it


def judge(raw: bytes | None, spec: StageSpec, namespace: str) -> Verdict:
    try:
        letter = DeadLetterV1.model_validate_json(raw or b"")
    except ValidationError as exc:
        return Verdict(None, f"not a dead letter: {exc.errors()[0]['msg']}")
    topic = spec.input_topic(namespace)
    if letter.stage != spec.name or letter.topic != topic:
        return Verdict(
            letter,
            f"belongs to stage {letter.stage} / topic {letter.topic}, not {spec.name} / {topic}",
        )
    if PAYLOAD_CUT_MARK in letter.reason:
        return Verdict(
            letter,
            "its payload was cut to fit the DLQ; the whole message is at "
            f"{letter.topic}[{letter.partition}]@{letter.offset}",
        )
    try:
        spec.input.value_model.model_validate_json(letter.payload_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        return Verdict(
            letter, f"payload still breaks the {spec.input.name} contract: {where}: {first['msg']}"
        )
    except ValueError as exc:  # payload not decodable (bad base64)
        return Verdict(letter, f"payload unreadable: {exc}")
    return Verdict(letter, None)


def requeued(letter: DeadLetterV1, error: str, now: datetime) -> DeadLetterV1:
    """The letter to put back at the end of the DLQ: same origin and payload,
    the replay's reason in front of the first failure's (never nested)."""
    original = letter.reason
    if original.startswith(REPLAY_PREFIX) and " | " in original:
        original = original.split(" | ", 1)[1]
    reason = f"{REPLAY_PREFIX} {now:%Y-%m-%dT%H:%M:%SZ}: {error} | {original}"
    return letter.model_copy(update={"reason": reason[:4000], "failed_at": now})


def drop_record(
    raw: bytes | None,
    letter: DeadLetterV1 | None,
    error: str,
    dlq_topic: str,
    partition: int,
    offset: int,
    now: datetime,
) -> dict[str, Any]:
    """One line of the drop log: enough to find, understand and redo it."""
    return {
        "dropped_at": now.isoformat(),
        "dlq_topic": dlq_topic,
        "dlq_partition": partition,
        "dlq_offset": offset,
        "error": error,
        "letter": letter.model_dump(mode="json") if letter else None,
        "raw_base64": None if letter else base64.b64encode(raw or b"").decode("ascii"),
    }


@dataclass
class ReplaySummary:
    read: int = 0
    replayed: int = 0
    requeued: int = 0
    dropped: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    stopped: str | None = None

    def render(self, dry_run: bool) -> str:
        verb = "would be" if dry_run else "were"
        lines = [
            f"{self.read} dead letter(s) read: {self.replayed} {verb} replayed, "
            f"{self.requeued} put back in the DLQ, {self.dropped} dropped"
        ]
        lines += [f"  {n:>5}  {error}" for error, n in self.errors.most_common(10)]
        if self.stopped:
            lines.append(f"stopped: {self.stopped}")
        return "\n".join(lines)


def _head(text: str, size: int) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= size else one_line[: size - 1] + "…"


@dataclass(frozen=True)
class Listed:
    partition: int
    offset: int
    letter: DeadLetterV1 | None
    replayed: bool


def render_list(rows: Sequence[Listed], total: int) -> str:
    by_type = Counter(r.letter.error_type if r.letter else "(not a dead letter)" for r in rows)
    lines = [
        f"{total} dead letter(s); the last {len(rows)}:"
        if total > len(rows)
        else f"{total} dead letter(s):"
    ]
    for r in rows:
        mark = "done" if r.replayed else "    "
        if r.letter is None:
            lines.append(f"  {r.partition}:{r.offset:<7} {mark}  (not a dead letter)")
            continue
        lines.append(
            f"  {r.partition}:{r.offset:<7} {mark}  {r.letter.failed_at:%Y-%m-%d %H:%M}"
            f"  {r.letter.error_type:<18} {r.letter.key or '-':<34} "
            f"{_head(r.letter.reason, 70)}"
        )
    if rows:
        lines.append("by error type: " + ", ".join(f"{t} {n}" for t, n in by_type.most_common()))
    return "\n".join(lines)


def render_letter(partition: int, offset: int, letter: DeadLetterV1, payload_chars: int) -> str:
    payload = (
        letter.payload if letter.payload_encoding == "utf-8" else (f"(base64) {letter.payload}")
    )
    shown = payload[:payload_chars] + (
        f"… ({len(payload)} chars)" if len(payload) > payload_chars else ""
    )
    return "\n".join(
        [
            f"dead letter {partition}:{offset}",
            f"  stage       {letter.stage}",
            f"  failed at   {letter.failed_at.isoformat()}",
            f"  error type  {letter.error_type}",
            f"  reason      {letter.reason}",
            f"  from        {letter.topic}[{letter.partition}]@{letter.offset}",
            f"  key         {letter.key}",
            f"  payload     {shown}",
        ]
    )


# ---------------------------------------------------------------- I/O
def _consumer(servers: list[str], group: str | None) -> Any:
    from kafka import KafkaConsumer

    return KafkaConsumer(
        bootstrap_servers=servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=16_000_000,
        fetch_max_bytes=64_000_000,
        request_timeout_ms=30_000,
        consumer_timeout_ms=1000,
    )


def _partitions(consumer: Any, topic: str) -> list[Any]:
    from kafka import TopicPartition

    parts = consumer.partitions_for_topic(topic)
    if not parts:
        raise ReplayStopped(f"topic {topic} does not exist (run `newsflow topics create`)")
    return [TopicPartition(topic, p) for p in sorted(parts)]


def _read(consumer: Any, tps: Sequence[Any], end: dict[Any, int]) -> Iterable[tuple[Any, Any]]:
    """(partition, record) up to the end offsets given, in offset order per partition."""
    while any(consumer.position(tp) < end[tp] for tp in tps):
        batches = consumer.poll(timeout_ms=1000, max_records=500)
        for tp, records in batches.items():
            for record in records:
                if record.offset < end[tp]:
                    yield tp, record


def list_letters(
    servers: list[str], spec: StageSpec, namespace: str, last: int
) -> tuple[list[Listed], int]:
    """The last `last` letters of each partition, merged by time, and the total kept."""
    from services.console.offsets import committed_offsets, ops_admin

    topic = spec.dlq_topic(namespace)
    admin = ops_admin(servers)
    try:
        replayed = committed_offsets(admin, spec.replay_group(namespace))
    finally:
        admin.close()
    consumer = _consumer(servers, None)
    try:
        tps = _partitions(consumer, topic)
        consumer.assign(tps)
        start, end = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        total = sum(end[tp] - start[tp] for tp in tps)
        for tp in tps:
            consumer.seek(tp, max(start[tp], end[tp] - last))
        rows = []
        for tp, record in _read(consumer, tps, end):
            verdict = judge(record.value, spec, namespace)
            rows.append(
                Listed(
                    tp.partition, record.offset, verdict.letter, record.offset < replayed.get(tp, 0)
                )
            )
    finally:
        consumer.close()
    rows.sort(key=lambda r: (r.letter.failed_at.timestamp() if r.letter else 0, r.offset))
    return rows[-last:], total


def get_letter(
    servers: list[str], spec: StageSpec, namespace: str, partition: int, offset: int
) -> DeadLetterV1:
    from kafka import TopicPartition

    consumer = _consumer(servers, None)
    try:
        tp = TopicPartition(spec.dlq_topic(namespace), partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        for _, record in _read(consumer, [tp], {tp: offset + 1}):
            return DeadLetterV1.model_validate_json(record.value)
    finally:
        consumer.close()
    raise ReplayStopped(f"no dead letter at {partition}:{offset}")


def replay(
    servers: list[str],
    spec: StageSpec,
    namespace: str,
    on_error: OnError,
    drop_log: Path | None,
    dry_run: bool,
    limit: int | None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ReplaySummary:
    """Replay the stage's dead letters not replayed yet (see the module docstring)."""
    from kafka.errors import KafkaError

    from services.console.offsets import describe_group, ops_admin

    group = spec.replay_group(namespace)
    admin = ops_admin(servers)
    try:
        if describe_group(admin, group).members:
            raise ReplayStopped(f"another replay of {spec.name} is running (group {group})")
    finally:
        admin.close()
    if on_error is OnError.drop and drop_log is None:
        raise ReplayStopped("--on-error drop needs --drop-log PATH to record what it drops")
    run = _Replay(servers, spec, namespace, on_error, now, dry_run)
    try:
        if on_error is OnError.drop and drop_log is not None and not dry_run:
            run.log_file = drop_log.open("a", encoding="utf-8")
        run.run(limit)
    except KafkaError as exc:
        raise ReplayStopped(
            f"Kafka failed during the replay ({exc!r}); what was not "
            "confirmed is not committed: run the replay again"
        ) from exc
    finally:
        run.close()
    return run.summary


class _Replay:
    """One `newsflow dlq replay`: reads the DLQ from the replay group's offsets,
    re-sends what is now valid, and deals with the rest as `on_error` says."""

    def __init__(
        self,
        servers: list[str],
        spec: StageSpec,
        namespace: str,
        on_error: OnError,
        now: Callable[[], datetime],
        dry_run: bool,
    ) -> None:
        from kafka import KafkaProducer

        self.spec, self.namespace, self.on_error, self.now = spec, namespace, on_error, now
        self.input_topic = spec.input_topic(namespace)
        self.dlq_topic = spec.dlq_topic(namespace)
        self.consumer = _consumer(servers, spec.replay_group(namespace))
        self.producer = (
            None
            if dry_run
            else KafkaProducer(
                bootstrap_servers=servers,
                acks="all",
                # kafka-python 3.0's idempotent producer fails every later send of a
                # partition once the broker refused one record (tests/cluster).
                enable_idempotence=False,
                compression_type="gzip",
                max_request_size=16_000_000,
                linger_ms=20,
            )
        )
        self.log_file: IO[str] | None = None
        self.summary = ReplaySummary()
        self.done: dict[Any, Any] = {}

    def run(self, limit: int | None) -> None:
        from kafka.structs import OffsetAndMetadata

        tps = _partitions(self.consumer, self.dlq_topic)
        self.consumer.assign(tps)
        end = self.consumer.end_offsets(tps)
        for tp, record in _read(self.consumer, tps, end):
            if limit is not None and self.summary.read >= limit:
                break
            self.summary.read += 1
            if not self._one(tp, record):
                break
            self.done[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
            if self.summary.read % 200 == 0:
                self.commit()
        self.commit()

    def _one(self, tp: Any, record: Any) -> bool:
        """Deal with one dead letter; False when the replay must stop here."""
        verdict = judge(record.value, self.spec, self.namespace)
        if verdict.error is None and verdict.letter is not None:
            if self.producer is not None:
                key = verdict.letter.key.encode() if verdict.letter.key else None
                self.producer.send(self.input_topic, key=key, value=verdict.letter.payload_bytes())
            self.summary.replayed += 1
            return True
        error = verdict.error or "unknown"
        self.summary.errors[error.split(":")[0]] += 1
        if self.on_error is OnError.stop:
            self.summary.stopped = (
                f"{tp.partition}:{record.offset}: {error} (the next replay starts here)"
            )
            return False
        if self.on_error is OnError.dead_letter:
            self._requeue(record, verdict.letter, error)
        else:
            self._drop(tp, record, verdict.letter, error)
        return True

    def _requeue(self, record: Any, letter: DeadLetterV1 | None, error: str) -> None:
        if self.producer is not None:
            value = (
                requeued(letter, error, self.now()).model_dump_json().encode()
                if letter
                else record.value
            )
            self.producer.send(self.dlq_topic, key=record.key, value=value)
        self.summary.requeued += 1

    def _drop(self, tp: Any, record: Any, letter: DeadLetterV1 | None, error: str) -> None:
        if self.log_file is not None:
            entry = drop_record(
                record.value, letter, error, self.dlq_topic, tp.partition, record.offset, self.now()
            )
            self.log_file.write(json.dumps(entry) + "\n")
            self.log_file.flush()
        self.summary.dropped += 1

    def commit(self) -> None:
        if self.producer is not None:
            self.producer.flush(timeout=60)  # raises if Kafka did not confirm
            if self.done:
                self.consumer.commit(dict(self.done))

    def close(self) -> None:
        if self.log_file is not None:
            self.log_file.close()
        if self.producer is not None:
            self.producer.close(timeout=30)
        self.consumer.close()
