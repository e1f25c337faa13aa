"""What the cleaner returns, and the error it raises for pages without an article."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


class ExtractionError(ValueError):
    """Raised for input that holds no article at all (empty, binary, only furniture).

    It is a *bad data* error: the worker sends the message to the dead-letter topic
    with this message as the reason and never retries it.
    """


@dataclass(frozen=True)
class Extracted:
    """The article found in one page, ready for the ``articles.clean`` topic."""

    title: str | None
    text: str  # article body only; paragraphs separated by "\n\n"
    authors: list[str]
    published_at: datetime | None  # timezone-aware (UTC when the page gives no zone)
    language: str | None  # ISO 639-1, e.g. "en"
    site_name: str | None  # what the site calls itself, else its domain
    credit: list[str]  # agencies credited by lines like "The world with AFP" -> ["AFP"]
    input_format: Literal["html", "text"]
    # Headlines of other stories the page inlines in the article ("Read also | ...").
    # Kept out of the body, but they say what the article is related to, so the
    # entities stage reads them too.
    related: list[str] = field(default_factory=list)
    # Registrable domain of the article's URL ("nj.com"): the stable identity of
    # its source, whatever tool delivered it (see services.cleaning.source).
    site_domain: str | None = None
