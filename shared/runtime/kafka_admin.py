"""Topic administration with kafka-python's admin client: creating the
registry's topics (idempotently) and describing what the broker has."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from shared.contracts.topics import TOPICS, TopicSpec


@dataclass(frozen=True)
class TopicState:
    name: str
    partitions: int
    created: bool


def admin_client(bootstrap: list[str], client_id: str = "newsflow-admin") -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id=client_id, request_timeout_ms=30_000
    )


def create_topics(
    admin: KafkaAdminClient,
    namespace: str = "",
    specs: Iterable[TopicSpec] = TOPICS,
    replication_factor: int = 1,
) -> list[TopicState]:
    """Create every topic of the registry that the broker lacks. Topics that
    exist are left as they are (their partition count is reported, not
    changed), so running it twice is harmless."""
    specs = list(specs)
    existing = set(admin.list_topics())
    wanted = [s for s in specs if s.full_name(namespace) not in existing]
    created: set[str] = set()
    for spec in wanted:
        topic = NewTopic(
            name=spec.full_name(namespace),
            num_partitions=spec.partitions,
            replication_factor=replication_factor,
            topic_configs=dict(spec.config),
        )
        try:
            admin.create_topics([topic])
            created.add(topic.name)
        except TopicAlreadyExistsError:  # another process created it meanwhile
            pass
    counts = partition_counts(admin, [s.full_name(namespace) for s in specs])
    return [
        TopicState(
            s.full_name(namespace),
            counts.get(s.full_name(namespace), 0),
            s.full_name(namespace) in created,
        )
        for s in specs
    ]


def partition_counts(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    described = admin.describe_topics(names)
    return {d["name"]: len(d["partitions"]) for d in described if not d.get("error_code")}


def delete_namespace(admin: KafkaAdminClient, namespace: str) -> None:
    """Delete every topic of a namespace (tests clean up with this)."""
    if not namespace:
        raise ValueError("refusing to delete the topics of the empty (production) namespace")
    names = [t for t in admin.list_topics() if t.startswith(namespace)]
    if names:
        admin.delete_topics(names)
