"""Cleaning stage: ``articles.raw`` -> ``articles.clean``.

The logic lives in :mod:`services.cleaning.extract` (pure functions); this
module only adapts it to the stream: hints from the source win over what the
page says about itself, and an article with nothing left after cleaning is
bad data for the DLQ.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError

from services.cleaning.extract import ExtractionError, clean, fingerprint, word_count
from services.cleaning.settings import CleaningSettings
from shared.contracts.models import CleanArticleV1, RawArticleV1
from shared.contracts.topics import CLEAN, RAW
from shared.runtime.stage import BatchHandler, Item, Output, Result, StageDefinition


def clean_article(raw: RawArticleV1, max_html_bytes: int) -> CleanArticleV1:
    """Clean one raw article. Raises ExtractionError / ValueError for bad data."""
    if raw.html and len(raw.html.encode("utf-8", errors="ignore")) > max_html_bytes:
        raise ExtractionError(f"HTML larger than the {max_html_bytes}-byte limit")
    extracted = clean(
        html=raw.html if raw.html and raw.html.strip() else None,
        text=raw.text if not (raw.html and raw.html.strip()) else None,
        url=str(raw.url) if raw.url else None,
        title_hint=raw.title,
    )
    if not extracted.text.strip():
        raise ExtractionError("no article text left after removing boilerplate")
    authors = [raw.author] if raw.author else extracted.authors
    return CleanArticleV1(
        article_id=raw.article_id,
        url=raw.url,
        source=raw.source,
        # The caller's hints (an editor, a feed) are more reliable than what a
        # page's markup claims about itself, so they win when given.
        title=raw.title or extracted.title,
        text=extracted.text,
        authors=authors,
        published_at=raw.published_at or extracted.published_at,
        language=raw.language or extracted.language,
        site_name=extracted.site_name,
        credit=extracted.credit,
        related=extracted.related,
        word_count=word_count(extracted.text),
        fingerprint=fingerprint(extracted.text),
        input_format=extracted.input_format,
        received_at=raw.received_at,
    )


def clean_batch(items: list[Item[Any]], max_html_bytes: int) -> list[Result]:
    results = []
    for item in items:
        raw: RawArticleV1 = item.value
        try:
            article = clean_article(raw, max_html_bytes)
        except (ExtractionError, ValidationError, ValueError) as exc:
            results.append(
                Result(
                    raw.article_id,
                    rejected=f"cleaning failed: {exc}",
                    error_type=type(exc).__name__,
                )
            )
            continue
        results.append(
            Result(
                raw.article_id,
                outputs=[Output(raw.article_id, article)],
                status_detail={"word_count": article.word_count},
            )
        )
    return results


def make_handler(settings: CleaningSettings) -> BatchHandler:
    async def handle(items: list[Item[Any]]) -> list[Result]:
        # CPU-bound: run off the event loop so Kafka heartbeats keep going.
        return await asyncio.to_thread(clean_batch, items, settings.max_html_bytes)

    return handle


CLEANING = StageDefinition(
    name="cleaning",
    input=RAW,
    output=CLEAN,
    done_status="cleaned",
    settings=CleaningSettings,
    make_handler=make_handler,
)
