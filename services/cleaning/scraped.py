"""Line signals of already-scraped text: what each line looks like, alone and on its page.

Scraped text has lost its markup, so each line is judged by what is left: its
length, whether it reads like a sentence (function words, end punctuation),
whether it is a known furniture phrase, whether the page repeats it, and where it
sits relative to the headline.
"""

# Typographic punctuation and fullwidth CJK stops are matched on purpose (RUF001).
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from services.cleaning.bylines import BYLINE_MAX_WORDS, authors_of
from services.cleaning.dates import (
    DATELINE_MAX_WORDS,
    PUBLISHED_RE,
    TIME_RE,
    date_of,
)
from services.cleaning.furniture import (
    AUTHOR_BOX_RE,
    BOILERPLATE_MAX_WORDS,
    BOILERPLATE_RE,
    COMMENTS_START_RE,
    RIGHTS_RE,
    SECTION_BREAK_MAX_WORDS,
    SECTION_BREAK_RE,
    is_long_boilerplate,
)
from services.cleaning.teasers import TEASER_RE
from services.cleaning.text import (
    WORD_RE,
    comparison_key,
    normalise_line,
    word_count,
    words_up_to,
)

# Sentence-final punctuation, optionally followed by closing quotes or brackets.
_SENTENCE_END_RE = re.compile(r"[.!?…。！？:;][\"'”’»)\]]*$")
_NUMERIC_RE = re.compile(r"^[\d\s.,:/%+×x-]*\d[\d\s.,:/%+kKmM×x-]*$")


# A line is a copy when this share of its 4-word shingles already appeared above it
# (only lines of at least _DUPLICATE_MIN_TOKENS words are checked).
_DUPLICATE_SHINGLE = 4
_DUPLICATE_SHARE = 0.8
_DUPLICATE_MIN_TOKENS = 6


@dataclass
class Line:
    """One non-empty line of scraped text and what the cleaner learned about it."""

    index: int  # position among the non-empty lines
    block: int  # id of its run of non-empty lines (a blank line starts a new run)
    text: str
    words: int
    stop_ratio: float | None  # share of function words; None without a stopword list
    digit_share: float  # share of tokens holding a digit
    sentence_end: bool
    numeric: bool  # a counter or figure alone ("27", "0", "1,234")
    boilerplate: bool
    section_break: bool
    comments_start: bool
    rights: bool  # a footer rights notice ("All rights reserved")
    dateline: bool = False  # a short line that is mostly a date, a time or a stamp
    byline: bool = False
    repeats: int = 1  # occurrences of the same text on the page
    duplicate: bool = False  # most of its text already appeared higher up the page

    @property
    def furniture(self) -> bool:
        return self.boilerplate or self.section_break or self.comments_start or self.rights


def make_line(index: int, block: int, text: str, stopwords: frozenset[str] | None) -> Line:
    """Signals that depend on the line alone (page-level ones come in lines_of)."""
    tokens = [t.casefold() for t in WORD_RE.findall(text)]
    words = word_count(text)
    stop_ratio = None
    if stopwords is not None and tokens:
        stop_ratio = sum(t in stopwords for t in tokens) / len(tokens)
    digit_share = sum(any(c.isdigit() for c in t) for t in tokens) / len(tokens) if tokens else 0.0
    short = words <= BOILERPLATE_MAX_WORDS
    return Line(
        index=index,
        block=block,
        text=text,
        words=words,
        stop_ratio=stop_ratio,
        digit_share=digit_share,
        sentence_end=bool(_SENTENCE_END_RE.search(text)),
        numeric=bool(_NUMERIC_RE.match(text)),
        boilerplate=bool(TEASER_RE.match(text))
        or is_long_boilerplate(text)
        or (short and bool(BOILERPLATE_RE.search(text))),
        section_break=words <= SECTION_BREAK_MAX_WORDS
        and bool(SECTION_BREAK_RE.match(text) or AUTHOR_BOX_RE.match(text)),
        comments_start=short and bool(COMMENTS_START_RE.search(text)),
        rights=bool(RIGHTS_RE.search(text)),
    )


def is_furniture_line(text: str) -> bool:
    """``Line.furniture`` less the rights notice, judged lazily: the cheap checks first.

    The HTML path only needs this one answer per line of trafilatura's body, not
    every signal :func:`make_line` computes for the region search.
    """
    if TEASER_RE.match(text) or is_long_boilerplate(text):
        return True
    # Only small counts matter below: a paragraph's words are not all counted.
    words = words_up_to(text, max(BOILERPLATE_MAX_WORDS, SECTION_BREAK_MAX_WORDS))
    if words <= BOILERPLATE_MAX_WORDS and (
        BOILERPLATE_RE.search(text) or COMMENTS_START_RE.search(text)
    ):
        return True
    return words <= SECTION_BREAK_MAX_WORDS and bool(
        SECTION_BREAK_RE.match(text) or AUTHOR_BOX_RE.match(text)
    )


def lines_of(text: str, stopwords: frozenset[str] | None) -> list[Line]:
    """Split scraped text into judged lines, adding the signals that need the whole page."""
    lines: list[Line] = []
    block = 0
    for raw in text.splitlines():
        normalised = normalise_line(raw)
        if not normalised:
            block += 1
            continue
        lines.append(make_line(len(lines), block, normalised, stopwords))
    counts = Counter(comparison_key(line.text) for line in lines)
    seen: set[tuple[str, ...]] = set()
    for line in lines:
        line.repeats = counts[comparison_key(line.text)]
        # Embedded posts end on "— Name (@handle) November 18, 2019": article text.
        quoted = line.text.startswith(("—", "–", "-")) or "(@" in line.text
        stamp = bool(TIME_RE.search(line.text) or date_of(line.text))
        line.dateline = not quoted and (
            (line.words <= DATELINE_MAX_WORDS and stamp)
            or (line.words <= 20 and bool(PUBLISHED_RE.match(line.text)))
        )
        line.byline = line.words <= BYLINE_MAX_WORDS and (
            line.text.casefold() == "by" or bool(authors_of(line.text))
        )
        # Pages repeat their article in hidden blocks (structured data, print and AMP
        # copies, pull quotes): the second copy of a text is never new content.
        tokens = comparison_key(line.text).split()
        n = _DUPLICATE_SHINGLE
        grams = {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}
        if len(tokens) >= _DUPLICATE_MIN_TOKENS and grams:
            line.duplicate = len(grams & seen) >= _DUPLICATE_SHARE * len(grams)
            seen |= grams
    return lines


def is_prose(line: Line) -> bool:
    """Does the line read like running text rather than a label, a link or a headline?"""
    if line.boilerplate or line.numeric or line.digit_share > 0.3:
        return False  # furniture, counters, dates, prices, archive lists
    if line.stop_ratio is None:
        # No stopword list for this language (Japanese, Korean, ...): only end
        # punctuation or sheer length tells a sentence from a link title.
        return (line.words >= 6 and line.sentence_end) or line.words >= 40
    if line.stop_ratio < 0.15:
        return False
    return line.words >= 12 or (line.words >= 6 and line.sentence_end)
