"""Message contracts of the Newsflow topics.

These models are the public API for any service that subscribes to a Newsflow
topic. Each carries a ``schema_version``; a change that breaks a subscriber
gets a new version (a new model and a new exported schema), never an in-place
edit. ``make schemas`` exports them as JSON Schema into ``contracts/`` and a
test fails when the committed files are stale.

Request/response models of the HTTP APIs live with their services; these are
only what travels over Kafka.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

ArticleId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{32}$"),
    Field(
        description="Deterministic id: 32 hex chars of SHA-256 over the canonical URL, "
        "else over the normalised text. Also the Kafka key and the Elasticsearch _id."
    ),
]
LanguageCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2,3}$"),
    Field(description="ISO 639-1 (or 639-3) code, lower case."),
]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
StoryId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{32}$"),
    Field(
        description="Id of a story (articles reporting one event): 32 hex chars, derived "
        "from the article that founded it. Never reused; a merged story's id redirects."
    ),
]
EntityId = Annotated[
    str,
    StringConstraints(pattern=r"^(Q\d+|ent_[0-9a-f]{16})$"),
    Field(
        description="Id of an entity across articles: a Wikidata id for countries and "
        "territories, else 'ent_' + 16 hex."
    ),
]

Stage = Literal[
    "ingestion", "cleaning", "entities", "stories", "indexer", "relabel", "matcher", "webhooks"
]
EntityGroup = Literal["people", "organisations", "places", "groups", "events", "dates", "other"]


C = TypeVar("C", bound=BaseModel)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    """Base of every topic message: strict about unknown fields so that a
    producer's typo is caught at the producer, not by a puzzled subscriber."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


def read_message(model: type[C], data: object) -> C:
    """A message as a consumer reads it: tolerant of fields it does not know,
    so that a producer may add an optional field within a version without
    breaking consumers still running the older code (a rolling upgrade)."""
    return model.model_validate(data, extra="ignore")


# ---------------------------------------------------------------- articles.raw
class RawArticleV1(Contract):
    """An article as received, before any cleaning (topic ``articles.raw``).

    Exactly what a source gave us: an HTML page or text already scraped, with
    whatever metadata the source offered as hints. Produced by ingestion (the
    HTTP API, the bulk importer and the feed poller)."""

    schema_version: Literal[1] = 1
    article_id: ArticleId
    url: AnyHttpUrl | None = None
    source: NonEmpty = Field(max_length=200, description="Who published it, e.g. 'lemonde.fr'.")
    html: str | None = Field(default=None, description="The page as served.")
    text: str | None = Field(default=None, description="Text already scraped from the page.")
    title: str | None = Field(default=None, max_length=2000, description="Title hint.")
    author: str | None = Field(default=None, max_length=2000, description="Author hint.")
    published_at: datetime | None = Field(default=None, description="Publication time hint.")
    language: LanguageCode | None = Field(default=None, description="Language hint.")
    received_at: datetime = Field(default_factory=utc_now)
    reprocess: bool = Field(
        default=False, description="Set when the caller asked to process a known article again."
    )

    @model_validator(mode="after")
    def _has_content(self) -> RawArticleV1:
        if not (self.html and self.html.strip()) and not (self.text and self.text.strip()):
            raise ValueError("one of 'html' or 'text' must be given and non-empty")
        return self


# ---------------------------------------------------------------- articles.clean
class CleanArticleV1(Contract):
    """The article alone, boilerplate removed, with its metadata (topic
    ``articles.clean``). Produced by the cleaning stage."""

    schema_version: Literal[1] = 1
    article_id: ArticleId
    url: AnyHttpUrl | None = None
    source: NonEmpty
    title: str | None = None
    text: str = Field(min_length=1, description="Body; paragraphs separated by a blank line.")
    authors: list[str] = Field(default_factory=list)
    published_at: datetime | None = None
    language: LanguageCode | None = None
    site_name: str | None = Field(
        default=None, description="What the site calls itself (og:site_name), else its domain."
    )
    site_domain: str | None = Field(
        default=None,
        max_length=253,
        description="Registrable domain of the article's URL, e.g. 'nj.com': the stable "
        "identity of its site. Added within v1 (optional; readers ignore unknown fields).",
    )
    credit: list[str] = Field(
        default_factory=list,
        description="Agencies credited, e.g. ['AFP'] for 'The world with AFP'.",
    )
    related: list[str] = Field(
        default_factory=list,
        description="Headlines of other stories the page inlined in the article ('Read also' "
        "teasers): kept out of the body; the entities stage reads them too.",
    )
    word_count: int = Field(ge=0)
    fingerprint: str = Field(
        pattern=r"^[0-9a-f]{16}$", description="64-bit SimHash of the body, for near-duplicates."
    )
    input_format: Literal["html", "text"]
    received_at: datetime
    cleaned_at: datetime = Field(default_factory=utc_now)


