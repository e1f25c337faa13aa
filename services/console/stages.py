"""Operating Newsflow: see inside (``status``), re-run a stage (``replay``),
rebuild the search index (``reindex``) and deal with dead letters (``dlq``).

Each module keeps its decisions in pure functions (what the lag is, which
offsets a replay commits, what a table looks like) apart from the calls to
Kafka, Elasticsearch and Redis, so that the logic is unit-tested without
servers and the I/O is exercised against the real ones (tests/faults).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.topics import (
    CLEAN,
    ENRICHED,
    GROUPED,
    INDEXED,
    MATCHED,
    MERGED,
    RAW,
    TopicSpec,
)
from shared.runtime.stage import group_name


@dataclass(frozen=True)
class StageSpec:
    """A stream stage as an operator sees it: its consumer group and the
    topic it reads (whose ``.dlq`` holds its dead letters)."""

    name: str
    input: TopicSpec

    def group(self, namespace: str) -> str:
        return group_name(namespace, self.name)

    def input_topic(self, namespace: str) -> str:
        return self.input.full_name(namespace)

    def dlq_topic(self, namespace: str) -> str:
        dlq = self.input.full_dlq(namespace)
        if dlq is None:  # every stage input has one in the registry
            raise ValueError(f"{self.input.name} has no DLQ")
        return dlq

    def replay_group(self, namespace: str) -> str:
        """The group that remembers how far `newsflow dlq replay` got."""
        return f"{namespace}newsflow-dlq-replay-{self.name}"


STAGES: dict[str, StageSpec] = {
    "cleaning": StageSpec("cleaning", RAW),
    "entities": StageSpec("entities", CLEAN),
    "stories": StageSpec("stories", ENRICHED),
    "indexer": StageSpec("indexer", GROUPED),
    "relabel": StageSpec("relabel", MERGED),
    "matcher": StageSpec("matcher", INDEXED),
    "webhooks": StageSpec("webhooks", MATCHED),
}
