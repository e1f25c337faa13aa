"""A labelled date line anywhere on the page: "Posted on: 01-04-2024", "Last updated: June 2022".

The last witness before htmldate (see :mod:`~services.cleaning.published`), asked
only when the page declares no publication date, shows none with its headline and
has none in its URL. Small sites and public-service pages often have no structured
data and put their one stamp away from the headline (at the end of the article, in
a side box). A short line that *says* what its date is beats htmldate's guess, which
on such pages reads citation dates in the text ("Psychological Medicine. August 18,
2020") or the date of a hidden modification field.

Rules:

* a line of at most :data:`MAX_WORDS` words, from an element with few descendants
  (a label and its value), never from scripts or styles;
* a publication label ("Posted", "Published", "Post time", "Date posted") wins over an
  update label ("Last updated", "Updated", "Last modified"), which is taken only when
  no line gives a publication date: an update bounds the publication and orders the
  article better than nothing, as htmldate's own answer would;
* dates in words or ISO form (:func:`~services.cleaning.dates.date_of`); a month and a
  year alone ("June 2022") is the 1st of that month; a numeric date with both parts
  ≤ 12 is read month-first only on pages declared in US (or unqualified) English,
  since day-first and month-first cannot be told apart otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice

from lxml.html import HtmlElement

from services.cleaning.dates import MONTHS, date_of
from shared.contracts.sanity import plausible_publication

MAX_WORDS = 8
# A label with its value is a handful of elements; a container with more is not one line.
_MAX_DESCENDANTS = 6
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title"})
_PUBLISHED_LINE = re.compile(
    r"^(?:posted|published|post\s+(?:time|date)|date\s+posted|publication\s+date)"
    r"(?:\s+on)?\s*:?\s*(?P<rest>.+)$",
    re.IGNORECASE,
)
_UPDATED_LINE = re.compile(
    r"^(?:last\s+updated|updated|last\s+modified|page\s+last\s+(?:updated|modified))"
    r"(?:\s+on)?\s*:?\s*(?P<rest>.+)$",
    re.IGNORECASE,
)
_NUMERIC = re.compile(r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>(?:19|20)\d\d)$")
_MONTH_YEAR = re.compile(r"^(?P<mon>[A-Za-z]+)\.?,?\s+(?P<y>(?:19|20)\d\d)$")
_MONTH_FIRST_LANGS = frozenset({"en", "en-us"})


def line_date(value: str, lang: str | None) -> datetime | None:
    """The date a label's value states, UTC midnight, or ``None`` when unsure."""
    value = value.strip()
    found = date_of(value)
    if found is not None:
        return found
    numeric = _NUMERIC.match(value)
    if numeric:
        return _numeric_date(int(numeric["a"]), int(numeric["b"]), int(numeric["y"]), lang)
    month_year = _MONTH_YEAR.match(value)
    if month_year and month_year["mon"].lower() in MONTHS:
        return datetime(int(month_year["y"]), MONTHS[month_year["mon"].lower()], 1, tzinfo=UTC)
    return None


def _numeric_date(first: int, second: int, year: int, lang: str | None) -> datetime | None:
    if first > 12 and second <= 12:
        month, day = second, first
    elif (second > 12 and first <= 12) or (lang or "").lower() in _MONTH_FIRST_LANGS:
        month, day = first, second
    else:
        return None
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def short_lines(tree: HtmlElement) -> Iterator[str]:
    """Text of each small element (a label and its value), in document order."""
    # A walk in document order that never enters a skipped element: one visit
    # per element, where asking each element for its ancestors would cost the
    # page's depth each time.
    pending = [tree]
    while pending:
        element = pending.pop()
        if not isinstance(element.tag, str) or element.tag in _SKIPPED_TAGS:
            continue
        pending.extend(reversed(element))
        if sum(1 for _ in islice(element.iter(), _MAX_DESCENDANTS + 1)) > _MAX_DESCENDANTS:
            continue
        words = element.text_content().split()
        if words and len(words) <= MAX_WORDS:
            yield " ".join(words)


def labelled_stamp(tree: HtmlElement, lang: str | None, now: datetime) -> datetime | None:
    """The date of the first "Posted …" line, else of the first "Last updated …" line.

    Dates outside the plausible window (:mod:`shared.contracts.sanity`) are passed over.
    """
    updated: datetime | None = None
    for line in short_lines(tree):
        if published := _PUBLISHED_LINE.match(line):
            found = line_date(published["rest"], lang)
            if found is not None and plausible_publication(found, now):
                return found
        elif updated is None and (update := _UPDATED_LINE.match(line)):
            found = line_date(update["rest"], lang)
            if found is not None and plausible_publication(found, now):
                updated = found
    return updated
