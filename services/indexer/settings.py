"""Settings of the indexer stage (``NEWSFLOW_INDEXER_*``); the common fields (Kafka,
Elasticsearch, Redis, namespace, batch and retry knobs) come from
:mod:`shared.runtime.settings` under their usual names."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.ports import PORTS
from shared.runtime.settings import WorkerSettings


class IndexerSettings(WorkerSettings):
    """The indexer stage: Elasticsearch bulk writes."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_INDEXER_")
    web_port: int = Field(default=PORTS["indexer"], ge=1, le=65535)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    # Bulk requests fill up under load anyway; at low load a long wait only adds
    # latency before the 1 s refresh (0.5 s cost ~0.25 s per article on average).
    batch_within_s: float = Field(default=0.1, gt=0, le=60)


class RelabelSettings(WorkerSettings):
    """The relabel stage: merges (identities.merged) applied to indexed articles."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_RELABEL_")
    web_port: int = Field(default=PORTS["relabel"], ge=1, le=65535)
    # Merges apply one at a time, in order; a batch only saves round trips to Kafka.
    batch_size: int = Field(default=50, ge=1, le=10_000)
    # Documents read per search page and written per bulk request.
    page_size: int = Field(default=500, ge=1, le=10_000)
