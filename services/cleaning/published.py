"""When a served page was published: its declared publication date, time of day and zone kept.

Witnesses, in order of trust:

1. the date the reader sees with the headline (:mod:`~services.cleaning.stamps`):
   the first date line right below it, else a date line right above it (a
   kicker: "February 4, 2025 - 11 min"), else a ``<time>`` marked as the
   publication stamp (``pubdate``, ``itemprop``, classes like
   ``published``/``entry-date``). Sites rework evergreen articles and show the
   reworked date as *the* date while their structured data keeps the CMS's
   first-draft date, and the reader sees the shown one. It is passed over when
   labelled "Updated"/"Modified" or next to a copyright sign; a date shown without
   a label is taken even when the page declares it as its modification (on the
   evaluation pages readers took that shown date for the article's date twice as
   often as the hidden first draft). A shown day often carries no time: when a
   declared date or ``<time>`` falls on the same day, that one is returned, so time
   of day and zone are kept;
2. the JSON-LD article's ``datePublished`` (``dateCreated`` after it), then
   publication meta tags (``article:published_time``, ``datePublished``,
   ``parsely-pub-date``, Dublin Core, ``citation_publication_date``, ...);
3. the ``<time>`` nearest the headline; none from menus, sidebars, comments or
   teaser lists, none labelled as an update;
4. a full date in the URL's path (``/2019/11/20/``), set when the article was
   first published and kept when it changes;
5. a short labelled line anywhere on the page, "Posted on: …" before "Last
   updated: …" (:mod:`~services.cleaning.stamp_lines`);
6. htmldate's extensive search (original date), which also reads the URL and the
   visible text; it costs the most, so it runs only when nothing above answered.
   Its January 1st at midnight is a year alone (a copyright line, "… in 2025"),
   not a publication day, and is dropped. With no publication witness at all it
   may answer with the only date a page shows, its last update: a bound on the
   publication, better for ordering than nothing.

A publication instant declared in UTC is expressed in the zone the page writes its
other instants in (:func:`in_page_zone`): the same instant, on the site's own day.

But for that last resort, declared modification dates (``dateModified``,
``article:modified_time``), stamps labelled "Updated ..." and copyright years are
never taken for the publication date. A date outside 1900 … now + 2 days
(:mod:`shared.contracts.sanity`) is a page error: it is dropped with a warning and
the next witness is asked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from itertools import islice

from lxml.html import HtmlElement

from services.cleaning.dates import date_of
from services.cleaning.page import ARTICLE_TYPES, PAGE_TYPES, PageFacts, clean_value
from services.cleaning.stamp_lines import labelled_stamp
from services.cleaning.stamps import UPDATE_RE, headline_stamps, time_stamps
from shared.contracts.sanity import latest_publication, plausible_publication

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
# Where pages declare when they were last changed (a witness of their zone only).
_META_MODIFIED_KEYS = (
    "article:modified_time",
    "og:updated_time",
    "modified_time",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
    "last-modified",
    "updated",
)
_ISO_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)"
    r"\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})?)?"
    r"\s*$",
    re.IGNORECASE,
)
# A day shown without a zone is a day somewhere between these offsets.
_EAST_MOST = timedelta(hours=14)
_WEST_MOST = timedelta(hours=12)
_MIDNIGHT_UTC = time(0, 0, tzinfo=UTC)
_URL_DATE_RE = re.compile(
    r"/(?P<y>(?:19|20)\d\d)[/-](?P<m>0?[1-9]|1[0-2])[/-](?P<d>0?[1-9]|[12]\d|3[01])(?=[/_.-]|$)"
)
_MAX_URL_CHARS = 2_000
# <time> elements read for the page's zone, and the JSON-LD keys holding instants.
_MAX_ZONE_WITNESSES = 200
_JSON_LD_DATE_KEYS = ("datePublished", "dateCreated", "dateModified")
_COMPACT_RE = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
_EPOCH_RE = re.compile(r"^\d{10}(?:\d{3})?$")


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
    if not plausible_publication(value, now):
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


def date_in_url(url: str | None) -> str | None:
    """The full date (``YYYY-MM-DD``) in a URL's path, as in ``/2019/11/20/``, else ``None``."""
    path = (url or "").split("?", 1)[0].split("#", 1)[0][:_MAX_URL_CHARS]
    match = _URL_DATE_RE.search(path)
    if match is None:
        return None
    return f"{match['y']}-{int(match['m']):02d}-{int(match['d']):02d}"


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
        max_date=latest_publication(now).strftime("%Y-%m-%d"),
    )
    # A year alone comes back as January 1st, midnight: not a publication day.
    if found and not found.startswith("01-01T00:00:00", 5):
        yield "htmldate", found


def _first_plausible(witnesses: Iterable[tuple[str, str]], now: datetime) -> datetime | None:
    for witness, value in witnesses:
        found = plausible(parse_datetime(value), now, witness)
        if found is not None:
            return found
    return None


