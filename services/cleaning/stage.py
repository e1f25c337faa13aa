"""Cleaning stage: ``articles.raw`` -> ``articles.clean``.

The logic lives in :mod:`services.cleaning.extract` (pure functions); this
module only adapts it to the stream: hints from the source win over what the
page says about itself, and an article with nothing left after cleaning is
bad data for the DLQ.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import ValidationError

from services.cleaning.extract import ExtractionError, clean, fingerprint, word_count
from services.cleaning.settings import CleaningSettings
from shared.contracts.models import CleanArticleV1, RawArticleV1
from shared.contracts.sanity import strip_bidi_controls
from shared.contracts.topics import CLEAN, RAW
from shared.runtime.stage import BatchHandler, Item, Output, Result, StageDefinition
from shared.runtime.time_budget import ChildFailed, TimeBoundRunner, TimeBudgetExceeded


@dataclass(frozen=True)
class Limits:
    """How much work one article may cost (see CleaningSettings)."""

    max_html_bytes: int = 5_000_000
    max_text_chars: int = 300_000
    max_body_chars: int = 200_000


def clean_article(raw: RawArticleV1, limits: Limits = Limits()) -> CleanArticleV1:
    """Clean one raw article. Raises ExtractionError / ValueError for bad data."""
    if raw.html and len(raw.html.encode("utf-8", errors="ignore")) > limits.max_html_bytes:
        raise ExtractionError(f"HTML larger than the {limits.max_html_bytes}-byte limit")
    has_html = bool(raw.html and raw.html.strip())
    extracted = clean(
        html=raw.html if has_html else None,
        # Scraped text past this is not an article; cut it before the line
        # classifier reads it, so the cost of one text stays bounded.
        text=None if has_html else (raw.text or "")[: limits.max_text_chars],
        url=str(raw.url) if raw.url else None,
        title_hint=raw.title,
    )
    body = extracted.text[: limits.max_body_chars]
    if not body.strip():
        raise ExtractionError("no article text left after removing boilerplate")
    # A page's own title and byline get the same invisible-character rule as
    # the hints a caller sends (shared.contracts.sanity).
    authors = [raw.author] if raw.author else _visible(extracted.authors)
    title = raw.title or _visible_or_none(extracted.title)
    return CleanArticleV1(
        article_id=raw.article_id,
        url=raw.url,
        # The registrable domain of the URL is the site's stable identity (one
        # facet value per site, whatever each caller called it); without a URL
        # the caller's source stands.
        source=site_identity(extracted.site_domain) or raw.source,
        # The caller's hints (an editor, a feed) are more reliable than what a
        # page's markup claims about itself, so they win when given.
        title=title,
        text=body,
        authors=authors,
        published_at=raw.published_at or extracted.published_at,
        language=raw.language or extracted.language,
        site_name=_visible_or_none(extracted.site_name),
        site_domain=extracted.site_domain,
        credit=extracted.credit,
        related=extracted.related,
        word_count=word_count(body),
        fingerprint=fingerprint(body),
        input_format=extracted.input_format,
        received_at=raw.received_at,
    )


def site_identity(domain: str | None) -> str | None:
    """The registrable domain as a source, unless it names no site: an address
    (a feed on an intranet server, a test server) identifies a host, not a
    publisher, so the caller's name for it stands."""
    if not domain or domain == "localhost":
        return None
    try:
        ipaddress.ip_address(domain.strip("[]"))
    except ValueError:
        return domain
    return None


def _visible_or_none(text: str | None) -> str | None:
    cleaned = strip_bidi_controls(text).strip() if text else ""
    return cleaned or None


def _visible(texts: list[str]) -> list[str]:
    return [t for t in (_visible_or_none(t) for t in texts) if t]


def clean_batch(
    items: list[Item[Any]], clean_one: Callable[[RawArticleV1], CleanArticleV1]
) -> list[Result]:
    results = []
    for item in items:
        raw: RawArticleV1 = item.value
        try:
            article = clean_one(raw)
        except (ExtractionError, ValidationError, ValueError, TimeBudgetExceeded) as exc:
            results.append(
                Result(
                    raw.article_id,
                    rejected=f"cleaning failed: {exc}",
                    error_type=type(exc).__name__,
                )
            )
            continue
        except ChildFailed as exc:  # once is an input that kills the parser; often is systemic
            results.append(
                Result(raw.article_id, rejected=str(exc), error_type="ChildFailed", systemic=True)
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


# Cleaned once when a child process starts: language detection and date
# parsing load their models on first use (about a second), not an article's time.
WARMUP = RawArticleV1(
    article_id="0" * 32,
    source="warmup",
    html="<html><head><title>Warm-up</title></head><body><article><p>"
    + "Newsflow cleans this page once at start. " * 20
    + "</p></article></body></html>",
)


def make_handler(settings: CleaningSettings) -> BatchHandler:
    limits = Limits(settings.max_html_bytes, settings.max_text_chars, settings.max_body_chars)
    # Each article is cleaned in a child process under a time budget, so one
    # pathological page delays the articles behind it by the budget at most.
    clean_one = TimeBoundRunner(
        partial(clean_article, limits=limits), settings.max_clean_seconds, warmup=WARMUP
    )
    clean_one.start()

    async def handle(items: list[Item[Any]]) -> list[Result]:
        # Blocking (pipe to the child): off the event loop, so Kafka heartbeats keep going.
        return await asyncio.to_thread(clean_batch, items, clean_one)

    return handle


CLEANING = StageDefinition(
    name="cleaning",
    input=RAW,
    output=CLEAN,
    done_status="cleaned",
    settings=CleaningSettings,
    make_handler=make_handler,
)
