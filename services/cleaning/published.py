"""When a served page was published: its declared publication date, time of day and zone kept.

Witnesses, in order of trust:

1. the date the reader sees with the headline (:mod:`~services.cleaning.stamps`):
   the first date line right below it, else a date line right above it (a
   kicker: "February 4, 2025 - 11 min"), else a ``<time>`` marked as the
   publication stamp (``pubdate``, ``itemprop``, classes like
   ``published``/``entry-date``). Sites rework evergreen articles and show the
   reworked date as *the* date while their structured data keeps the CMS's
   first-draft date, and the reader sees the shown one. It is passed over when
   labelled "Updated"/"Modified", next to a copyright sign, or when it falls on
   the day the page declares as its *modification* while another witness gives
   a different publication day (the template shows the last change). A shown
   day often carries no time: when a declared date or ``<time>`` falls on the
   same day, that one is returned, so time of day and zone are kept;
2. the JSON-LD article's ``datePublished`` (``dateCreated`` after it), then
   publication meta tags (``article:published_time``, ``datePublished``,
   ``parsely-pub-date``, Dublin Core, ``citation_publication_date``, ...);
3. the ``<time>`` nearest the headline; none from menus, sidebars, comments or
   teaser lists, none labelled as an update;
4. a full date in the URL's path (``/2019/11/20/``), set when the article was
   first published and kept when it changes;
5. htmldate's extensive search (original date), which also reads the URL and the
   visible text; it costs the most, so it runs only when nothing above answered.
   Its January 1st at midnight is a year alone (a copyright line, "… in 2025"),
   not a publication day, and is dropped. With no publication witness at all it
   may answer with the only date a page shows, its last update: a bound on the
   publication, better for ordering than nothing.

But for that last resort, modification dates (``dateModified``,
``article:modified_time``, "Updated ...") and copyright years are never taken for
the publication date. A date outside 1900 … now + 2 days
(:mod:`shared.contracts.sanity`) is a page error: it is dropped with a warning and
the next witness is asked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime

from lxml.html import HtmlElement

from services.cleaning.dates import date_of
from services.cleaning.page import ARTICLE_TYPES, PAGE_TYPES, PageFacts, clean_value
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
# Where pages declare when they were last changed: the shown date may be this one.
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


def _modified_days(facts: PageFacts) -> set[date]:
    """Days the page declares it was last changed on (JSON-LD and meta), in its own zone."""
    values = [
        clean_value(obj.get("dateModified")) for obj in facts.objects_of(ARTICLE_TYPES | PAGE_TYPES)
    ]
    values += [v for key in _META_MODIFIED_KEYS for v in facts.meta.get(key, ())]
    return {parsed.date() for v in values if (parsed := parse_datetime(v)) is not None}


def _shown_publication(
    shown: datetime | None,
    label: str,
    precise: list[datetime],
    modified: set[date],
    now: datetime,
) -> datetime | None:
    """The date shown with the headline, if it is the publication (module docstring, 1)."""
    if shown is None or UPDATE_RE.search(label):
        return None
    if plausible(shown, now, "date shown with the headline") is None:
        return None
    day = shown.date()
    # The template shows the last change while the page declares another publication.
    if day in modified and any(not _on_day(p, shown) for p in precise):
        return None
    return next((p for p in precise if _on_day(p, shown)), shown)


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
    found = _shown_publication(visible, label, precise, _modified_days(facts), now)
    if found is not None:
        return found
    if declared is not None or stamped is not None:
        return declared or stamped
    in_url = date_in_url(url)
    if in_url is not None and (found := plausible(parse_datetime(in_url), now, "URL")):
        return found
    return _first_plausible(_htmldate(tree, url, now), now)
