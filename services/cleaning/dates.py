"""Publication dates and stamps as they appear in page text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# Publication stamps: "Published 10:02 AM EST Nov 19, 2019", "Mis à jour le ...".
PUBLISHED_RE = re.compile(
    r"^(?:published|updated|posted|last\s+(?:updated|modified)|first\s+published"
    r"|publish(?:ed)?\s+date|publié|mis\s+à\s+jour|veröffentlicht|aktualisiert|pubblicato"
    r"|aggiornato|publicado|actualizado)\b",
    re.IGNORECASE,
)
# Clock times and relative times: "10:43", "6:34 am", "2 days ago", "32M ago".
TIME_RE = re.compile(
    r"\b\d{1,2}:\d{2}\b"
    r"|\b\d+\s*(?:s|m|h|d|w|secs?|mins?|minutes?|hrs?|hours?|days?|weeks?|months?)\s+ago\b",
    re.IGNORECASE,
)
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE_PATTERNS = (
    re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>\d\d)-(?P<d>\d\d)\b"),
    re.compile(
        rf"\b(?P<mon>{_MONTH_NAMES})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{_MONTH_NAMES})\.?,?\s+(?P<y>(?:19|20)\d\d)\b",
        re.IGNORECASE,
    ),
)
DATELINE_MAX_WORDS = 8


def date_of(text: str) -> datetime | None:
    """First unambiguous calendar date in a line (ISO or English month name), UTC midnight.

    Numeric dates like 06/07/2019 are skipped: day-first and month-first sites
    cannot be told apart from the text alone.
    """
    for pattern in _DATE_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        groups = match.groupdict()
        month = int(groups["m"]) if groups.get("m") else MONTHS[groups["mon"].lower()]
        try:
            return datetime(int(groups["y"]), month, int(groups["d"]), tzinfo=UTC)
        except ValueError:
            continue
    return None


def starts_with_date(text: str) -> bool:
    """Does the line open with a calendar date :func:`date_of` reads ("May 4 2026 - 9 min")?"""
    return any(pattern.match(text) for pattern in _DATE_PATTERNS)


# Zone abbreviations read without doubt. CST (US Central / China) and IST (India /
# Ireland / Israel) name several zones and are left out: a wrong zone is worse
# than none.
_ZONE_HOURS = {
    "utc": 0.0,
    "gmt": 0.0,
    "est": -5.0,
    "edt": -4.0,
    "cdt": -5.0,
    "mst": -7.0,
    "mdt": -6.0,
    "pst": -8.0,
    "pdt": -7.0,
    "cet": 1.0,
    "cest": 2.0,
    "bst": 1.0,
    "eet": 2.0,
    "eest": 3.0,
    "jst": 9.0,
    "kst": 9.0,
    "aest": 10.0,
    "aedt": 11.0,
}
_CLOCK_ZONE_RE = re.compile(
    r"\b(?P<h>[01]?\d|2[0-3])[:h](?P<m>[0-5]\d)(?::[0-5]\d)?\s*(?P<ampm>[ap]\.?m\.?)?"
    r"\s*\(?\s*(?:(?:utc|gmt)?\s*(?P<offset>[+-]\d{1,2}(?::?\d{2})?)\b|(?P<abbr>[a-z]{3,4})\b)",
    re.IGNORECASE,
)


def _zone(match: re.Match[str]) -> timezone | None:
    if abbr := match["abbr"]:
        hours = _ZONE_HOURS.get(abbr.casefold())
        return None if hours is None else timezone(timedelta(hours=hours))
    sign = -1 if match["offset"].startswith("-") else 1
    digits = match["offset"][1:].replace(":", "")
    hours, minutes = (int(digits), 0) if len(digits) <= 2 else (int(digits[:-2]), int(digits[-2:]))
    if hours > 14 or minutes >= 60:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def moment_of(text: str) -> datetime | None:
    """The date of a stamp line, with its time of day when the line also names the zone.

    "Nov 25, 2025 5:00 am PST" -> 2025-11-25T05:00-08:00. A clock time without a
    zone ("at 11:00 AM") says nothing certain about the instant, so the day alone
    is returned (midnight UTC), as :func:`date_of` does.
    """
    day = date_of(text)
    if day is None:
        return None
    match = _CLOCK_ZONE_RE.search(text)
    zone = _zone(match) if match else None
    if match is None or zone is None:
        return day
    hour = int(match["h"]) % 12 if match["ampm"] else int(match["h"])
    if (match["ampm"] or "").casefold().startswith("p"):
        hour += 12
    return datetime(day.year, day.month, day.day, hour, int(match["m"]), tzinfo=zone)
