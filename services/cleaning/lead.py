"""The top of an extracted body: what sits above the article's first line.

trafilatura starts the body at the article's container, and some containers hold
more than the article: a box heading ("Entermedia 주요뉴스", "Top stories"), the
headline again (as a heading or a list item), and the stamp line under it
("기사입력 :[ 2018-08-25 15:24 ]", "Published 10:02 AM EST Nov 19, 2019"). None of
them is article text: the headline and the date are fields of their own.

Two rules, both about position, none about a site:

* the headline repeated in the first lines of the body, exactly or nearly (a site
  name added or left out, a label, a list marker, other punctuation), ends the
  lead when only short labels or stamps sit above it (a box heading, a section
  label, a breadcrumb): it goes, and so do they;
* then short stamp lines at the top go: a date or a clock time with at most a
  label ("기사입력", "Posted", "Updated on") and nothing else.
"""

# Word lists read best as one string (SIM905 would spell them out).
# ruff: noqa: SIM905

from __future__ import annotations

import re

from services.cleaning.dates import MONTHS, TIME_RE, date_of
from services.cleaning.text import WORD_RE

# How far into the body the headline copy is looked for, and how many stamp lines
# may follow it.
LEAD_REACH = 3
_MAX_STAMPS = 2
# What a stamp line may carry besides its date: a label of a few words.
_STAMP_LABEL_MAX_WORDS = 3
# A headline copy has at least this share of the headline's words (or they of its).
_NEAR_COPY_SHARE = 0.7
# Lines above a headline copy that may go with it: section labels, box headings,
# breadcrumbs ("Entermedia 주요뉴스", "Back to selection", "Review").
_LABEL_MAX_WORDS = 5
# Numeric dates (2018-08-25, 2018.08.25, 25/08/2018): a stamp even where the
# order of day and month is unknown, since the line is dropped, not read.
_NUMERIC_DATE_RE = re.compile(
    r"\b\d{4}[-./]\d{1,2}[-./]\d{1,2}\b|\b\d{1,2}[-./]\d{1,2}[-./]\d{4}\b"
)
_CLOCK_RE = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?", re.IGNORECASE)


def _words(text: str) -> list[str]:
    return WORD_RE.findall(text.casefold())


def repeats_headline(line: str, title: str) -> bool:
    """Is the line the headline again, give or take a site name, a label or punctuation?

    One word set holds the other ("- Headline", "Blog: Headline", "Headline" for a
    title "Headline - Site") and covers most of it. A heading that rewords the
    headline ("What do people appreciate about Rust?" under "What do people love
    about Rust?") is a section of the article, not a copy.
    """
    line_words, title_words = set(_words(line)), set(_words(title))
    if not line_words or not title_words:
        return False
    if not (line_words <= title_words or title_words <= line_words):
        return False
    return min(len(line_words), len(title_words)) >= _NEAR_COPY_SHARE * max(
        len(line_words), len(title_words)
    )


def is_stamp_line(line: str) -> bool:
    """A date or clock time with at most a short label, and nothing else.

    "기사입력 :[ 2018-08-25 15:24 ]", "Published 10:02 AM EST Nov 19, 2019",
    "November 19, 2019 / 12:21 AM / Updated 14 hours ago". A sentence that
    mentions a date keeps more words than a label has.
    """
    has_date = bool(_NUMERIC_DATE_RE.search(line) or date_of(line) or TIME_RE.search(line))
    if not has_date:
        return False
    rest = _CLOCK_RE.sub(" ", _NUMERIC_DATE_RE.sub(" ", TIME_RE.sub(" ", line)))
    words = [w for w in _words(rest) if not w.isdigit()]
    # Month and day names belong to the date, not to the label.
    label = [w for w in words if not _is_calendar_word(w)]
    return len(label) <= _STAMP_LABEL_MAX_WORDS


def _is_calendar_word(word: str) -> bool:
    return word.rstrip(".") in MONTHS or word in _WEEKDAYS or word in _ZONE_WORDS


_WEEKDAYS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs "
    "fri sat sun".split()
)
_ZONE_WORDS = frozenset(
    "am pm utc gmt est edt cst cdt mst mdt pst pdt cet cest bst eet eest ist jst kst aest "
    "aedt".split()
)


def _is_label(line: str) -> bool:
    return len(_words(line)) <= _LABEL_MAX_WORDS


def trim_lead(lines: list[str], title: str | None) -> list[str]:
    """The body's lines without the headline copy, the labels above it, and the stamps below it.

    The copy ends the lead only when nothing but short labels sits above it: an
    introduction above a heading that repeats the headline is article text, and
    then nothing is trimmed but stamps at the very top.
    """
    start = 0
    for index, line in enumerate(lines[:LEAD_REACH]):
        if title and repeats_headline(line, title):
            start = index + 1
            break
        if not (_is_label(line) or is_stamp_line(line)):
            break
    stamps = 0
    while start < len(lines) and stamps < _MAX_STAMPS and is_stamp_line(lines[start]):
        start += 1
        stamps += 1
    return lines[start:]
