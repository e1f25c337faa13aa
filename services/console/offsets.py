"""What the broker knows about a consumer group and its topics: members,
committed offsets, first and next offsets of each partition. Thin wrappers
over kafka-python's admin client (3.0 names: ``describe_groups``,
``list_group_offsets``, ``list_partition_offsets``), shared by ``status``,
``replay`` and ``dlq``."""

from __future__ import annotations

from dataclasses import dataclass

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec


@dataclass(frozen=True)
class Member:
    """One consumer of a group, as the coordinator describes it."""

    member_id: str
    host: str
    client_id: str
    partitions: tuple[TopicPartition, ...]


@dataclass(frozen=True)
class GroupInfo:
    group: str
    state: str  # Stable, Empty, PreparingRebalance, ..., Dead (never existed)
    members: tuple[Member, ...]


def ops_admin(bootstrap: list[str], client_id: str = "newsflow-ops") -> KafkaAdminClient:
    """An admin client that gives up quickly: an operator's command should say
    'Kafka is down' in seconds, not wait for the default 30 s timeouts."""
    return KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        request_timeout_ms=10_000,
        bootstrap_timeout_ms=5_000,
    )


def describe_group(admin: KafkaAdminClient, group: str) -> GroupInfo:
    described = admin.describe_groups([group])[group]
    members = []
    for m in described.get("members") or []:
        assignment = m.get("member_assignment") or {}
        parts = (
            tuple(
                TopicPartition(a["topic"], p)
                for a in (assignment.get("assigned_partitions") or [])
                for p in a["partitions"]
            )
            if isinstance(assignment, dict)
            else ()
        )
        members.append(
            Member(
                m.get("member_id", ""),
                str(m.get("client_host", "")).lstrip("/"),
                m.get("client_id", ""),
                parts,
            )
        )
    return GroupInfo(group, described.get("group_state") or "Dead", tuple(members))


def partitions_of(admin: KafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
    """Every partition of these topics (a missing topic has none)."""
    found: list[TopicPartition] = []
    for topic in admin.describe_topics(topics):
        if topic.get("error_code"):
            continue
        found.extend(
            TopicPartition(topic["name"], p["partition_index"]) for p in topic["partitions"]
        )
    return sorted(found)


def log_bounds(
    admin: KafkaAdminClient, tps: list[TopicPartition]
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """(first offset still kept, next offset to be written) of each partition."""
    if not tps:
        return {}, {}
    start = admin.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in tps})
    end = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})
    return ({tp: o.offset for tp, o in start.items()}, {tp: o.offset for tp, o in end.items()})


def committed_offsets(admin: KafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    """The group's committed offsets (empty for a group that never committed)."""
    offsets = admin.list_group_offsets({group: None}).get(group, {})
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
