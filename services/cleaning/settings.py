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
    # Bounds on the work one article may cost, so that a hostile or broken
    # input delays the articles behind it by about max_clean_seconds at most:
    # scraped text is cut before cleaning, the body after it (about 33,000
    # words: longer than any news article), and a page still cleaning after
    # max_clean_seconds is stopped and dead-lettered.
    max_text_chars: int = Field(default=300_000, ge=1_000)
    max_body_chars: int = Field(default=200_000, ge=1_000)
    max_clean_seconds: float = Field(default=2.0, gt=0, le=600)
