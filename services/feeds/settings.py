"""Settings of the feed poller (``NEWSFLOW_POLLER_*``).

Kept beside the poller rather than in ``shared/runtime/settings.py`` because no other
service needs them; the common fields (Kafka, Redis, namespace) come from
:class:`shared.runtime.settings.CommonSettings` under their usual names.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.addresses import NetworkList
from shared.runtime.ports import PORTS
from shared.runtime.settings import CommonSettings


class PollerSettings(CommonSettings):
    """How hard, how often and how patiently the poller reads the web."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_POLLER_")

    host: str = Field(default="127.0.0.1", description="Address of the health server.")
    web_port: int = Field(
        default=PORTS["poller"],
        ge=0,
        le=65535,
        description="Port of /healthz and /readyz (`newsflow poller --web-port N`); 0: none.",
    )
    user_agent: str = Field(
        default="NewsflowBot/0.1 (news feed reader)",
        min_length=3,
        description="Sent with every request; its first token is the name robots.txt rules "
        "are matched against. Deployments should add a contact URL or address, as "
        "webmasters expect of a crawler.",
    )
    tick_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often the scheduler looks for due sources (and sees registry changes).",
    )
    min_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="Floor on every source's polling interval, whatever was registered.",
    )
    host_delay_s: float = Field(
        default=2.0,
        ge=0,
        description="Minimum pause between the end of one request to a host and the next; "
        "a robots.txt Crawl-delay raises it for that host.",
    )
    max_crawl_delay_s: float = Field(
        default=60.0,
        ge=0,
        description="Crawl-delay values above this are read as this (a day-long delay would "
        "stall a feed for good).",
    )
    max_concurrent_requests: int = Field(
        default=8, ge=1, le=256, description="Requests in flight at once, all hosts together."
    )
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    timeout_s: float = Field(
        default=20.0, gt=0, le=600, description="Read/write timeout of one request."
    )
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_feed_bytes: int = Field(default=10_000_000, ge=10_000)
    max_body_bytes: int = Field(
        default=5_000_000,
        ge=10_000,
        description="Largest article page fetched; a bigger page is skipped (the cleaning "
        "stage refuses more than 5 MB anyway).",
    )
    max_entries_per_poll: int = Field(
        default=50,
        ge=1,
        description="New entries fetched per poll; the rest wait for the next poll, so that "
        "adding a sitemap of thousands of URLs does not become a crawl.",
    )
    max_child_sitemaps: int = Field(
        default=3,
        ge=1,
        le=50,
        description="Of a sitemap index, how many of the most recent child sitemaps are read.",
    )
    page_max_attempts: int = Field(
        default=3, ge=1, description="Polls that may try an entry's page before giving it up."
    )
    backoff_max_s: float = Field(
        default=6 * 3600.0, gt=0, description="Longest wait before retrying a failing source."
    )
    robots_ttl_s: float = Field(default=3600.0, ge=0, description="How long robots.txt is kept.")
    seen_retention_s: int = Field(
        default=90 * 24 * 3600,
        ge=3600,
        description="An entry URL is forgotten once its feed has stopped listing it for this "
        "long; feeds list recent entries, so a forgotten one does not come back.",
    )
    # The silence rule (see health.silence_threshold).
    silence_factor: float = Field(default=3.0, ge=1)
    silence_min_s: float = Field(default=3600.0, ge=0)
    silence_default_s: float = Field(default=48 * 3600.0, gt=0)
    shutdown_grace_s: float = Field(
        default=20.0, ge=0, description="On SIGTERM, how long running polls may finish."
    )
    lease_ttl_s: float = Field(
        default=30.0,
        ge=3,
        description="One poller per namespace holds a Redis lease (renewed every tick): two "
        "pollers would break per-host politeness. A crashed poller's lease lapses after this.",
    )
    # The Ingestor's own knobs, same meaning as the ingestion API's.
    dedup_ttl_s: int = Field(default=30 * 24 * 3600, ge=60)
    status_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
    # Off by default: the poller reads public addresses only (see shared.runtime.addresses).
    allowed_networks: NetworkList = Field(
        default=(),
        description="Comma-separated networks the poller may read although they are not "
        "public, e.g. '10.20.0.0/16, fd00:1::/64' for intranet feeds, or '127.0.0.0/8, ::1/128' "
        "for tests against a local server. Also what `POST /v1/sources` and `newsflow sources "
        "add` accept as a literal address. Empty: loopback, private, link-local, CGNAT, "
        "reserved and the like are refused, in any notation and after every redirect.",
    )
