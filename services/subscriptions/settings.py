"""Settings of the subscription service: the HTTP routes
(``NEWSFLOW_SUBSCRIPTIONS_*``), the matcher stage (``NEWSFLOW_MATCHER_*``) and
the webhook delivery stage (``NEWSFLOW_WEBHOOKS_*``). The common fields
(Kafka, Elasticsearch, Redis, namespace, batch and retry knobs) come from
:mod:`shared.runtime.settings` under their usual names.

One variable is read by two classes on purpose:
``NEWSFLOW_WEBHOOKS_ALLOWED_NETWORKS`` tells the delivery worker which
internal networks it may connect to, and the API accepts as a literal
webhook address exactly what the worker will be allowed to reach (as the
sources API does with the poller's list).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, AnyHttpUrl, Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared.runtime.addresses import NetworkList
from shared.runtime.ports import PORTS
from shared.runtime.settings import CommonSettings, SearchSettings, WorkerSettings

_ALLOWED_NETWORKS = "NEWSFLOW_WEBHOOKS_ALLOWED_NETWORKS"
_SEARCH = SearchSettings.model_fields


class SubscriptionsSettings(CommonSettings):
    """The /v1/subscriptions routes (mounted by the search API), the Atom
    feeds and the live counts of the search page."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_SUBSCRIPTIONS_")

    # Without its own list, the ingestion keys are the subscription keys: a
    # deployment that has keys for writes has them for subscriptions too.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            "NEWSFLOW_SUBSCRIPTIONS_API_KEYS", "NEWSFLOW_INGESTION_API_KEYS"
        ),
        description="Comma-separated keys accepted in X-API-Key; a subscription belongs to "
        "the key that created it. None: every subscription route answers 401.",
    )
    public_url: AnyHttpUrl | None = Field(
        default=None,
        description="Base URL of the search API as readers reach it, for feed URLs; "
        "default: the URL of the request.",
    )
    # Limits (hostile or careless callers): every subscription is evaluated
    # against every new article, so its size and number are bounded.
    max_per_key: int = Field(default=100, ge=1, le=100_000)
    max_total: int = Field(default=50_000, ge=1)
    max_name_chars: int = Field(default=200, ge=1, le=2000)
    max_query_chars: int = Field(default=500, ge=1, le=5000)
    max_filter_values: int = Field(
        default=20, ge=0, le=200, description="Filter values of one subscription, all facets."
    )
    max_expanding_terms: int = Field(
        default=2, ge=0, le=50, description="Fuzzy (word~) or prefix (word*) words per query."
    )
    max_url_chars: int = Field(default=2000, ge=20, le=8000)
    feed_entries: int = Field(default=50, ge=1, le=500)
    allowed_networks: NetworkList = Field(default=(), validation_alias=_ALLOWED_NETWORKS)
    # The live count of the search page (SSE, no key): how often it asks
    # Elasticsearch, and how much one client and one process may hold open.
    live_poll_s: float = Field(default=5.0, ge=0.05, le=300)
    live_heartbeat_s: float = Field(default=15.0, ge=0.05, le=300)
    live_max_lifetime_s: float = Field(default=900.0, ge=1, le=86_400)
    live_max_per_client: int = Field(default=4, ge=1, le=1000)
    live_max_connections: int = Field(default=200, ge=1, le=100_000)
    live_max_age_s: int = Field(
        default=86_400, ge=60, description="How far back `since` may go (counting costs)."
    )
    # A live count takes every search /v1/search takes (a page may count
    # whatever it can show), so it reads the search's own limits, from the
    # search's variables: one setting, never two that drift apart.
    search_max_query_chars: int = Field(
        default=_SEARCH["max_query_chars"].default,
        ge=1,
        validation_alias="NEWSFLOW_SEARCH_MAX_QUERY_CHARS",
    )
    search_max_expanding_terms: int = Field(
        default=_SEARCH["max_expanding_terms"].default,
        ge=0,
        le=50,
        validation_alias="NEWSFLOW_SEARCH_MAX_EXPANDING_TERMS",
    )
    es_timeout_s: float = Field(default=5.0, gt=0, le=120)

    @classmethod
    def for_search(cls, search: SearchSettings) -> SubscriptionsSettings:
        """The settings of the routes a search app mounts: that app's namespace,
        servers and search limits win over the environment, and the
        ``NEWSFLOW_SUBSCRIPTIONS_*`` variables still apply."""
        # The values themselves, not a dump: a copy made with model_copy(update=…)
        # may hold a plain string where the field's type is a URL.
        common = {name: getattr(search, name) for name in CommonSettings.model_fields}
        return cls(
            **common,
            search_max_query_chars=search.max_query_chars,
            search_max_expanding_terms=search.max_expanding_terms,
        )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value


