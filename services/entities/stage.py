"""Entities stage: ``articles.clean`` -> ``articles.enriched``.

spaCy runs over a whole batch taken from the stream (``nlp.pipe``), with only
the components NER needs; the model is loaded once per process, at start.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from services.entities.extract import extract_entities, load_pipeline
from services.entities.settings import EntitySettings
from shared.contracts.models import CleanArticleV1, EnrichedArticleV1, EntityV1
from shared.contracts.topics import CLEAN, ENRICHED
from shared.runtime.stage import BatchHandler, Item, Output, Result, StageDefinition


def model_label(model: str) -> str:
    """'<package>==<version>', recorded on every enriched article."""
    dist = model.replace("_", "-")
    try:
        return f"{dist}=={version(dist)}"
    except PackageNotFoundError:
        return model


def ner_text(article: CleanArticleV1, max_chars: int) -> str:
    """What NER reads: the body, then the related headlines, so offsets below
    len(body) point into the body. Very long bodies are cut for NER only: the
    indexed text stays whole."""
    parts = [article.text[:max_chars], *article.related]
    return "\n\n".join(parts)


def enrich_batch(
    nlp: Any, items: list[Item[Any]], settings: EntitySettings, ner_model: str
) -> list[Result]:
    articles: list[CleanArticleV1] = [item.value for item in items]
    extracted = extract_entities(
        nlp, [ner_text(a, settings.max_ner_chars) for a in articles], batch_size=settings.batch_size
    )
    results = []
    for article, (_mentions, entities) in zip(articles, extracted, strict=True):
        body_end = len(article.text)
        enriched = EnrichedArticleV1(
            **article.model_dump(),
            entities=[
                EntityV1(
                    canonical=e.canonical,
                    label=e.label,
                    group=e.group,
                    count=e.count,
                    surface_forms=list(e.surface_forms),
                    offsets=[(s, t) for s, t in e.offsets if t <= body_end],
                )
                for e in entities
            ],
            ner_model=ner_model,
        )
        results.append(
            Result(
                article.article_id,
                outputs=[Output(article.article_id, enriched)],
                status_detail={"entities": len(entities)},
            )
        )
    return results


def make_handler(settings: EntitySettings) -> BatchHandler:
    nlp = load_pipeline(settings.spacy_model)
    ner_model = model_label(settings.spacy_model)

    async def handle(items: list[Item[Any]]) -> list[Result]:
        return await asyncio.to_thread(enrich_batch, nlp, items, settings, ner_model)

    return handle


ENTITIES = StageDefinition(
    name="entities",
    input=CLEAN,
    output=ENRICHED,
    done_status="enriched",
    settings=EntitySettings,
    make_handler=make_handler,
)
