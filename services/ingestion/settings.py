"""Settings of the ingestion API (``NEWSFLOW_INGESTION_*``); the common fields (Kafka,
Elasticsearch, Redis, namespace, batch and retry knobs) come from
:mod:`shared.runtime.settings` under their usual names."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared.runtime.addresses import NetworkList
from shared.runtime.ports import PORTS
from shared.runtime.settings import CommonSettings


class IngestionSettings(CommonSettings):
    """The ingestion HTTP API: keys, body limits, dedup window."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_INGESTION_")
    host: str = "127.0.0.1"
    port: int = Field(default=PORTS["ingestion"], ge=1, le=65535)
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        description="Comma-separated keys accepted in the X-API-Key header for writes. Required."
    )
    max_body_bytes: int = Field(default=10_000_000, ge=1_000)
    max_batch_items: int = Field(default=1_000, ge=1)
    dedup_ttl_s: int = Field(default=30 * 24 * 3600, ge=60)
    status_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
    # The feed poller's variable, read here too: `POST /v1/sources` accepts as
    # a literal address exactly what the poller will be allowed to read.
    feed_allowed_networks: NetworkList = Field(
        default=(), validation_alias="NEWSFLOW_POLLER_ALLOWED_NETWORKS"
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            value = [k.strip() for k in value.split(",") if k.strip()]
        if not value:
            raise ValueError("at least one API key is required")
        return value
