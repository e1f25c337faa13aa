"""Settings of the cleaning stage (``NEWSFLOW_CLEANING_*``); the common fields (Kafka,
Elasticsearch, Redis, namespace, batch and retry knobs) come from
:mod:`shared.runtime.settings` under their usual names."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.ports import PORTS
from shared.runtime.settings import WorkerSettings


class CleaningSettings(WorkerSettings):
    """The cleaning stage: HTML/text in, article body and metadata out."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_CLEANING_")
    web_port: int = Field(default=PORTS["cleaning"], ge=1, le=65535)
    max_html_bytes: int = Field(default=5_000_000, ge=1_000)
