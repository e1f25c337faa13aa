"""Publication dates and stamps as they appear in page text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

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