class MatcherSettings(WorkerSettings):
    """The matcher stage: which subscriptions match which new articles."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_MATCHER_")
    web_port: int = Field(default=PORTS["matcher"], ge=1, le=65535)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    batch_within_s: float = Field(default=0.1, gt=0, le=60)
    # ~100 bytes of Redis per match: 10 matches/s kept 30 days is ~2.6 GB.
    claim_ttl_s: int = Field(
        default=30 * 86_400,
        ge=3600,
        description="How long a (subscription, article) match is remembered; a replay of "
        "articles older than this could deliver them again.",
    )
    reload_interval_s: float = Field(
        default=1.0, ge=0, le=300, description="Shortest pause between two subscription reloads."
    )
    # Documents are written with refresh=false: a search sees them after the
    # index's next refresh (1 s, 0.5 s on average). `refresh` forces a refresh
    # of the index when the batch's candidates are not visible yet (~30 ms on
    # the test machine, one small segment per batch that merges absorb);
    # `wait` polls until they are, and refreshes after `visibility_timeout_s`
    # (less work for Elasticsearch, ~0.5 s more latency). Measured in
    # bench/subscriptions_bench.py.
    visibility: Literal["wait", "refresh"] = "refresh"
    visibility_poll_s: float = Field(default=0.1, gt=0, le=5)
    visibility_timeout_s: float = Field(
        default=3.0, ge=0, le=120, description="Then the index is refreshed explicitly."
    )
    verify_chunk: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="Distinct queries per combined (named-queries) search.",
    )
    verify_concurrency: int = Field(
        default=2,
        ge=1,
        le=32,
        description="Searches of one batch Elasticsearch runs at once (max_concurrent_searches).",
    )
    es_timeout_s: float = Field(default=30.0, gt=0, le=300)


class WebhooksSettings(WorkerSettings):
    """The delivery stage: webhooks (with retries) and the Atom feeds' lists."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_WEBHOOKS_")
    web_port: int = Field(default=PORTS["webhooks"], ge=1, le=65535)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    batch_within_s: float = Field(default=0.05, gt=0, le=60)
    allowed_networks: NetworkList = Field(default=(), validation_alias=_ALLOWED_NETWORKS)
    user_agent: str = Field(default="Newsflow-Webhooks/1", min_length=3, max_length=200)
    max_attempts: int = Field(default=6, ge=1, le=50)
    backoff_initial_s: float = Field(default=2.0, gt=0, le=3600)
    backoff_max_s: float = Field(default=600.0, gt=0, le=86_400)
    pause_after_failures: int = Field(
        default=20, ge=1, description="Consecutive failed requests that pause the subscription."
    )
    connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    max_in_flight: int = Field(default=64, ge=1, le=1000)
    per_subscription_in_flight: int = Field(default=4, ge=1, le=100)
    lease_s: float = Field(
        default=60.0, gt=0, le=3600, description="A claimed job not finished by then is retried."
    )
    tick_s: float = Field(default=0.5, gt=0, le=60)
    delivered_ttl_s: int = Field(default=30 * 86_400, ge=3600)
    feed_entries: int = Field(default=50, ge=1, le=500)
