"""Settings of the stories stage (``NEWSFLOW_STORIES_*``); the common fields (Kafka,
Elasticsearch, Redis, namespace, batch and retry knobs) come from
:mod:`shared.runtime.settings` under their usual names."""

from __future__ import annotations

from dataclasses import fields

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.stories.scoring import Params
from shared.runtime.ports import PORTS
from shared.runtime.settings import WorkerSettings

_DAY = 86_400


class StoriesSettings(WorkerSettings):
    """The stories stage: near-duplicates and story clustering, state in Redis."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_STORIES_")
    web_port: int = Field(default=PORTS["stories"], ge=1, le=65535)
    # Clustering is a few ms per article; bigger batches mean fewer lock round trips.
    batch_size: int = Field(default=64, ge=1, le=10_000)
    # How far back (article time) a story or a wire copy is looked for, and how
    # long an article's assignment is remembered so that a replay gets the same
    # story: the Redis state is bounded by these two.
    window_days: float = Field(default=7, gt=0, le=60)
    remember_days: float = Field(default=30, gt=0, le=365)
    # Workers share one state and take turns per batch (RedisState.lock): the lock
    # frees itself after lock_timeout_s if its holder died; a worker waits at most
    # lock_wait_s for it, then retries the batch (a temporary failure).
    lock_timeout_s: float = Field(default=60, gt=0, le=3600)
    lock_wait_s: float = Field(default=30, gt=0, le=3600)
    # Clustering tunables other than the window (services/stories/scoring.py: Params),
    # as JSON, e.g. NEWSFLOW_STORIES_PARAMS='{"threshold": 0.3}'. Empty: the defaults
    # tuned on the dev set. For experiments and tests; an unknown name fails at start.
    params: dict[str, bool | int | float] = Field(default_factory=dict)

    @field_validator("params")
    @classmethod
    def _known_params(cls, value: dict[str, bool | int | float]) -> dict[str, bool | int | float]:
        known = {f.name for f in fields(Params)} - {"window", "remember"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown clustering parameters {unknown}; known: {sorted(known)}")
        return value
