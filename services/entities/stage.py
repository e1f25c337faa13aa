"""Entities stage: ``articles.clean`` -> ``articles.enriched`` (+ ``identities.merged``).

The logic lives in :mod:`services.entities.enrich` (plain functions over a
batch); this module adapts it to the stream. NER is routed by the article's
language to the spaCy pipeline of that language (English, French), loaded
once per process at start; an article in a language without a model gets no
entities and says so (``entities_status``), never fragments from the wrong
model. Names resolve to one entity across articles through the entity registry,
shared by every entities worker in Redis and kept across restarts
(:mod:`services.entities.registry_redis`; ``NEWSFLOW_ENTITIES_REGISTRY=memory``
keeps it in the process instead). When the registry finds two entities to be one
(a lone "Trump" seen before "Donald Trump"), the stage announces it on
``identities.merged`` so that articles indexed with the old id are relabelled.

Merges are outputs of the batch, not of one article (a rejected article must not
take them along). With the Redis registry they come from its outbox, written in
the transaction that makes them: every batch sends what the outbox holds and
removes those entries once they are delivered (the runtime's ``after_delivery``),
so a merge made by a batch that failed afterwards is still sent, by the retry or
any later batch, on any worker (at least once; relabelling is idempotent).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from redis.exceptions import RedisError

from services.entities.enrich import enrich_batch
from services.entities.pipelines import PipelineSet
from services.entities.registry import EntityStore, MemoryStore
from services.entities.registry_redis import OutboxMerge, RedisStore
from services.entities.resolve import Resolver
from services.entities.settings import EntitySettings
from shared.contracts.models import CleanArticleV1, MergeV1
from shared.contracts.topics import CLEAN, ENRICHED, MERGED
from shared.runtime.stage import (
    BatchHandler,
    BatchResult,
    Item,
    Output,
    Result,
    StageDefinition,
    TemporaryFailure,
)

log = logging.getLogger(__name__)


def merge_outputs(merges: Iterable[OutboxMerge], topic: str) -> list[Output]:
    """One :class:`MergeV1` per merge, keyed by the old id; one that is no valid
    merge (an id of the wrong shape, merged into itself) is dropped with a warning."""
    outputs = []
    for m in dict.fromkeys(merges):
        try:
            merge = MergeV1(kind="entity", old_id=m.old_id, new_id=m.new_id, name=m.name)
        except ValidationError as exc:
            log.warning(
                "entity merge dropped",
                extra={"old_id": m.old_id, "new_id": m.new_id, "error": str(exc)},
            )
            continue
        outputs.append(Output(m.old_id, merge, topic=topic))
    return outputs


def enrich_items(
    items: list[Item[Any]], pipelines: PipelineSet, resolver: Resolver, settings: EntitySettings
) -> BatchResult:
    """The batch's enriched articles, and its merges as outputs of the batch: from
    the registry's outbox (Redis; removed by the returned hook once delivered),
    or as the resolver returned them (a registry in memory has no outbox)."""
    articles: list[CleanArticleV1] = [item.value for item in items]
    enriched = enrich_batch(
        articles,
        pipelines,
        resolver,
        max_ner_chars=settings.max_ner_chars,
        batch_size=settings.batch_size,
    )
    merged = MERGED.full_name(settings.namespace)
    results = []
    for e in enriched:
        detail = {"entities": len(e.article.entities), "status": e.status}
        if e.merges:
            detail["merges"] = len(e.merges)
        outputs = [Output(e.article.article_id, e.article)]
        results.append(Result(e.article.article_id, outputs=outputs, status_detail=detail))
    store = resolver.store
    if not isinstance(store, RedisStore):
        made = [OutboxMerge(m.old_id, m.new_id, m.name) for e in enriched for m in e.merges]
        return BatchResult(results, merge_outputs(made, merged))
    entries, pending = store.peek_merges()

    async def sent() -> None:
        # Every peeked entry, also those dropped as invalid: they never will be sent.
        await asyncio.to_thread(store.remove_merges, entries)

    return BatchResult(results, merge_outputs(pending, merged), sent if entries else None)


def make_store(settings: EntitySettings) -> EntityStore:
    """The registry the settings name (no connection made yet)."""
    if settings.registry == "memory":
        return MemoryStore()
    return RedisStore.from_url(
        settings.redis_dsn,
        settings.namespace,
        lock_timeout=settings.registry_lock_timeout_s,
        lock_wait=settings.registry_lock_wait_s,
    )


def batch_handler(
    pipelines: PipelineSet, resolver: Resolver, settings: EntitySettings
) -> BatchHandler:
    """The stage's handler over loaded models and a resolver."""
    # One batch at a time per process: the resolver learns from each article in
    # order (across processes, the registry's lock orders batches).
    lock = asyncio.Lock()

    async def handle(items: list[Item[Any]]) -> BatchResult:
        async with lock:
            try:
                return await asyncio.to_thread(enrich_items, items, pipelines, resolver, settings)
            except RedisError as exc:  # down, lock busy, lock lost: nothing was written
                raise TemporaryFailure(f"entity registry in Redis: {exc!r}") from exc

    return handle


def make_handler(settings: EntitySettings) -> BatchHandler:
    pipelines = PipelineSet()
    pipelines.preload()  # at start, not on the first article of each language
    return batch_handler(pipelines, Resolver(make_store(settings)), settings)


ENTITIES = StageDefinition(
    name="entities",
    input=CLEAN,
    output=ENRICHED,
    extra_outputs=(MERGED,),
    done_status="enriched",
    settings=EntitySettings,
    make_handler=make_handler,
)
