"""Settings: one typed object per service, read once at start-up.

Every value comes from the environment (prefix ``NEWSFLOW_``) or a ``.env``
file, and is validated here: a bad URL or a negative batch size stops the
service at start with a message naming the variable, instead of failing later
in the middle of a stream. Library code never reads the environment; it takes
these objects (or plain values from them) as arguments.
"""

from __future__ import annotations

from functools import cached_property

from pydantic import AnyUrl, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.runtime.ports import PORTS


class CommonSettings(BaseSettings):
    """What every Newsflow process needs: where the servers are, and the
    namespace that keeps one deployment's topics, indices and keys apart.

    The base of every service's settings. A service's class sets only its
    own variable prefix (pydantic merges ``model_config`` down the classes):
    ``model_config = SettingsConfigDict(env_prefix="NEWSFLOW_CLEANING_")``.
    """

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
    # Durability on a cluster (docs/deploy.md). The single-node stack keeps 1 / 1 / 0;
    # the three-node profile (deploy/local/cluster.sh) uses 3 / 2 / 1: a record is
    # acknowledged once two nodes hold it, so one node may die without losing or
    # refusing anything, and every index shard has a copy on a second node.
    topic_replication_factor: int = Field(
        default=1, ge=1, le=32, validation_alias="NEWSFLOW_TOPIC_REPLICATION_FACTOR"
    )
    topic_min_insync_replicas: int = Field(
        default=1, ge=1, le=32, validation_alias="NEWSFLOW_TOPIC_MIN_INSYNC_REPLICAS"
    )
    index_replicas: int = Field(default=0, ge=0, le=8, validation_alias="NEWSFLOW_INDEX_REPLICAS")

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> CommonSettings:
        # More in-sync replicas required than exist would refuse every write.
        if self.topic_min_insync_replicas > self.topic_replication_factor:
            raise ValueError(
                "NEWSFLOW_TOPIC_MIN_INSYNC_REPLICAS must not exceed "
                "NEWSFLOW_TOPIC_REPLICATION_FACTOR"
            )
        return self

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
        description="Port of the worker's health/metrics web server; each stage's default "
        "comes from shared.runtime.ports. Several workers of a stage on one host each need "
        "their own (`newsflow worker STAGE --web-port N`).",
    )
    web_bind: str = Field(
        default="127.0.0.1",
        description="Address of the worker's web server. Loopback by default: it has no "
        "authentication. In a container, 0.0.0.0 lets probes and scrapers reach it.",
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
    # Temporary failures (a dependency down or overloaded) are retried with
    # exponential backoff from retry_initial_backoff_s up to this cap, for as
    # long as it takes: the failure is the dependency's, not the message's.
    retry_initial_backoff_s: float = Field(default=0.5, gt=0, le=60)
    retry_max_backoff_s: float = Field(default=30.0, gt=0, le=3600)


class SearchSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_SEARCH_")
    host: str = "127.0.0.1"
    port: int = Field(default=PORTS["search"], ge=1, le=65535)
    cache_ttl_s: float = Field(
        default=5.0, ge=0, le=300, description="Upper bound on the age of a cached search result."
    )
    names_ttl_s: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="How long a search process keeps an entity id's display name before "
        "asking the registry again (0: every search asks).",
    )
    max_page_size: int = Field(default=100, ge=1, le=1000)
    max_query_chars: int = Field(default=500, ge=1)
    # Cost bounds (issue 11). Fuzzy (word~) and prefix (word*) words expand into
    # many terms each; more than this many in one query are refused (422).
    max_expanding_terms: int = Field(default=5, ge=0, le=50)
    # Per-shard time budget of a search (what was found by then is answered,
    # flagged `timed_out`), and the client's wait for any Elasticsearch answer.
    es_search_timeout_s: float = Field(default=2.0, gt=0, le=60)
    es_request_timeout_s: float = Field(default=5.0, gt=0, le=120)
    # Per-client rate limit on /v1 (Redis, fixed window, keyed by the client
    # address; 0 turns it off). Fails open while Redis is down.
    rate_limit_requests: int = Field(default=600, ge=0)
    rate_limit_window_s: int = Field(default=60, ge=1, le=3600)
    # /v1 requests of one client address answered at once by one process (0: no cap).
    max_concurrent_per_client: int = Field(default=4, ge=0)
    # Points in time (cursor paging) open at once, per deployment (Redis) and per
    # process; past it, cursor pages read the live index.
    max_open_pits: int = Field(default=100, ge=0, le=10_000)
