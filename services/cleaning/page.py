"""What a served page says about itself: meta tags and JSON-LD, read once from its tree.

The metadata rules (:mod:`~services.cleaning.titles`, :mod:`~services.cleaning.authors`,
:mod:`~services.cleaning.published`, :mod:`~services.cleaning.source`) weigh several
witnesses for each field; this module only collects the declared ones, so each rule
reads plain strings and dicts instead of walking the tree again.

Pages are hostile input: JSON-LD blocks may be huge, deeply nested, cyclic through
``@id`` references or not JSON at all, and meta values may be megabytes long. Every
reader here is bounded (sizes, node counts, string lengths) and never raises on bad
markup: a block it cannot read is skipped.
"""

# Word lists read best as one string (SIM905 would spell them out).
# ruff: noqa: SIM905

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement

# A JSON-LD block larger than this is not metadata worth its parsing time.
_MAX_JSON_LD_CHARS = 500_000
# Objects visited per page while flattening JSON-LD (graphs, nested authors, ...).
_MAX_JSON_LD_NODES = 2_000
# Longest meta or JSON-LD string kept: titles, names and dates are short.
_MAX_VALUE_CHARS = 2_000

# schema.org types whose object describes the article itself. A page's WebPage
# object often carries the same fields and is used when no article object exists.
ARTICLE_TYPES = frozenset(
    (
        "article newsarticle blogposting report reportagenewsarticle analysisnewsarticle "
        "opinionnewsarticle reviewnewsarticle backgroundnewsarticle askpublicnewsarticle "
        "techarticle scholarlyarticle socialmediaposting liveblogposting satiricalarticle "
        "medicalscholarlyarticle advertisercontentarticle review recipe howto"
    ).split()
)
_BLOCK_TAGS = frozenset(("div p li h1 h2 h3 h4 h5 h6 br section header footer td tr").split())
_SKIPPED_TAGS = frozenset(("script", "style", "noscript", "template", "svg"))
PAGE_TYPES = frozenset(["webpage", "itempage", "medicalwebpage", "aboutpage", "faqpage", "qapage"])
ORGANISATION_TYPES = frozenset(
    ["organization", "newsmediaorganization", "corporation", "localbusiness", "website"]
)


@dataclass
class PageFacts:
    """The declared metadata of one page, as plain values."""

    # meta name/property/itemprop (lower-cased) -> contents, in page order
    meta: dict[str, list[str]] = field(default_factory=dict)
    # JSON-LD objects, flattened (graph members and nested objects included)
    json_ld: list[dict[str, Any]] = field(default_factory=list)
    title_tag: str | None = None
    canonical: str | None = None
    lang: str | None = None

    def first_meta(self, *keys: str) -> str | None:
        """The first non-empty content among the given meta keys, in key order."""
        for key in keys:
            for value in self.meta.get(key, ()):
                if value.strip():
                    return value.strip()
        return None

    def objects_of(self, types: frozenset[str]) -> list[dict[str, Any]]:
        """JSON-LD objects whose ``@type`` (or one of them) is in ``types``."""
        return [obj for obj in self.json_ld if type_names(obj) & types]


def clean_value(value: object) -> str | None:
    """A JSON-LD or meta string: entities decoded, white space folded, bounded; else None.

    Sites encode entities twice (``&amp;#8211;`` in JSON-LD), so decoding runs until
    the string stops changing (at most three times).
    """
    if not isinstance(value, str):
        return None
    text = value[:_MAX_VALUE_CHARS]
    for _ in range(3):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    text = " ".join(text.split())
    return text or None


def type_names(obj: dict[str, Any]) -> set[str]:
    """Lower-cased ``@type`` names of a JSON-LD object (a string or a list of them)."""
    value = obj.get("@type")
    values = value if isinstance(value, list) else [value]
    return {v.rsplit("/", 1)[-1].casefold() for v in values if isinstance(v, str)}


def _walk_json(value: object, budget: list[int]) -> Iterator[dict[str, Any]]:
    """Every dict inside a JSON value, depth first, within the shared node budget."""
    stack = [value]
    while stack and budget[0] > 0:
        item = stack.pop()
        if isinstance(item, dict):
            budget[0] -= 1
            yield item
            stack.extend(reversed([v for v in item.values() if isinstance(v, dict | list)]))
        elif isinstance(item, list):
            stack.extend(reversed([v for v in item if isinstance(v, dict | list)]))


def _read_json_ld(tree: HtmlElement) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    budget = [_MAX_JSON_LD_NODES]
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().casefold() != "application/ld+json":
            continue
        text = script.text or ""
        if not text.strip() or len(text) > _MAX_JSON_LD_CHARS:
            continue
        try:
            data = json.loads(text)
        # Not JSON (comments, trailing commas, templating) or nested past the
        # parser's recursion limit (a hostile page): skipped.
        except (ValueError, RecursionError):
            continue
        objects.extend(_walk_json(data, budget))
    return objects


def _read_meta(tree: HtmlElement) -> dict[str, list[str]]:
    meta: dict[str, list[str]] = {}
    for element in tree.iter("meta"):
        content = element.get("content")
        if content is None:
            continue
        for attribute in ("property", "name", "itemprop"):
            key = element.get(attribute)
            if key:
                meta.setdefault(key.strip().casefold(), []).append(content[:_MAX_VALUE_CHARS])
    return meta


def read_page(tree: HtmlElement) -> PageFacts:
    """Collect meta tags, JSON-LD, ``<title>``, canonical link and language of a page."""
    facts = PageFacts(meta=_read_meta(tree), json_ld=_read_json_ld(tree))
    title = tree.find(".//title")
    if title is not None:
        facts.title_tag = clean_value(title.text_content())
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").casefold().split()
        if "canonical" in rel and link.get("href"):
            facts.canonical = link.get("href", "").strip()[:_MAX_VALUE_CHARS]
            break
    facts.lang = (tree.get("lang") or "").strip()[:20] or None
    return facts


def element_text(element: HtmlElement) -> str:
    """Visible text of an element; block boundaries and ``<br>`` become line breaks."""
    parts: list[str] = []

    def walk(node: HtmlElement) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag and tag not in _SKIPPED_TAGS:
            block = tag in _BLOCK_TAGS and node is not element
            if block:
                parts.append("\n")
            parts.append(node.text or "")
            for child in node:
                walk(child)
            if block:
                parts.append("\n")
        if node is not element:
            parts.append(node.tail or "")

    walk(element)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)
