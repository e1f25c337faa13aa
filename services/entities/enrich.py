"""Per-batch logic of the entities stage, free of any stream plumbing.

The stage adapter (``stage.py``) takes a batch of clean articles off the stream,
calls :func:`enrich_batch` in a worker thread and sends what it returns. Everything
it needs comes in as arguments (the process's pipelines and resolver, two settings
values), so it runs the same in the stage, in ``bench/`` and in unit tests.

Per article: route by language (:class:`~services.entities.pipelines.PipelineSet`;
no model, no NER), run NER over the batch grouped by language, drop what is not a
mention (:mod:`~services.entities.filters`), resolve names inside the article
(:mod:`~services.entities.normalize`), apply the corrections table, then link to
canonical entities across articles (:class:`~services.entities.resolve.Resolver`).
The batch's articles are linked together, in order, after all of them went
through NER: a shared registry is locked for that step only, never during NER.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from services.entities.corrections import Corrections, apply_corrections, default_corrections
from services.entities.extract import extract_mentions
from services.entities.filters import clean_mentions, ner_input
from services.entities.normalize import Entity, Mention, merge_entities, normalise_mentions
from services.entities.pipelines import LoadedModel, PipelineSet
from services.entities.resolve import Merge, ResolvedEntity, Resolver
from shared.contracts.models import CleanArticleV1, EnrichedArticleV1, EntityV1

__all__ = [
    "Enrichment",
    "article_entities",
    "enrich_batch",
    "entities_of",
    "ner_text",
    "run_models",
    "status_for",
]

# Recorded as ``ner_model`` when no model read the article (the field is a
# required string in v1); ``entities_status`` says why.
NO_MODEL = "none"


@dataclass(frozen=True)
class Enrichment:
    """One article's result: the message to send, plus what V1 cannot carry yet.

    ``status`` is ``"ok"``, ``"no_model:<language>"`` (a language without a
    pipeline) or ``"skipped"`` (language unknown). ``entity_ids`` and
    ``external_ids`` run parallel to ``article.entities``. ``merges``: entities
    of earlier articles found to be one of this article's (to announce).
    """

    article: EnrichedArticleV1
    status: str
    entity_ids: tuple[str, ...]
    external_ids: tuple[str | None, ...]
    merges: tuple[Merge, ...] = ()


def ner_text(article: CleanArticleV1, max_chars: int) -> str:
    """What NER reads: the body, then the related headlines, so offsets below
    len(body) point into the body. Very long bodies are cut for NER only: the
    indexed text stays whole."""
    parts = [article.text[:max_chars], *article.related]
    return "\n\n".join(parts)


def status_for(language: str | None, model: LoadedModel | None) -> str:
    """The article's entities status (see :class:`Enrichment`)."""
    if model is not None:
        return "ok"
    return f"no_model:{language}" if language else "skipped"


def article_entities(text: str, mentions: list[Mention], corrections: Corrections) -> list[Entity]:
    """One article's entities from the model's raw mentions of ``text``, before
    linking across articles."""
    kept = clean_mentions(text, mentions, corrections)
    normalised = apply_corrections(text, normalise_mentions(kept), corrections)
    return merge_entities(normalised)


def entities_of(
    text: str, mentions: list[Mention], corrections: Corrections, resolver: Resolver
) -> list[ResolvedEntity]:
    """One article's resolved entities from the model's raw mentions of ``text``."""
    return resolver.resolve(article_entities(text, mentions, corrections))


def run_models(
    texts: Sequence[str], models: Sequence[LoadedModel | None], batch_size: int
) -> list[list[Mention]]:
    """Raw mentions per text, NER run once per language over that language's texts."""
    by_language: defaultdict[str, list[int]] = defaultdict(list)
    for index, model in enumerate(models):
        if model is not None:
            by_language[model.language].append(index)
    mentions: list[list[Mention]] = [[] for _ in texts]
    for indices in by_language.values():
        model = models[indices[0]]
        assert model is not None  # grouped above
        found = extract_mentions(
            model.nlp,
            [ner_input(texts[i]) for i in indices],
            batch_size=batch_size,
            label_map=model.label_map,
        )
        for index, article_mentions in zip(indices, found, strict=True):
            # extract_mentions read ner_input(text); give the rules the real text's spans.
            mentions[index] = [
                Mention(texts[index][m.start : m.end], m.label, m.start, m.end)
                for m in article_mentions
            ]
    return mentions


def _entity_v1(entity: ResolvedEntity, body_end: int) -> EntityV1:
    return EntityV1(
        canonical=entity.name,
        id=entity.id,
        external_id=entity.external_id,
        label=entity.label,
        group=entity.type,  # a group name by construction; pydantic checks it
        count=entity.count,
        surface_forms=entity.surface_forms,
        offsets=[(s, t) for s, t in entity.offsets if t <= body_end],
    )


def enrich_batch(
    articles: Sequence[CleanArticleV1],
    pipelines: PipelineSet,
    resolver: Resolver,
    *,
    max_ner_chars: int,
    batch_size: int,
    corrections: Corrections | None = None,
) -> list[Enrichment]:
    """The enrichment of each article, in input order.

    Articles resolve in input order, each one's entities becoming evidence for
    the next, so a batch gives the same result as its articles one by one, except
    that an id merged away during the batch is already replaced by its survivor's
    in every article of the batch (the merge is still announced: earlier batches
    may carry the old id).
    """
    table = corrections or default_corrections()
    models = [pipelines.get(a.language) for a in articles]
    texts = [ner_text(a, max_ner_chars) if m else "" for a, m in zip(articles, models, strict=True)]
    raw = run_models(texts, models, batch_size)
    found = [
        article_entities(text, mentions, table) if model else []
        for model, text, mentions in zip(models, texts, raw, strict=True)
    ]
    linked, merges = resolver.resolve_batch(found)
    results: list[Enrichment] = []
    for article, model, resolved, merged in zip(articles, models, linked, merges, strict=True):
        enriched = EnrichedArticleV1(
            **article.model_dump(),
            entities=[_entity_v1(e, len(article.text)) for e in resolved],
            ner_model=model.label if model else NO_MODEL,
            entities_status=status_for(article.language, model),
        )
        results.append(
            Enrichment(
                article=enriched,
                status=status_for(article.language, model),
                entity_ids=tuple(e.id for e in resolved),
                external_ids=tuple(e.external_id for e in resolved),
                merges=tuple(merged),
            )
        )
    return results