def _shown_publication(
    shown: datetime | None, label: str, precise: list[datetime], now: datetime
) -> datetime | None:
    """The date shown with the headline, if it is the publication (module docstring, 1)."""
    if shown is None or UPDATE_RE.search(label):
        return None
    if plausible(shown, now, "date shown with the headline") is None:
        return None
    return next((p for p in precise if _on_day(p, shown)), shown)


def _declared_offsets(tree: HtmlElement, facts: PageFacts) -> list[datetime]:
    """Instants the page states with a non-zero UTC offset: its own zone at work.

    From ``<time datetime>`` (comment stamps included: they are written by the same
    server), JSON-LD dates and date meta tags.
    """
    values = [
        element.get("datetime") or "" for element in islice(tree.iter("time"), _MAX_ZONE_WITNESSES)
    ]
    for obj in facts.objects_of(ARTICLE_TYPES | PAGE_TYPES):
        values += [clean_value(obj.get(key)) or "" for key in _JSON_LD_DATE_KEYS]
    values += [
        v for key in _META_PUBLISHED_KEYS + _META_MODIFIED_KEYS for v in facts.meta.get(key, ())
    ]
    return [
        parsed
        for value in values
        if ("+" in value or "-" in value[10:])
        and (parsed := _parse_iso(" ".join(value.split())[:80])) is not None
        and parsed.utcoffset() != timedelta(0)
    ]


def _utc_with_time(instant: datetime) -> bool:
    """A UTC instant with a time of day (midnight UTC is how a day alone is stored)."""
    return instant.utcoffset() == timedelta(0) and instant.timetz() != _MIDNIGHT_UTC


def in_page_zone(found: datetime, stated: list[datetime]) -> datetime:
    """A publication instant given in UTC, expressed in the zone the page writes its times in.

    CMSs such as WordPress declare ``article:published_time`` in UTC while the page
    shows and stamps local time (``<time datetime="2025-12-18T21:46:01-05:00">``):
    the instant is right, but its UTC day is not the day the site published on
    ("2025-12-19T02:41Z" is the evening of December 18 in New York). When the page
    states other instants with an offset, the one nearest in time gives the zone
    (so a daylight-saving change between them picks the right one). A day alone
    (midnight UTC: no time was given) is left as it is, as is any instant when the
    page states no offset.
    """
    if not _utc_with_time(found) or not stated:
        return found
    nearest = min(stated, key=lambda instant: abs(instant - found))
    zone = nearest.tzinfo
    return found.astimezone(zone) if zone is not None else found


def _on_day(instant: datetime, shown: datetime) -> bool:
    """Can ``instant`` be the moment a stamp showing ``shown`` refers to?

    A stamp with a time and zone names its own day. A day alone (midnight UTC, as
    :func:`~services.cleaning.dates.date_of` gives it) is written in the site's
    zone: an instant declared with an offset is compared in that offset; one
    declared in UTC says nothing of the site's zone, which may be anywhere from
    UTC-12 to UTC+14: "Nov. 18, 2019" on a New York site is 2019-11-19T00:04Z.
    """
    if shown.timetz() != _MIDNIGHT_UTC:
        return instant.astimezone(shown.tzinfo).date() == shown.date()
    if instant.date() == shown.date():
        return True
    if instant.utcoffset() != timedelta(0):
        return False
    start = datetime.combine(shown.date(), _MIDNIGHT_UTC)
    return start - _EAST_MOST <= instant < start + timedelta(days=1) + _WEST_MOST


def published_at(
    tree: HtmlElement,
    facts: PageFacts,
    url: str | None,
    now: datetime | None = None,
    headline: HtmlElement | None = None,
) -> datetime | None:
    """The page's publication date by the order of trust in the module docstring.

    ``headline`` is the article's visible ``<h1>`` (the first ``<h1>`` when not given).
    """
    now = now or datetime.now(UTC)
    if headline is None:
        headline = next(tree.iter("h1"), None)
    declared = _first_plausible(_json_ld_dates(facts), now) or _first_plausible(
        _meta_dates(facts), now
    )
    times = time_stamps(tree, headline)
    stamped = _first_plausible((("<time>", v) for _marked, v in times), now)
    marked = _first_plausible((("<time>", v) for is_marked, v in times if is_marked), now)
    shown = headline_stamps(headline)
    visible, label = (shown.below, shown.below_label) if shown.below else (shown.above, "")
    if visible is None:
        visible, label = marked, "<time>"
    precise = [d for d in (declared, stamped) if d is not None]
    found = _shown_publication(visible, label, precise, now) or declared or stamped
    if found is not None:
        # The page's zone is looked for only when there is an instant to express in it.
        return (
            in_page_zone(found, _declared_offsets(tree, facts)) if _utc_with_time(found) else found
        )
    in_url = date_in_url(url)
    if in_url is not None and (found := plausible(parse_datetime(in_url), now, "URL")):
        return found
    labelled = labelled_stamp(tree, facts.lang, now)
    if labelled is not None:
        return labelled
    return _first_plausible(_htmldate(tree, url, now), now)
