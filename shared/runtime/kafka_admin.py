"""Topic administration with kafka-python's admin client: creating the
registry's topics (idempotently) and describing what the broker has."""

from __future__ import annotations

import time
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
    # The fewest replicas any partition has (0: the topic is missing). A topic
    # made before the deployment moved to a cluster keeps its old factor:
    # `create_topics` reports it here rather than changing it.
    replication: int = 0


def admin_client(bootstrap: list[str], client_id: str = "newsflow-admin") -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id=client_id, request_timeout_ms=30_000
    )


def topic_configs(spec: TopicSpec, min_insync_replicas: int = 1) -> dict[str, str]:
    """The configs a topic is created with: its registry entry's, plus
    ``min.insync.replicas`` when more than one copy must hold a record before a
    producer with ``acks=all`` hears it is written. At 1 the broker's default
    applies (the single-node stack sets none)."""
    configs = dict(spec.config)
    if min_insync_replicas > 1:
        configs["min.insync.replicas"] = str(min_insync_replicas)
    return configs


def create_topics(
    admin: KafkaAdminClient,
    namespace: str = "",
    specs: Iterable[TopicSpec] = TOPICS,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
) -> list[TopicState]:
    """Create every topic of the registry that the broker lacks. Topics that
    exist are left as they are (their partition count and replication are
    reported, not changed), so running it twice is harmless.

    On a cluster pass the settings' ``topic_replication_factor`` and
    ``topic_min_insync_replicas`` (3 and 2 in the three-node profile)."""
    if not 1 <= min_insync_replicas <= replication_factor:
        raise ValueError(
            f"min_insync_replicas={min_insync_replicas} must be between 1 and "
            f"replication_factor={replication_factor}: more would refuse every write"
        )
    specs = list(specs)
    existing = set(admin.list_topics())
    wanted = [s for s in specs if s.full_name(namespace) not in existing]
    created: set[str] = set()
    for spec in wanted:
        topic = NewTopic(
            name=spec.full_name(namespace),
            num_partitions=spec.partitions,
            replication_factor=replication_factor,
            topic_configs=topic_configs(spec, min_insync_replicas),
        )
        try:
            admin.create_topics([topic])
            created.add(topic.name)
        except TopicAlreadyExistsError:  # another process created it meanwhile
            pass
    # The broker answers the create before every node's metadata has the topic
    # and every partition a leader (seconds on a loaded three-node cluster):
    # wait, so that what follows, and the report below, see the topics whole.
    # Each node's metadata cache catches up on its own, hence the second wait.
    admin.wait_for_topics(sorted(created), timeout_ms=30_000)
    names = [s.full_name(namespace) for s in specs]
    described = describe(admin, names)
    deadline = time.monotonic() + 10
    while created - set(described) and time.monotonic() < deadline:
        time.sleep(0.2)
        described = describe(admin, names)
    states = []
    for spec in specs:
        name = spec.full_name(namespace)
        partitions, replication = described.get(name, (0, 0))
        states.append(TopicState(name, partitions, name in created, replication))
    return states


def describe(admin: KafkaAdminClient, names: list[str]) -> dict[str, tuple[int, int]]:
    """{topic: (partitions, fewest replicas of a partition)} of the topics that exist."""
    return {
        d["name"]: (
            len(d["partitions"]),
            min((len(p["replica_nodes"]) for p in d["partitions"]), default=0),
        )
        for d in admin.describe_topics(names)
        if not d.get("error_code")
    }


def partition_counts(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    return {name: parts for name, (parts, _) in describe(admin, names).items()}


def delete_namespace(admin: KafkaAdminClient, namespace: str) -> None:
    """Delete every topic of a namespace (tests clean up with this)."""
    if not namespace:
        raise ValueError("refusing to delete the topics of the empty (production) namespace")
    names = [t for t in admin.list_topics() if t.startswith(namespace)]
    if names:
        admin.delete_topics(names)