# ---------------------------------------------------------------- articles.enriched
class EntityV1(Contract):
    """A named entity of one article, its mentions merged."""

    canonical: NonEmpty = Field(
        description="Display name: the registry's name of the entity, else as resolved "
        "inside the article."
    )
    id: EntityId | None = Field(
        default=None,
        description="The entity across articles (see EntityId). Added within v1 (optional).",
    )
    external_id: str | None = Field(
        default=None, description="Wikidata id when known. Added within v1 (optional)."
    )
    label: NonEmpty = Field(description="spaCy label, e.g. PERSON, ORG, GPE.")
    group: EntityGroup
    count: int = Field(ge=1)
    surface_forms: list[str] = Field(default_factory=list)
    offsets: list[tuple[int, int]] = Field(
        default_factory=list,
        description="[start, end) character offsets of its mentions in the body text; "
        "mentions in the related headlines count in `count` but have no offsets.",
    )


class EnrichedArticleV1(CleanArticleV1):
    """A clean article with its named entities (topic ``articles.enriched``).
    Produced by the entities stage; what the indexer writes to Elasticsearch."""

    entities: list[EntityV1] = Field(default_factory=list)
    ner_model: str = Field(
        description="Model package and version that found the entities; 'none' when no "
        "model read the article (see entities_status)."
    )
    entities_status: str | None = Field(
        default=None,
        pattern=r"^(ok|skipped|no_model:[a-z]{2,3})$",
        description="'ok'; 'no_model:<lang>' for a language without an NER model (no "
        "entities rather than fragments); 'skipped' when the language is unknown. "
        "Added within v1 (optional).",
    )
    enriched_at: datetime = Field(default_factory=utc_now)


# ---------------------------------------------------------------- articles.grouped
class GroupedArticleV1(EnrichedArticleV1):
    """An enriched article placed in its story (topic ``articles.grouped``).
    Produced by the stories stage; what the indexer writes to Elasticsearch."""

    story_id: StoryId
    duplicate_of: ArticleId | None = Field(
        default=None,
        description="The first copy seen of this text (a wire copy or light rewrite); "
        "None when this article is the first or has no copy.",
    )
    copies: int = Field(
        default=1, ge=1, description="Size of its near-duplicate group when it arrived."
    )
    grouped_at: datetime = Field(default_factory=utc_now)


# ---------------------------------------------------------------- identities.merged
class MergeV1(Contract):
    """Two identities turned out to be one (topic ``identities.merged``).

    A story bridged to another by a later article, or an entity found under a
    second name (a lone "Trump" before "Donald Trump"): every article labelled
    ``old_id`` now belongs to ``new_id``. ``new_id`` is the final survivor at the
    time of the merge (chains are already followed). The topic has one
    partition, so merges are applied in the order they were made. The relabel
    stage rewrites indexed articles; any subscriber keeping ids should map
    ``old_id`` to ``new_id`` too."""

    schema_version: Literal[1] = 1
    kind: Literal["story", "entity"]
    old_id: str = Field(min_length=1, max_length=64)
    new_id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(
        default=None, max_length=300, description="Display name of the survivor."
    )
    merged_at: datetime = Field(default_factory=utc_now)

    @model_validator(mode="after")
    def _ids_of_kind(self) -> MergeV1:
        pattern = r"^[0-9a-f]{32}$" if self.kind == "story" else r"^(Q\d+|ent_[0-9a-f]{16})$"
        for value in (self.old_id, self.new_id):
            if not re.fullmatch(pattern, value):
                raise ValueError(f"{value!r} is not a {self.kind} id")
        if self.old_id == self.new_id:
            raise ValueError("old_id and new_id must differ")
        return self


