"""The limits: each CPU-heavy step alone, in one process, on the corpus' own texts.

A pipeline with one entity worker cannot go faster than that worker's NER, so the
bare NER rate is the yardstick for pipeline throughput. It is measured the way the
worker runs it: :func:`services.entities.extract.extract_entities` with the same
trimmed pipeline (:func:`~services.entities.extract.load_pipeline`), on the texts the
cleaning step actually produced (``ner_text`` of each cleaned article), in batches
of the worker's ``batch_size``. The cleaning step is timed the same way
(:func:`services.cleaning.stage.clean_article`, the worker's per-article function).

Besides the two rates, this measures what the pipeline does per article on top of
them (the message (de)serialisation at each hop, building the enriched message,
the search document), and splits one NER batch into spaCy's parts (tokenizer,
line-break boundaries, ``ner``, our normalisation), so the report can say what a
millisecond of the pipeline is spent on.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from _corpus import BenchArticle

from services.cleaning.extract import ExtractionError
from services.cleaning.settings import CleaningSettings
from services.cleaning.stage import Limits as CleaningLimits
from services.cleaning.stage import clean_article
from services.entities.enrich import enrich_batch, ner_text
from services.entities.extract import (
    LINE_BREAKS_COMPONENT,
    extract_entities,
    load_pipeline,
)
from services.entities.normalize import (
    Entity,
    Mention,
    merge_entities,
    normalise_mentions,
)
from services.entities.pipelines import PipelineSet, model_label
from services.entities.resolve import Resolver
from services.entities.settings import EntitySettings
from shared.contracts.index import to_document
from shared.contracts.models import CleanArticleV1, EnrichedArticleV1, RawArticleV1


@dataclass
class Limits:
    """Rates of the bare steps, per-article costs around them, and what the
    steps produced (reused to build the synthetic search index)."""

    cleaning: dict[str, Any]
    ner: dict[str, Any]
    per_article_ms: dict[str, float]
    spacy_parts_ms: dict[str, float]
    cleaned: list[CleanArticleV1] = field(default_factory=list)
    entities: list[list[Entity]] = field(default_factory=list)


def _raw(article: BenchArticle) -> RawArticleV1:
    """The message the ingestion API would write for this article."""
    return RawArticleV1(article_id=article.article_id, **article.payload)


def _per_article_ms(fn: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000 / max(count, 1)


def measure_cleaning(
    articles: Sequence[BenchArticle], settings: CleaningSettings
) -> tuple[dict[str, Any], list[CleanArticleV1]]:
    raws = [_raw(a) for a in articles]
    # Warm-up: the first call imports trafilatura's and py3langid's models.
    for raw in raws[:2]:
        with contextlib.suppress(ExtractionError, ValueError):
            clean_article(
                raw,
                CleaningLimits(
                    settings.max_html_bytes, settings.max_text_chars, settings.max_body_chars
                ),
            )
    cleaned: list[CleanArticleV1] = []
    cpu_started = time.process_time()
    seconds = {"html": 0.0, "text": 0.0}
    counts = {"html": 0, "text": 0}
    failures = 0
    for article, raw in zip(articles, raws, strict=True):
        started = time.perf_counter()
        try:
            result = clean_article(
                raw,
                CleaningLimits(
                    settings.max_html_bytes, settings.max_text_chars, settings.max_body_chars
                ),
            )
        except (ExtractionError, ValueError):
            failures += 1
            result = None
        seconds[article.kind] += time.perf_counter() - started
        counts[article.kind] += 1
        if result is not None:
            cleaned.append(result)
    cpu = time.process_time() - cpu_started
    total = sum(seconds.values())
    report = {
        "articles": len(articles),
        "seconds": round(total, 2),
        "articles_per_s": round(len(articles) / total, 2),
        "articles_per_cpu_s": round(len(articles) / cpu, 2),
        "html_per_s": round(counts["html"] / seconds["html"], 2) if counts["html"] else None,
        "text_per_s": round(counts["text"] / seconds["text"], 2) if counts["text"] else None,
        "failures": failures,
        "process": "one, no threads (the worker runs the same function in one thread)",
    }
    return report, cleaned


def measure_ner(
    cleaned: Sequence[CleanArticleV1], settings: EntitySettings
) -> tuple[dict[str, Any], list[list[Entity]], Any]:
    started = time.perf_counter()
    nlp = load_pipeline(settings.spacy_model)
    load_s = time.perf_counter() - started
    texts = [ner_text(a, settings.max_ner_chars) for a in cleaned]
    size = settings.batch_size
    batches = [texts[i : i + size] for i in range(0, len(texts), size)]
    extract_entities(nlp, batches[0][: min(8, size)], batch_size=size)  # warm-up
    entities: list[list[Entity]] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for batch in batches:
        entities.extend(merged for _, merged in extract_entities(nlp, batch, batch_size=size))
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    chars = sum(map(len, texts))
    report = {
        "articles": len(texts),
        "seconds": round(seconds, 2),
        "articles_per_s": round(len(texts) / seconds, 2),
        "articles_per_cpu_s": round(len(texts) / cpu, 2),
        "chars_per_article": round(chars / max(len(texts), 1)),
        "kchars_per_s": round(chars / seconds / 1000, 1),
        "batch_size": size,
        "pipeline": list(nlp.pipe_names),
        "model": model_label(settings.spacy_model),
        "model_load_s": round(load_s, 2),
        "process": "one (the worker runs the same calls in one thread)",
    }
    return report, entities, nlp


def measure_spacy_parts(
    nlp: Any, cleaned: Sequence[CleanArticleV1], settings: EntitySettings
) -> dict[str, float]:
    """Milliseconds per article of each part of the NER step, on a sample."""
    texts = [ner_text(a, settings.max_ner_chars) for a in cleaned]
    n = len(texts)
    docs: list[Any] = []
    parts = {"tokenizer": _per_article_ms(lambda: docs.extend(nlp.make_doc(t) for t in texts), n)}
    line_breaks = nlp.get_pipe(LINE_BREAKS_COMPONENT)
    parts["line_breaks"] = _per_article_ms(lambda: [line_breaks(d) for d in docs], n)
    ner = nlp.get_pipe("ner")
    done: list[Any] = []
    parts["ner"] = _per_article_ms(
        lambda: done.extend(ner.pipe(docs, batch_size=settings.batch_size)), n
    )
    mentions = [
        [Mention(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents] for doc in done
    ]
    parts["normalise_merge"] = _per_article_ms(
        lambda: [merge_entities(normalise_mentions(m)) for m in mentions], n
    )
    return {k: round(v, 2) for k, v in parts.items()}


def measure_overheads(
    articles: Sequence[BenchArticle],
    cleaned: Sequence[CleanArticleV1],
    entities: Sequence[list[Entity]],
    settings: EntitySettings,
) -> dict[str, float]:
    """Per-article milliseconds of what surrounds the two heavy steps: each
    message written and read once per hop, the entities handler without its NER
    (the precomputed entities are handed to it), and the indexer's document."""
    n = len(cleaned)
    raws = [_raw(a) for a in articles]
    raw_json = [r.model_dump_json().encode() for r in raws]
    clean_json = [c.model_dump_json().encode() for c in cleaned]
    costs = {
        "raw_serialise": _per_article_ms(
            lambda: [r.model_dump_json().encode() for r in raws], len(raws)
        ),
        "raw_parse_validate": _per_article_ms(
            lambda: [RawArticleV1.model_validate(orjson.loads(b)) for b in raw_json], len(raws)
        ),
        "clean_serialise": _per_article_ms(
            lambda: [c.model_dump_json().encode() for c in cleaned], n
        ),
        "clean_parse_validate": _per_article_ms(
            lambda: [CleanArticleV1.model_validate(orjson.loads(b)) for b in clean_json], n
        ),
    }
    # The whole entities step as the stage runs it (NER per language, filters,
    # resolution), beside the bare model measured above.
    pipelines = PipelineSet()
    pipelines.preload()
    resolver = Resolver()
    results: list[Any] = []
    costs["enrich_step_with_ner"] = _per_article_ms(
        lambda: results.extend(
            enrich_batch(
                cleaned,
                pipelines,
                resolver,
                max_ner_chars=settings.max_ner_chars,
                batch_size=settings.batch_size,
            )
        ),
        n,
    )
    enriched: list[EnrichedArticleV1] = [r.article for r in results]
    enriched_json = [e.model_dump_json().encode() for e in enriched]
    costs["enriched_serialise"] = _per_article_ms(
        lambda: [e.model_dump_json().encode() for e in enriched], n
    )
    costs["enriched_parse_validate"] = _per_article_ms(
        lambda: [EnrichedArticleV1.model_validate(orjson.loads(b)) for b in enriched_json], n
    )
    costs["search_document"] = _per_article_ms(
        lambda: [orjson.dumps(to_document(e)) for e in enriched], n
    )
    return {k: round(v, 3) for k, v in costs.items()}


def measure_limits(articles: Sequence[BenchArticle], parts_sample: int = 64) -> Limits:
    cleaning_settings = CleaningSettings()
    entity_settings = EntitySettings()
    cleaning, cleaned = measure_cleaning(articles, cleaning_settings)
    ner, entities, nlp = measure_ner(cleaned, entity_settings)
    parts = measure_spacy_parts(nlp, cleaned[:parts_sample], entity_settings)
    costs = measure_overheads(articles, cleaned, entities, entity_settings)
    costs["clean_cpu"] = round(1000 / cleaning["articles_per_cpu_s"], 2)
    costs["ner_cpu"] = round(1000 / ner["articles_per_cpu_s"], 2)
    return Limits(cleaning, ner, costs, parts, list(cleaned), list(entities))
