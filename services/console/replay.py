"""``newsflow replay STAGE``: run a stage again over messages it already
processed, by moving its consumer group's committed offsets back (to the
beginning of what the topic keeps, or to the first message written at or
after a time). The stage's workers then re-read from there when started.

Safe to repeat: every stage keys its outputs by ``article_id`` and the
indexer writes Elasticsearch documents with ``_id = article_id``, so a
replayed article overwrites its document instead of adding one (subscribers
of ``articles.indexed`` see a second notice, ``result: updated``).

Offsets can only be moved while the group has no members: a running worker
would overwrite them with its own position at its next commit (and the
broker refuses the change anyway). So ``replay`` refuses, naming the
members, until every worker of the stage is stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.console.offsets import GroupInfo
from services.console.stages import StageSpec


class ReplayRefused(Exception):
    """The replay cannot happen as asked (workers running, bad time, ...);
    the message says what to do."""


@dataclass(frozen=True)
class PlanRow:
    """One partition of a replay: where the group is and where it will be."""

    partition: int
    committed: int | None
    target: int
    end: int

    @property
    def again(self) -> int:
        """Messages that will be processed again (negative: skipped)."""
        current = self.end if self.committed is None else self.committed
        return current - self.target


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; without a zone it is taken as UTC (Kafka's clock),
    said explicitly so an operator is never off by their time zone silently."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ReplayRefused(f"not an ISO 8601 time: {text!r} (e.g. 2025-06-01T08:00:00Z)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_idle(info: GroupInfo, stage: str) -> None:
    """Refuse while the stage's group has members, naming them."""
    if info.members:
        who = ", ".join(f"{m.client_id}@{m.host}" for m in info.members)
        raise ReplayRefused(
            f"the {stage} stage has {len(info.members)} running worker(s) in group "
            f"{info.group} ({who}); stop them first (SIGTERM lets each finish its batch, "
            f"e.g. `deploy/local/services.sh stop`), then run the replay again"
        )


def plan(committed: dict[int, int], targets: dict[int, int], ends: dict[int, int]) -> list[PlanRow]:
    """The replay, partition by partition. A target past the log end (no
    message after the time asked) stays at the end: nothing to re-run there."""
    return [
        PlanRow(p, committed.get(p), min(targets[p], ends[p]), ends[p]) for p in sorted(targets)
    ]


def render_plan(rows: Sequence[PlanRow], stage: str, group: str, topic: str) -> str:
    lines = [
        f"replay of {stage}: group {group} on {topic}",
        f"  {'PARTITION':>9}  {'COMMITTED':>9}  {'FROM':>9}  {'END':>9}  {'AGAIN':>7}",
    ]
    for r in rows:
        committed = "-" if r.committed is None else str(r.committed)
        lines.append(f"  {r.partition:>9}  {committed:>9}  {r.target:>9}  {r.end:>9}  {r.again:>7}")
    lines.append(f"  {sum(r.again for r in rows)} message(s) will be processed again")
    return "\n".join(lines)


def prepare(admin: Any, spec: StageSpec, namespace: str, since: datetime | None) -> list[PlanRow]:
    """Check the group is idle and work out the plan (nothing changed yet).
    `since` None means from the beginning of what the topic keeps."""
    from kafka.admin import OffsetTimestamp

    from services.console.offsets import (
        committed_offsets,
        describe_group,
        log_bounds,
        partitions_of,
    )

    check_idle(describe_group(admin, spec.group(namespace)), spec.name)
    topic = spec.input_topic(namespace)
    tps = partitions_of(admin, [topic])
    if not tps:
        raise ReplayRefused(f"topic {topic} does not exist (run `newsflow topics create`)")
    start, end = log_bounds(admin, tps)
    if since is None:
        targets = {tp.partition: start[tp] for tp in tps}
    else:
        stamp = OffsetTimestamp(int(since.timestamp() * 1000))
        found = admin.list_partition_offsets({tp: stamp for tp in tps})
        # No message at or after the time: the broker answers -1; stay at the end.
        targets = {
            tp.partition: (found[tp].offset if found[tp].offset >= 0 else end[tp]) for tp in tps
        }
    committed = {
        tp.partition: o
        for tp, o in committed_offsets(admin, spec.group(namespace)).items()
        if tp.topic == topic
    }
    return plan(committed, targets, {tp.partition: end[tp] for tp in tps})


def apply(admin: Any, spec: StageSpec, namespace: str, rows: Sequence[PlanRow]) -> None:
    """Commit the planned offsets. The broker refuses the commit if a worker
    joined the group since the check; that is reported, nothing half-done
    matters (run it again once the workers are stopped)."""
    from kafka import TopicPartition
    from kafka.structs import OffsetAndMetadata

    from services.console.offsets import describe_group

    group, topic = spec.group(namespace), spec.input_topic(namespace)
    check_idle(describe_group(admin, group), spec.name)
    offsets = {
        TopicPartition(topic, r.partition): OffsetAndMetadata(r.target, "", -1) for r in rows
    }
    results = admin.alter_group_offsets(group, offsets)
    failed = {
        tp.partition: err.__name__ for tp, err in results.items() if err.__name__ != "NoError"
    }
    if failed:
        raise ReplayRefused(
            f"the broker refused the new offsets of {group} {failed}: a worker "
            "probably joined meanwhile; stop it and run the replay again"
        )
