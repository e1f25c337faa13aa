"""The HTML path: trafilatura extracts the article, we tidy what it returns.

trafilatura is the reference extractor for served HTML (F1 0.951 on the project's
evaluation set with its defaults), so it does the work; pages where it finds no
body are flattened and go through the scraped-text path.
"""

# Tag lists read best as one string (SIM905 would spell them out).
# ruff: noqa: SIM905

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from lxml.html import HtmlElement

from services.cleaning.cascade import extract_text, load_page
from services.cleaning.from_text import CREDIT_REACH, MIN_PARAGRAPH_WORDS, extract_from_text
from services.cleaning.html_meta import read_metadata
from services.cleaning.language import detect_language
from services.cleaning.layout import unwrap_layout_tables
from services.cleaning.lead import trim_lead
from services.cleaning.result import Extracted, ExtractionError
from services.cleaning.scraped import is_furniture_line
from services.cleaning.teasers import credit_of, teaser_headline
from services.cleaning.text import normalise_lines, reject_unusable, word_count

# Block elements end a line when the fallback flattens HTML; paragraph-like ones
# also leave a blank line, the way scraped text looks.
_PARAGRAPH_TAGS = frozenset(
    "p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl figure header footer nav aside "
    "section article main form".split()
)
_LINE_TAGS = frozenset("div li tr td th dd dt figcaption br hr option label".split())
_SKIPPED_TAGS = frozenset("script style noscript template svg head iframe object canvas".split())


def _html_to_text(root: HtmlElement) -> str:
    """Flatten a parsed page to one block per line, ``<title>`` first, for the text cleaner.

    Used when trafilatura finds no body. ``text_content()`` would glue menus and
    paragraphs into one line and leave the text cleaner nothing to tell apart.
    """
    parts: list[str] = []
    title = root.findtext(".//title")
    if title and title.strip():
        parts.append(title.strip() + "\n\n")

    def walk(element: HtmlElement) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""  # comments have no tag
        if tag and tag not in _SKIPPED_TAGS:
            breaker = "\n\n" if tag in _PARAGRAPH_TAGS else "\n" if tag in _LINE_TAGS else ""
            parts.append(breaker)
            parts.append(element.text or "")
            for child in element:
                walk(child)
            parts.append(breaker)
        parts.append(element.tail or "")

    body = root.find("body")
    walk(body if body is not None else root)
    # Runs of blank lines become one, so blocks are separated exactly as in scraped text.
    return re.sub(r"[^\S\n]*\n(?:[^\S\n]*\n)+", "\n\n", "".join(parts)).strip()


def _tidy_body(text: str, title: str | None) -> tuple[str, list[str], list[str]]:
    """Drop the furniture lines trafilatura kept and pull credit lines out of its body.

    trafilatura removes most boilerplate, but what it sometimes starts the body with
    (a box heading, the headline again, its date stamp: :mod:`~services.cleaning.lead`),
    a "Read also | ..." teaser, a "Comments" heading or a "The world with
    AFP" credit inside the article container survive it. Only line-level rules
    apply here (no region search): the body stays trafilatura's. Returns the
    normalised body, the credited agencies and the teasers' headlines.
    """
    credit: list[str] = []
    kept: list[str] = []
    related: list[str] = []
    lines = normalise_lines(text)
    raw_lines = trim_lead(lines, title)
    for index, line in enumerate(raw_lines):
        at_tail = index >= len(raw_lines) - CREDIT_REACH
        agencies = credit_of(line) if at_tail else None
        headline = teaser_headline(line)
        if headline is not None:
            related.append(headline)
        elif agencies is not None:
            credit.extend(a for a in agencies if a not in credit)
        elif not is_furniture_line(line):
            kept.append(line)
    return "\n\n".join(kept), credit, related


def extract_from_html(html: str, url: str | None = None, now: datetime | None = None) -> Extracted:
    """Extract the article from a served HTML page with trafilatura and tidy the result.

    The page is parsed once (twice when it holds no article). Its metadata
    (headline, authors, publication date, site identity) comes from our own rules
    (:mod:`~services.cleaning.html_meta`), read before anything changes the tree;
    then layout tables become plain blocks and trafilatura extracts the body from
    the same tree (:mod:`~services.cleaning.cascade`), with comments left out
    (``text`` is the article alone) and without its own metadata pass. The language
    is detected on the extracted body, which is more reliable than a page's
    ``lang`` attribute. When trafilatura finds no body, the page is flattened and
    goes through :func:`extract_from_text`. ``now`` bounds plausible dates (tests
    pin it). Raises :class:`ExtractionError` for empty, binary or article-less pages.
    """
    reject_unusable(html, "HTML")
    tree = load_page(html)
    if tree is None:
        raise ExtractionError("HTML input cannot be parsed")
    meta = read_metadata(tree, url, now)
    unwrap_layout_tables(tree)
    # The metadata is read: the extraction may take the tree over (it prunes it).
    extracted = extract_text(tree, url)
    body, credit, related = _tidy_body(extracted, meta.title) if extracted else ("", [], [])
    # As in the text path, a body of labels alone ("Home", "News") is no article.
    if not any(word_count(p) >= MIN_PARAGRAPH_WORDS for p in body.split("\n\n")):
        # The tree was pruned by the extraction: the page is read again (rare).
        whole = load_page(html)
        if whole is None:  # parsed a moment ago: cannot happen, but say so
            raise ExtractionError("HTML input cannot be parsed")
        unwrap_layout_tables(whole)
        fallback = extract_from_text(_html_to_text(whole))
        return replace(
            fallback,
            title=meta.title or fallback.title,
            authors=meta.authors or fallback.authors,
            published_at=meta.published_at or fallback.published_at,
            site_name=meta.site.name or fallback.site_name,
            site_domain=meta.site.domain,
            input_format="html",
        )
    return Extracted(
        title=meta.title,
        text=body,
        authors=meta.authors,
        published_at=meta.published_at,
        language=detect_language(body) or _language_of(meta.lang),
        site_name=meta.site.name,
        site_domain=meta.site.domain,
        credit=credit,
        input_format="html",
        related=related,
    )


def _language_of(lang: str | None) -> str | None:
    """ISO 639-1 part of a ``lang`` attribute ("en-US" -> "en"), if it looks like one."""
    code = (lang or "").split("-")[0].split("_")[0].casefold()
    return code if len(code) == 2 and code.isalpha() else None
