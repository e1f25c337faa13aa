"""The Atom feed of a subscription: its latest matches (RFC 4287).

Everything in it comes from articles, i.e. from strangers: the tree is built
with ``xml.etree`` (which escapes ``<``, ``&`` and quotes), and characters
XML 1.0 cannot carry at all (most control characters, unpaired surrogates)
are dropped first, since an escaped one still breaks every feed reader. Only
http(s) links are written. The feed token is never written into the feed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from shared.contracts.sanity import strip_bidi_controls

ATOM = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MAX_TEXT = 1000


def xml_text(value: object, limit: int = _MAX_TEXT) -> str:
    """Text an XML document can hold: invalid and bidi control characters
    dropped, at most `limit` characters."""
    text = strip_bidi_controls(_NOT_XML.sub("", str(value)))
    return text[:limit]


def rfc3339(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(value: object) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _http(url: object) -> str | None:
    text = xml_text(url or "", 4000)
    return text if text.lower().startswith(("http://", "https://")) else None


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _entry(feed: ET.Element, item: Mapping[str, Any], article_base: str) -> None:
    entry = _sub(feed, "entry")
    article = xml_text(item.get("article_id", ""), 64)
    _sub(entry, "id", f"urn:newsflow:article:{article}")
    _sub(entry, "title", xml_text(item.get("title") or "(untitled)"), type="text")
    matched = _when(item.get("matched_at")) or datetime.now(UTC)
    _sub(entry, "updated", rfc3339(matched))
    if (published := _when(item.get("published_at"))) is not None:
        _sub(entry, "published", rfc3339(published))
    if (url := _http(item.get("url"))) is not None:
        _sub(entry, "link", href=url, rel="alternate")
    _sub(entry, "link", href=f"{article_base}{article}", rel="related")
    author = _sub(entry, "author")
    _sub(author, "name", xml_text(item.get("source") or "unknown", 200))
    summary = f"{xml_text(item.get('source') or '', 200)}"
    if published is not None:
        summary += f", published {published:%Y-%m-%d}"
    _sub(entry, "summary", summary, type="text")


def atom_feed(
    *,
    subscription_id: str,
    name: str,
    items: Iterable[Mapping[str, Any]],
    base_url: str,
    updated: datetime,
) -> bytes:
    """The feed document. `items` are feed entries (newest first), as the
    delivery worker stores them; `base_url` is the search API's root."""
    ET.register_namespace("", ATOM)
    base = base_url.rstrip("/")
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "id", f"urn:newsflow:subscription:{xml_text(subscription_id, 64)}")
    _sub(feed, "title", f"Newsflow: {xml_text(name, 300)}", type="text")
    entries = list(items)
    newest = max((_when(i.get("matched_at")) for i in entries), default=None, key=_sort_key)
    _sub(feed, "updated", rfc3339(newest or updated))
    _sub(feed, "link", href=f"{base}/", rel="alternate")
    author = _sub(feed, "author")
    _sub(author, "name", "Newsflow")
    _sub(feed, "generator", "Newsflow")
    for item in entries:
        _entry(feed, item, f"{base}/v1/articles/")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _sort_key(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else float("-inf")
