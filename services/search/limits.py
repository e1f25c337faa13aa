"""What a search may ask, and how much work it may cause: pure rules.

Two kinds of input could take search down for everyone (issue 11):

* **Dates.** Python's dates end at year 9999 and Elasticsearch refuses UTC
  offsets beyond 18 hours, so one ``to=9999-12-31`` (a day's end is the next
  midnight, year 10000) or ``from=...-23:59`` broke a search; an impossible
  date *stored* in the index broke every faceted search through the
  histogram. Dates a caller gives must fall in a sane window (1900-01-01 up to
  two days from now, the same window ingestion applies to publication dates),
  and the histogram is drawn inside that window whatever the index holds.
* **Expanding words.** ``simple_query_string`` turns ``word~2`` (fuzzy) and
  ``pre*`` (prefix) into many terms; 100 of them with 100 hits highlighted
  took Elasticsearch 10 s, and most of it was the highlighter, which builds
  an automaton per expanding word for every hit. A query may carry only a
  few of them, a prefix needs a letter before its ``*``, and the highlighter
  is given the words without their operators (see ``highlight_text``).

Counting follows the operators of Lucene's SimpleQueryParser: ``"phrase"``
(its ``~N`` is a slop, not a fuzziness), ``\\`` escapes, ``| + - ( )`` and
whitespace between words, ``~N`` after a word, ``*`` at the end of one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

# ----------------------------------------------------------------- dates
DATE_FLOOR = datetime(1900, 1, 1, tzinfo=UTC)
DATE_AHEAD = timedelta(days=2)


def date_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """First and last instant a date may name: 1900-01-01 and two days from
    now (time zones and clocks a little ahead, never the year 9999)."""
    return DATE_FLOOR, (now or datetime.now(UTC)) + DATE_AHEAD


def window_problem(value: date | datetime, now: datetime | None = None) -> str | None:
    """Why a date bound lies outside the window, or None. A day is inside if
    any of it is (so today + 2 days is accepted as a day)."""
    floor, ceiling = date_window(now)
    if isinstance(value, datetime):
        inside = floor <= value <= ceiling
    else:
        inside = floor.date() <= value <= ceiling.date()
    if inside:
        return None
    return (
        f"dates must fall between {floor:%Y-%m-%d} and {ceiling:%Y-%m-%d} "
        "(two days from now); nothing is published outside that window"
    )


def clamp(moment: datetime, now: datetime | None = None) -> datetime:
    """A stored date brought into the window (for drawing, never for filtering)."""
    floor, ceiling = date_window(now)
    return min(max(moment, floor), ceiling)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# ----------------------------------------------------------------- words
# A word stops at whitespace or at one of these operators.
_BREAKS = re.compile(r'[\s|+()"]+')
_ESCAPED = re.compile(r"\\.", re.DOTALL)
_PHRASE = re.compile(r'"[^"]*"(~\d*)?')
_EXPANDING_OPERATORS = re.compile(r"(?<!\\)~\d*|(?<!\\)\*")


@dataclass(frozen=True)
class QueryShape:
    """The expanding words of a query."""

    fuzzy: int = 0
    prefix: int = 0
    leading_wildcard: bool = False

    @property
    def expanding(self) -> int:
        return self.fuzzy + self.prefix


def _word_shape(word: str) -> QueryShape:
    word = word.lstrip("-")
    if not word:
        return QueryShape()
    if "~" in word:
        stem = word.split("~", 1)[0]
        if not stem.strip("*"):
            # "~2" or "*~2" alone: no word to be fuzzy about; a bare "*" is.
            return QueryShape(leading_wildcard=stem.startswith("*"))
        return QueryShape(fuzzy=1, leading_wildcard=stem.startswith("*"))
    if word.startswith("*"):
        return QueryShape(leading_wildcard=True)
    if word.endswith("*"):
        return QueryShape(prefix=1)
    return QueryShape()


def query_shape(q: str) -> QueryShape:
    """How many fuzzy and prefix words `q` has, and whether one of them
    starts with a wildcard. Escaped characters are plain text; phrases are
    exact (their slop costs little), so neither counts."""
    text = _PHRASE.sub(" ", _ESCAPED.sub("x", q))
    fuzzy = prefix = 0
    leading = False
    for word in _BREAKS.split(text):
        shape = _word_shape(word)
        fuzzy += shape.fuzzy
        prefix += shape.prefix
        leading = leading or shape.leading_wildcard
    return QueryShape(fuzzy=fuzzy, prefix=prefix, leading_wildcard=leading)


def query_problem(q: str, max_expanding: int) -> str | None:
    """Why a query is refused, or None. The reason says what to change."""
    shape = query_shape(q)
    if shape.leading_wildcard:
        return "a wildcard (*) must follow at least one letter: `news*`, not `*news` or `*`"
    if shape.expanding > max_expanding:
        return (
            f"at most {max_expanding} fuzzy (word~) or prefix (word*) words per search, "
            f"this one has {shape.expanding} ({shape.fuzzy} fuzzy, {shape.prefix} prefix); "
            "each one is expanded into many words"
        )
    return None


# Words (or "phrases") given to the highlighter: its cost grows with their
# number for every hit of the page (100 OR-ed words cost a second per page of
# 100), and a snippet rarely shows more than a few of them anyway.
MAX_HIGHLIGHT_WORDS = 8
_HIGHLIGHT_TOKEN = re.compile(r'-?"[^"]*"|[^\s|+()"]+')


def highlight_text(q: str) -> str:
    """The query for the highlighter: the distinct words and phrases of `q`,
    without ``~N``, ``*``, operators or excluded words, the first
    MAX_HIGHLIGHT_WORDS of them. Highlighting an expanding word costs an
    automaton per hit (seconds for a page of 100), so fuzzy and prefix words
    are marked where they occur as typed; the hits themselves still come
    from the full query."""
    words: list[str] = []
    seen: set[str] = set()
    for token in _HIGHLIGHT_TOKEN.findall(_EXPANDING_OPERATORS.sub("", q)):
        if token.startswith("-") or token.casefold() in seen:
            continue
        seen.add(token.casefold())
        words.append(token)
        if len(words) == MAX_HIGHLIGHT_WORDS:
            break
    return " ".join(words)
