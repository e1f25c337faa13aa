"""Entities stage: ``articles.clean`` -> ``articles.enriched``.

The logic lives in :mod:`services.entities.enrich` (plain functions over a
batch); this module adapts it to the stream. NER is routed by the article's
language to the spaCy pipeline of that language (English, French), loaded
once per process at start; an article in a language without a model gets no
entities and says so (``entities_status``), never fragments from the wrong
model. Names resolve to one entity across articles through the process's
:class:`~services.entities.resolve.Resolver` (in memory for now: each worker
learns from what it reads; a registry shared by all workers is the next step,
see the issue notes).
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.entities.enrich import enrich_batch
from services.entities.pipelines import PipelineSet
from services.entities.resolve import Resolver
from services.entities.settings import EntitySettings
from shared.contracts.models import CleanArticleV1
from shared.contracts.topics import CLEAN, ENRICHED
from shared.runtime.stage import BatchHandler, Item, Output, Result, StageDefinition


def enrich_items(
    items: list[Item[Any]], pipelines: PipelineSet, resolver: Resolver, settings: EntitySettings
) -> list[Result]:
    articles: list[CleanArticleV1] = [item.value for item in items]
    enriched = enrich_batch(
        articles,
        pipelines,
        resolver,
        max_ner_chars=settings.max_ner_chars,
        batch_size=settings.batch_size,
    )
    return [
        Result(
            e.article.article_id,
            outputs=[Output(e.article.article_id, e.article)],
            status_detail={"entities": len(e.article.entities), "status": e.status},
        )
        for e in enriched
    ]


def make_handler(settings: EntitySettings) -> BatchHandler:
    pipelines = PipelineSet()
    pipelines.preload()  # at start, not on the first article of each language
    resolver = Resolver()
    # One batch at a time: the resolver learns from each article in order.
    lock = asyncio.Lock()

    async def handle(items: list[Item[Any]]) -> list[Result]:
        async with lock:
            return await asyncio.to_thread(enrich_items, items, pipelines, resolver, settings)

    return handle


ENTITIES = StageDefinition(
    name="entities",
    input=CLEAN,
    output=ENRICHED,
    done_status="enriched",
    settings=EntitySettings,
    make_handler=make_handler,
)
