"""What a search may ask, and how much work it may cause: pure rules.

Two kinds of input could take search down for everyone (issue 11):

* **Dates.** Python's dates end at year 9999 and Elasticsearch refuses UTC
  offsets beyond 18 hours, so one ``to=9999-12-31`` (a day's end is the next
  midnight, year 10000) or ``from=...-23:59`` broke a search; an impossible
  date *stored* in the index broke every faceted search through the
  histogram. Dates a caller gives must fall in a sane window (1900-01-01 up to
  two days from now, the same window ingestion applies to publication dates),
  and the histogram is drawn inside that window whatever the index holds.
* **Expanding words.** ``word~2`` (fuzzy) turns into many terms; 100 of
  them with 100 hits highlighted took Elasticsearch 10 s, and most of it
  was the highlighter, which builds an automaton per expanding word for
  every hit. A query may carry only a few fuzzy or prefix (``pre*``) words,
  a prefix needs a letter before its ``*``, and the highlighter is given
  the words without their operators (``textquery.highlight_terms``). (A
  prefix is now one term lookup in an edge n-gram field, but it still
  counts: the limit is part of the API.)

Words are counted as the search reads them (``syntax``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.search.syntax import parse

# Entity ids as the entity pages take them (/v1/entities/{id}): a Wikidata id,
# or the id the entities stage gives an entity it could not link. Wikidata ids
# are short in practice; the length cap keeps a hostile "Q" + 10,000 digits
# from reaching Elasticsearch as a term. Shared with the subscriptions' live
# counts and saved searches, which must take exactly what the search takes.
ENTITY_ID_PATTERN = r"^(Q\d+|ent_[0-9a-f]{16})$"
MAX_ENTITY_ID_CHARS = 24
# Values per facet filter of one search (and of one live count).
MAX_FILTER_VALUES = 50

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
@dataclass(frozen=True)
class QueryShape:
    """The expanding words of a query."""

    fuzzy: int = 0
    prefix: int = 0
    leading_wildcard: bool = False

    @property
    def expanding(self) -> int:
        return self.fuzzy + self.prefix


def query_shape(q: str) -> QueryShape:
    """How many fuzzy (``word~``) and prefix (``word*``) words `q` has, and
    whether one starts with a wildcard, as the search reads it
    (``syntax.parse``): escaped characters are plain text, phrases are exact
    (their slop costs little), excluded words count like the others."""
    parsed = parse(q)
    terms = parsed.terms
    return QueryShape(
        fuzzy=sum(1 for t in terms if t.kind == "fuzzy"),
        prefix=sum(1 for t in terms if t.kind == "prefix"),
        leading_wildcard=parsed.leading_wildcard,
    )


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


# ----------------------------------------------------------------- refusals
def invalid_query(exc: ValidationError) -> RequestValidationError:
    """A model's refusal of query parameters, located like FastAPI's own
    errors (``["query", name]``), so every route's reasons read the same."""
    return RequestValidationError(
        [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
    )


def query_problems(problems: list[tuple[str, str]]) -> RequestValidationError:
    """Refusals of query parameters found after validation: (name, reason)."""
    return RequestValidationError(
        [
            {"loc": ("query", name), "msg": reason, "type": "value_error"}
            for name, reason in problems
        ]
    )