# ---------------------------------------------------------------- articles.indexed
class IndexedArticleV1(Contract):
    """Notice that an article is searchable (topic ``articles.indexed``), for
    subscribers that react to new articles (alerts, exports)."""

    schema_version: Literal[1] = 1
    article_id: ArticleId
    index: str = Field(description="Concrete index the document is in, e.g. 'articles-v1'.")
    result: Literal["created", "updated"]
    title: str | None = None
    source: str
    published_at: datetime | None = None
    received_at: datetime
    indexed_at: datetime = Field(default_factory=utc_now)


class IndexedArticleV2(Contract):
    """Notice that an article is searchable, with its story and entities (topic
    ``articles.indexed.v2``).

    Compatibility: the indexer publishes every notice twice, as v1 on
    ``articles.indexed`` (unchanged, so v1 consumers keep working) and as v2
    here. v2 adds ``story_id``, ``duplicate_of``, ``copies``, ``entity_ids``,
    ``url`` and ``language``; a consumer moves to v2 by switching topics."""

    schema_version: Literal[2] = 2
    article_id: ArticleId
    index: str = Field(description="Concrete index the document is in.")
    result: Literal["created", "updated"]
    title: str | None = None
    url: AnyHttpUrl | None = None
    source: str
    language: LanguageCode | None = None
    published_at: datetime | None = None
    story_id: StoryId | None = Field(
        default=None, description="Its story (None for an article indexed without one)."
    )
    duplicate_of: ArticleId | None = None
    copies: int = Field(default=1, ge=1)
    entity_ids: list[EntityId] = Field(default_factory=list)
    received_at: datetime
    indexed_at: datetime = Field(default_factory=utc_now)


# ---------------------------------------------------------------- dead letters
class DeadLetterV1(Contract):
    """A message a stage could not process (topics ``<input>.dlq``).

    Carries the original bytes untouched, so that the message can be replayed
    once the cause is fixed, and where it came from, so it can be found again."""

    schema_version: Literal[1] = 1
    stage: Stage
    reason: NonEmpty = Field(description="Why it failed, for a person to read.")
    error_type: NonEmpty = Field(description="Class of the error, e.g. 'ValidationError'.")
    topic: NonEmpty
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    key: str | None = None
    payload_encoding: Literal["utf-8", "base64"]
    payload: str = Field(description="The original message value, as text or base64.")
    failed_at: datetime = Field(default_factory=utc_now)

    @classmethod
    def from_bytes(
        cls,
        *,
        stage: Stage,
        reason: str,
        error_type: str,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | str | None,
        value: bytes | None,
    ) -> DeadLetterV1:
        """Build a dead letter keeping the value byte-exact: text when it is
        valid UTF-8, base64 otherwise."""
        raw = value or b""
        try:
            payload, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            payload, encoding = base64.b64encode(raw).decode("ascii"), "base64"
        if isinstance(key, bytes):
            key = key.decode("utf-8", errors="replace")
        return cls(
            stage=stage,
            reason=reason[:4000] or "unknown",
            error_type=error_type or "Exception",
            topic=topic,
            partition=partition,
            offset=offset,
            key=key,
            payload_encoding=encoding,
            payload=payload,
        )

    def payload_bytes(self) -> bytes:
        if self.payload_encoding == "base64":
            return base64.b64decode(self.payload)
        return self.payload.encode("utf-8")


# ---------------------------------------------------------------- subscriptions.matched
SubscriptionId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{16}$"),
    Field(description="Id of a subscription (a saved search); the Kafka key of its matches."),
]


class SubscriptionMatchV1(Contract):
    """A new article matched a subscription (topic ``subscriptions.matched``).

    Produced by the matcher at most once per subscription and article,
    whatever replays or restarts happen; consumed by the webhook delivery
    worker (which also keeps each subscription's Atom feed) and by any
    service that wants to act on matches. Keyed by ``subscription_id``, so
    one subscription's matches are on one partition, in order."""

    schema_version: Literal[1] = 1
    subscription_id: SubscriptionId
    article_id: ArticleId
    title: str | None = None
    url: AnyHttpUrl | None = None
    source: str
    language: LanguageCode | None = None
    published_at: datetime | None = None
    indexed_at: datetime = Field(description="When the indexer made the article searchable.")
    matched_at: datetime = Field(default_factory=utc_now)
