"""Read a fetched feed: RSS, Atom or a (news) sitemap, into plain entries.

Pure functions over bytes: no I/O, so every format quirk has a unit test.
RSS and Atom go through feedparser, which copes with the malformed feeds the
web is full of; sitemaps are a simple, strict XML format and go through the
standard library's parser.

Dates a feed claims outside 1900 … now + 2 days (``shared.contracts.sanity``)
are dropped to unknown with a warning: a ``<pubDate>`` of 9999-12-31 once
broke every search's date histogram, and a feed is nobody we can answer 422.
"""

from __future__ import annotations

import calendar
import html
import io
import logging
import re
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit
from xml.etree import ElementTree as ET

import feedparser

from shared.contracts.sanity import plausible_publication

log = logging.getLogger(__name__)

FeedKind = Literal["rss", "atom", "sitemap", "sitemap-index"]

# The metadata hints end up in RawArticleV1, whose fields have these limits.
_MAX_HINT_CHARS = 2000
_MAX_URL_CHARS = 2048
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$")
_TAG = re.compile(r"<[^>]{0,2000}>")
_ROOT_TAGS = {"urlset": "sitemap", "sitemapindex": "sitemap-index"}


class FeedParseError(ValueError):
    """The body is not a feed or a sitemap we can read (bad data: retrying
    the same bytes would fail the same way)."""


@dataclass(frozen=True)
class Entry:
    """One item of a feed: where the article is, and what the feed says about it."""

    url: str
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    # Sitemaps' <lastmod> (or Atom's <updated>): good for ordering, not a
    # publication date, so never sent as one.
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ParsedFeed:
    kind: FeedKind
    title: str | None = None
    language: str | None = None
    entries: list[Entry] = field(default_factory=list)
    # Child sitemaps of a sitemap index, most recent first.
    sitemaps: list[str] = field(default_factory=list)


def parse_feed(
    body: bytes, url: str, content_type: str | None = None, now: datetime | None = None
) -> ParsedFeed:
    """Parse what a source served. Raises FeedParseError for anything that is
    neither an RSS/Atom feed nor a sitemap. Dates are judged against `now`
    (the current time by default)."""
    body = _gunzip(body)
    root = _root_tag(body)
    dates = _DateFilter(url, now)
    if root in _ROOT_TAGS:
        parsed = _parse_sitemap(body, url, dates)
    else:
        parsed = _parse_syndication(body, url, content_type, dates)
    dates.warn()
    return parsed


class _DateFilter:
    """Keeps a feed's dates that can be true and drops the others to None,
    counting them so that one warning per feed says so (a feed of 10,000
    bad dates is one log line, not 10,000)."""

    def __init__(self, url: str, now: datetime | None) -> None:
        self.url = url
        self.now = now
        self.dropped = 0
        self.example: str | None = None

    def __call__(self, value: datetime | None) -> datetime | None:
        if value is None or plausible_publication(value, self.now):
            return value
        self.dropped += 1
        self.example = self.example or value.isoformat()
        return None

    def warn(self) -> None:
        if self.dropped:
            log.warning(
                "implausible feed dates dropped (outside 1900 … now + 2 days)",
                extra={"url": self.url, "dropped": self.dropped, "example": self.example},
            )


# ---------------------------------------------------------------- helpers
def _gunzip(body: bytes, limit: int = 50_000_000) -> bytes:
    """Sitemaps are often served as .xml.gz without a Content-Encoding."""
    if not body.startswith(b"\x1f\x8b"):
        return body
    try:
        # Decompress with a cap: a small gzip bomb must not fill the memory.
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        data = decompressor.decompress(body, limit)
    except zlib.error as exc:
        raise FeedParseError(f"bad gzip data: {exc}") from exc
    if decompressor.unconsumed_tail:
        raise FeedParseError(f"feed larger than {limit} bytes once decompressed")
    return data


def _root_tag(body: bytes) -> str | None:
    """Local name of the XML root element, or None if the start is not XML."""
    # iterparse reads incrementally: only the start of the body is parsed.
    try:
        for _event, element in ET.iterparse(io.BytesIO(body), events=("start",)):
            return _local(element.tag)
    except ET.ParseError:
        return None
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def clean_hint(value: Any) -> str | None:
    """Text for a title/author hint: markup and entities removed, whitespace
    collapsed, cut to the contract's limit; None when nothing is left."""
    if not isinstance(value, str):
        return None
    text = " ".join(html.unescape(_TAG.sub(" ", value)).split())
    return text[:_MAX_HINT_CHARS] or None


def language_code(value: Any) -> str | None:
    """'en-US' -> 'en'; None for anything that is not a language tag."""
    if not isinstance(value, str):
        return None
    match = _LANGUAGE.match(value.strip().lower())
    return match.group(1) if match else None


