"""When a served page was published: its declared publication date, time of day and zone kept.

Witnesses, in order of trust:

1. the JSON-LD article's ``datePublished`` (``dateCreated`` after it);
2. publication meta tags (``article:published_time``, ``datePublished``,
   ``parsely-pub-date``, Dublin Core, ``citation_publication_date``, ...);
3. a ``<time>`` or element marked as the publication stamp (``itemprop``,
   ``pubdate``, classes like ``published``/``entry-date``), then the first
   ``<time datetime>`` not labelled as an update;
4. htmldate's extensive search (original date), which also reads the URL and the
   visible text; it costs the most, so it runs only when nothing above answered.

Modification dates (``dateModified``, ``article:modified_time``, "Updated ...")
and copyright years are never taken for the publication date. A date in the
future (beyond a two-day allowance for clocks and time zones) or before 1900 is
a page error: it is dropped with a warning and the next witness is asked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from lxml.html import HtmlElement

from services.cleaning.dates import date_of
from services.cleaning.page import ARTICLE_TYPES, PAGE_TYPES, PageFacts, clean_value

log = logging.getLogger(__name__)

_META_PUBLISHED_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "published_time",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "citation_publication_date",
    "citation_online_date",
    "citation_date",
    "og:publish_date",
    "publish-date",
    "publish_date",
    "publishdate",
    "publication_date",
    "pubdate",
    "article.published",
    "date",
    "dc.date",
    "dcterms.date",
)
# A date this far ahead of now is a page error, not a clock skew or a time zone.
_FUTURE_ALLOWANCE = timedelta(days=2)
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_ISO_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)"
    r"\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})?)?"
    r"\s*$",
    re.IGNORECASE,
)
_COMPACT_RE = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
_EPOCH_RE = re.compile(r"^\d{10}(?:\d{3})?$")
_STAMP_CLASS_RE = re.compile(
    r"publish|pubdate|post-date|entry-date|article-date|posted|byline", re.I
)
_UPDATE_RE = re.compile(r"updat|modif|edited|revised|aktualisiert|mis\s+à\s+jour|actualizado", re.I)
_MAX_TIME_ELEMENTS = 30
# Text pieces read below the headline, and the longest piece that is a date line.
_HEADER_CHUNKS = 80
_HEADER_MAX_WORDS = 8
_NO_TEXT_TAGS = frozenset(("script", "style", "noscript", "template", "svg"))


def _parse_iso(value: str) -> datetime | None:
    match = _ISO_RE.match(value)
    if not match:
        return None
    text = match.group("date")
    if match.group("time"):
        clock = match.group("time").replace(",", ".")
        hour, rest = clock.split(":", 1)
        text += f"T{int(hour):02d}:{rest}"
        # Python keeps at most six fractional digits.
        text = re.sub(r"(\.\d{6})\d+$", r"\1", text)
    zone = (match.group("zone") or "").upper()
    if zone in ("Z", "UTC", "GMT"):
        text += "+00:00"
    elif zone:
        text += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_datetime(value: str | None) -> datetime | None:
    """A declared date as an aware datetime; ``None`` when it cannot be read.

    ISO 8601 in its usual variants (``Z``, ``+0000``, a space before the time or
    the zone, fractional seconds), RFC 2822 (``Fri, 19 Dec 2025 10:00:00 GMT``),
    ``YYYYMMDD``, Unix timestamps, and English dates ("December 17, 2025"). A value
    without a zone is taken as UTC; a date without a time is midnight UTC.
    """
    text = " ".join((value or "").split())[:80]
    if not text:
        return None
    parsed = _parse_iso(text)
    if parsed is not None:
        return parsed
    if compact := _COMPACT_RE.match(text):
        try:
            return datetime(int(compact["y"]), int(compact["m"]), int(compact["d"]), tzinfo=UTC)
        except ValueError:
            return None
    if _EPOCH_RE.match(text):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, tz=UTC)
    try:
        rfc = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        rfc = None
    if rfc is not None:
        return rfc if rfc.tzinfo else rfc.replace(tzinfo=UTC)
    return date_of(text)


def plausible(value: datetime | None, now: datetime, witness: str) -> datetime | None:
    """The date if it can be a publication date, else ``None`` with a warning."""
    if value is None:
        return None
    if value < _EARLIEST or value > now + _FUTURE_ALLOWANCE:
        log.warning("ignoring implausible publication date %s from %s", value.isoformat(), witness)
        return None
    return value


def _json_ld_dates(facts: PageFacts) -> Iterator[tuple[str, str]]:
    for types in (ARTICLE_TYPES, PAGE_TYPES):
        for obj in facts.objects_of(types):
            for key in ("datePublished", "dateCreated"):
                value = clean_value(obj.get(key))
                if value:
                    yield f"JSON-LD {key}", value


def _meta_dates(facts: PageFacts) -> Iterator[tuple[str, str]]:
    for key in _META_PUBLISHED_KEYS:
        for value in facts.meta.get(key, ()):
            yield f"meta {key}", value


def _label_of(element: HtmlElement) -> str:
    """Class, id and itemprop of an element and its parent, and the text before it."""
    parent = element.getparent()
    own = " ".join(filter(None, (element.get(a) for a in ("class", "id", "itemprop"))))
    around = ""
    if parent is not None:
        around = " ".join(filter(None, (parent.get(a) for a in ("class", "id", "itemprop"))))
        around += " " + (parent.text or "")
    previous = element.getprevious()
    if previous is not None:
        around += " " + (previous.tail or "") + " " + (previous.text or "")
    return f"{own} {around}"


def _time_dates(tree: HtmlElement) -> Iterator[tuple[str, str]]:
    """Marked publication stamps first, then the first unlabelled ``<time>``."""
    stamps: list[tuple[str, str]] = []
    plain: list[tuple[str, str]] = []
    for count, element in enumerate(tree.iter("time")):
        if count >= _MAX_TIME_ELEMENTS:
            break
        value = element.get("datetime") or element.text_content()
        label = _label_of(element) + " " + element.text_content()[:40]
        if not value or _UPDATE_RE.search(label):
            continue
        marked = element.get("pubdate") is not None or _STAMP_CLASS_RE.search(label)
        (stamps if marked else plain).append(("<time>", value))
    yield from stamps
    yield from plain[:1]


def _header_dates(tree: HtmlElement) -> Iterator[tuple[str, str]]:
    """The first date shown below the headline, unless labelled as an update.

    Sites rework evergreen articles and show the reworked date as *the* date,
    while their structured data keeps the CMS's first-draft date; the reader
    sees the shown one. Only the stretch right below the first ``<h1>`` is read
    (teaser lists further down carry dates of other stories), and a date
    labelled "Updated"/"Modified" or next to a copyright sign is passed over.
    """
    h1 = next(tree.iter("h1"), None)
    if h1 is None:
        return
    chunks: list[str] = []
    for element in h1.iterdescendants():
        chunks.append(element.tail or "")
    started = False
    for element in tree.iter():
        if element is h1:
            started = True
            chunks.append(h1.tail or "")
            continue
        if not started or not isinstance(element.tag, str) or element.tag in _NO_TEXT_TAGS:
            continue
        if element in h1.iterdescendants():
            continue
        chunks += [element.text or "", element.tail or ""]
        if len(chunks) > _HEADER_CHUNKS:
            break
    previous = ""
    for chunk in (" ".join(c.split()) for c in chunks):
        if not chunk:
            continue
        if len(chunk.split()) <= _HEADER_MAX_WORDS and (found := date_of(chunk)) is not None:
            label = f"{previous} {chunk}"
            if (
                not _UPDATE_RE.search(label)
                and "©" not in label
                and "copyright" not in label.lower()
            ):
                yield "date below the headline", found.isoformat()
            return
        previous = chunk


def _htmldate(tree: HtmlElement, url: str | None, now: datetime) -> Iterator[tuple[str, str]]:
    # Imported here: htmldate comes with trafilatura, and only pages that declare
    # nothing pay for its search.
    from htmldate import find_date

    found = find_date(
        tree,
        url=url,
        extensive_search=True,
        original_date=True,
        outputformat="%Y-%m-%dT%H:%M:%S%z",
        max_date=(now + _FUTURE_ALLOWANCE).strftime("%Y-%m-%d"),
    )
    if found:
        yield "htmldate", found


def published_at(
    tree: HtmlElement, facts: PageFacts, url: str | None, now: datetime | None = None
) -> datetime | None:
    """The page's publication date by the order of trust in the module docstring."""
    now = now or datetime.now(UTC)
    order = (_header_dates(tree), _json_ld_dates(facts), _meta_dates(facts), _time_dates(tree))
    for witnesses in order:
        for witness, value in witnesses:
            found = plausible(parse_datetime(value), now, witness)
            if found is not None:
                return found
    for witness, value in _htmldate(tree, url, now):
        found = plausible(parse_datetime(value), now, witness)
        if found is not None:
            return found
    return None
