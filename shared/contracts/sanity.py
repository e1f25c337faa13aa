"""Plausibility rules every service applies to what callers, feeds and pages
claim: one window of believable publication dates, and the invisible
characters that must never reach a title, a byline or a source name.

A news article is not published before 1900 nor more than a couple of days
ahead (time zones, embargoed copy); anything outside that window is a typo or
an attack (``9999-12-31`` once broke the date histogram of every search).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

EARLIEST_PUBLICATION = datetime(1900, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)

# Bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the
# LRM/RLM/ALM marks: they reorder how text displays, so "gpj.exe" can show as
# "exe.jpg". Legitimate right-to-left text needs none of them in a title.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def latest_publication(now: datetime | None = None) -> datetime:
    """The latest publication date believed, relative to `now`."""
    return (now or datetime.now(UTC)) + FUTURE_SLACK


def aware(value: datetime) -> datetime:
    """The datetime with a time zone: a naive one is taken as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def plausible_publication(value: datetime, now: datetime | None = None) -> bool:
    """Whether `value` can be a publication date: 1900-01-01 … now + 2 days."""
    moment = aware(value)
    return EARLIEST_PUBLICATION <= moment <= latest_publication(now)


def implausible_reason(value: datetime, now: datetime | None = None) -> str | None:
    """Why `value` cannot be a publication date, or None when it can."""
    if plausible_publication(value, now):
        return None
    return (
        f"publication date {value.isoformat()} is outside "
        f"{EARLIEST_PUBLICATION.date().isoformat()} … now + {FUTURE_SLACK.days} days"
    )


def strip_bidi_controls(text: str) -> str:
    """The text without bidirectional control characters."""
    return _BIDI_CONTROLS.sub("", text)