def _http_url(link: Any, base: str) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    absolute = urljoin(base, link.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if len(absolute) > _MAX_URL_CHARS:
        return None
    return absolute


def _from_struct(value: Any) -> datetime | None:
    """feedparser's dates are UTC struct_times."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _from_w3c(value: str | None) -> datetime | None:
    """A sitemap date (W3C datetime: '2024-05-01', '2024-05-01T10:00:00+02:00')."""
    if not value or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


# ---------------------------------------------------------------- RSS / Atom
def _author(entry: Any) -> str | None:
    """Names only: RSS <author> is often 'email (Name)'; an address alone is
    contact data, not a byline, so it is dropped."""
    names = []
    for person in entry.get("authors") or []:
        name = clean_hint(person.get("name")) if isinstance(person, dict) else None
        if name and "@" not in name and name not in names:
            names.append(name)
    if not names:
        single = clean_hint(entry.get("author"))
        if single and "@" not in single:
            names.append(single)
    return ", ".join(names)[:_MAX_HINT_CHARS] if names else None


def _parse_syndication(
    body: bytes, url: str, content_type: str | None, dates: _DateFilter
) -> ParsedFeed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # feedparser is given bytes, never a URL: every request goes through our
    # polite fetcher.
    parsed = feedparser.parse(body, response_headers=headers)
    version = str(parsed.get("version") or "")
    if not version:
        reason = parsed.get("bozo_exception")
        raise FeedParseError(
            "not an RSS/Atom feed or a sitemap" + (f" ({reason})" if reason else "")
        )
    kind: FeedKind = "atom" if version.startswith("atom") else "rss"
    feed = parsed.get("feed", {})
    entries = []
    for item in parsed.get("entries", []):
        link = _http_url(item.get("link"), url)
        if link is None:
            continue
        # dict.get, not FeedParserDict.get: the latter maps a missing
        # "updated" to "published" (with a deprecation warning), which would
        # blur the two dates this code keeps apart.
        published = dates(_from_struct(dict.get(item, "published_parsed")))
        updated = dates(_from_struct(dict.get(item, "updated_parsed")))
        # RSS 1.0 and many RSS 2.0 feeds date items with dc:date, which
        # feedparser files as "updated"; in RSS it is the publication date.
        # Atom's <updated> is not, so it stays a mere ordering hint there.
        if published is None and kind == "rss":
            published = updated
        entries.append(
            Entry(
                url=link,
                title=clean_hint(item.get("title")),
                author=_author(item),
                published_at=published,
                language=language_code(item.get("language")),
                updated_at=updated,
            )
        )
    return ParsedFeed(
        kind=kind,
        title=clean_hint(feed.get("title")),
        language=language_code(feed.get("language")),
        entries=entries,
    )


# ---------------------------------------------------------------- sitemaps
def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _text(element: ET.Element | None, *path: str) -> str | None:
    for name in path:
        if element is None:
            return None
        element = _child(element, name)
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _parse_sitemap(body: bytes, url: str, dates: _DateFilter) -> ParsedFeed:
    # Sitemaps never need a DTD; refusing entity declarations outright keeps
    # entity-expansion tricks out whatever the expat version.
    if b"<!ENTITY" in body[:100_000].upper():
        raise FeedParseError("sitemap declares XML entities; refused")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise FeedParseError(f"malformed sitemap XML: {exc}") from exc
    if _local(root.tag) == "sitemapindex":
        children = []
        for item in root:
            if _local(item.tag) != "sitemap":
                continue
            loc = _http_url(_text(item, "loc"), url)
            if loc:
                children.append((dates(_from_w3c(_text(item, "lastmod"))), loc))
        # Newest first: a news site's index grows a sitemap per day or month.
        children.sort(key=lambda c: c[0] or datetime.min.replace(tzinfo=UTC), reverse=True)
        return ParsedFeed(kind="sitemap-index", sitemaps=[loc for _, loc in children])
    entries = []
    for item in root:
        if _local(item.tag) != "url":
            continue
        loc = _http_url(_text(item, "loc"), url)
        if loc is None:
            continue
        news = _child(item, "news")
        entries.append(
            Entry(
                url=loc,
                title=clean_hint(_text(news, "title")),
                published_at=dates(_from_w3c(_text(news, "publication_date"))),
                language=language_code(_text(news, "publication", "language")),
                updated_at=dates(_from_w3c(_text(item, "lastmod"))),
            )
        )
    return ParsedFeed(kind="sitemap", entries=entries)


__all__ = ["Entry", "FeedParseError", "ParsedFeed", "clean_hint", "language_code", "parse_feed"]
