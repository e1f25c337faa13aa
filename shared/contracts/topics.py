"""The one registry of Newsflow topics: name, partitions, key, value model, DLQ.

Everything that creates, produces to or consumes from a topic looks it up
here, so a topic's contract is written down once. ``namespace`` prefixes every
name so that tests (and side-by-side deployments) never share topics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from shared.contracts.models import (
    CleanArticleV1,
    DeadLetterV1,
    EnrichedArticleV1,
    GroupedArticleV1,
    IndexedArticleV1,
    IndexedArticleV2,
    MergeV1,
    RawArticleV1,
    SubscriptionMatchV1,
)

DEFAULT_PARTITIONS = 6


@dataclass(frozen=True)
class TopicSpec:
    """A topic's contract. ``name`` is the logical name; ``full_name``
    applies a namespace."""

    name: str
    value_model: type[BaseModel]
    description: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    key: str = "article_id"
    partitions: int = DEFAULT_PARTITIONS
    dlq: str | None = None
    config: dict[str, str] = field(default_factory=dict)

    def full_name(self, namespace: str = "") -> str:
        return f"{namespace}{self.name}"

    def full_dlq(self, namespace: str = "") -> str | None:
        return f"{namespace}{self.dlq}" if self.dlq else None


# Dead letters are kept a month: long enough to fix a cause and replay.
_DLQ_CONFIG = {"retention.ms": str(30 * 24 * 3600 * 1000)}

RAW = TopicSpec(
    name="articles.raw",
    value_model=RawArticleV1,
    description="Articles as received (HTML or scraped text) with metadata hints.",
    producers=("ingestion",),
    consumers=("cleaning",),
    dlq="articles.raw.dlq",
)
CLEAN = TopicSpec(
    name="articles.clean",
    value_model=CleanArticleV1,
    description="The article body alone, boilerplate removed, with metadata.",
    producers=("cleaning",),
    consumers=("entities",),
    dlq="articles.clean.dlq",
)
ENRICHED = TopicSpec(
    name="articles.enriched",
    value_model=EnrichedArticleV1,
    description="Clean articles with their named entities; the stories stage's input.",
    producers=("entities",),
    consumers=("stories",),
    dlq="articles.enriched.dlq",
)
GROUPED = TopicSpec(
    name="articles.grouped",
    value_model=GroupedArticleV1,
    description="Enriched articles placed in their story (story_id, duplicate_of, copies); "
    "the indexer's input.",
    producers=("stories",),
    consumers=("indexer",),
    dlq="articles.grouped.dlq",
)
INDEXED = TopicSpec(
    name="articles.indexed",
    value_model=IndexedArticleV1,
    description="One notice per article made searchable, for subscribers.",
    producers=("indexer",),
    consumers=("matcher",),
    dlq="articles.indexed.dlq",
)
INDEXED_V2 = TopicSpec(
    name="articles.indexed.v2",
    value_model=IndexedArticleV2,
    description="One notice per article made searchable, with its story and entity ids "
    "(v2 of articles.indexed; the indexer publishes both).",
    producers=("indexer",),
    consumers=("subscribers",),
)
MERGED = TopicSpec(
    name="identities.merged",
    value_model=MergeV1,
    description="A story or an entity merged into another: articles labelled old_id now "
    "belong to new_id. One partition, so merges apply in the order they were made.",
    producers=("stories", "entities"),
    consumers=("relabel",),
    key="old_id",
    partitions=1,
    dlq="identities.merged.dlq",
    # Kept for ever: an article replayed from a DLQ weeks later, or a consumer
    # rebuilding its ids, must still find every merge (one small record each).
    config={"retention.ms": "-1"},
)
RAW_DLQ = TopicSpec(
    name="articles.raw.dlq",
    value_model=DeadLetterV1,
    description="Messages of articles.raw the cleaning stage could not process.",
    producers=("cleaning",),
    consumers=("operators",),
    config=_DLQ_CONFIG,
)
CLEAN_DLQ = TopicSpec(
    name="articles.clean.dlq",
    value_model=DeadLetterV1,
    description="Messages of articles.clean the entities stage could not process.",
    producers=("entities",),
    consumers=("operators",),
    config=_DLQ_CONFIG,
)
ENRICHED_DLQ = TopicSpec(
    name="articles.enriched.dlq",
    value_model=DeadLetterV1,
    description="Messages of articles.enriched the stories stage could not process.",
    producers=("stories",),
    consumers=("operators",),
    config=_DLQ_CONFIG,
)

GROUPED_DLQ = TopicSpec(
    name="articles.grouped.dlq",
    value_model=DeadLetterV1,
    description="Messages of articles.grouped the indexer could not process.",
    producers=("indexer",),
    consumers=("operators",),
    config=_DLQ_CONFIG,
)
MERGED_DLQ = TopicSpec(
    name="identities.merged.dlq",
    value_model=DeadLetterV1,
    description="Merges the relabel stage could not apply.",
    producers=("relabel",),
    consumers=("operators",),
    key="old_id",
    partitions=1,
    config=_DLQ_CONFIG,
)
INDEXED_DLQ = TopicSpec(
    name="articles.indexed.dlq",
    value_model=DeadLetterV1,
    description="Messages of articles.indexed the subscription matcher could not process.",
    producers=("matcher",),
    consumers=("operators",),
    config=_DLQ_CONFIG,
)
MATCHED = TopicSpec(
    name="subscriptions.matched",
    value_model=SubscriptionMatchV1,
    description="One record per new article matching a subscription (a saved search), "
    "at most once per subscription and article; webhooks and Atom feeds are fed from it.",
    producers=("matcher",),
    consumers=("webhooks",),
    key="subscription_id",
    dlq="subscriptions.matched.dlq",
)
MATCHED_DLQ = TopicSpec(
    name="subscriptions.matched.dlq",
    value_model=DeadLetterV1,
    description="Matches the webhook worker could not deliver (after its last try, or "
    "undecodable), with the reason.",
    producers=("webhooks",),
    consumers=("operators",),
    key="subscription_id",
    config=_DLQ_CONFIG,
)

TOPICS: tuple[TopicSpec, ...] = (
    RAW,
    CLEAN,
    ENRICHED,
    GROUPED,
    INDEXED,
    INDEXED_V2,
    MERGED,
    RAW_DLQ,
    CLEAN_DLQ,
    ENRICHED_DLQ,
    GROUPED_DLQ,
    MERGED_DLQ,
    INDEXED_DLQ,
    MATCHED,
    MATCHED_DLQ,
)
BY_NAME: dict[str, TopicSpec] = {t.name: t for t in TOPICS}
