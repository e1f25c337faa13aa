"""Request and response shapes of the search API.

Requests and responses are separate classes: a request is what a caller may
ask (validated and normalised once, here), a response is what we promise to
send back. Normalising the request in one place matters twice over: the query
builder never sees untidy input, and two requests that mean the same search
(``people=B&people=A`` and ``people=A&people=B``, extra spaces in ``q``) map to
one cache entry and one cursor identity.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from services.search.limits import window_problem

FacetName = Literal["people", "organisations", "places", "source", "language", "author"]
FACET_NAMES: tuple[FacetName, ...] = (
    "people",
    "organisations",
    "places",
    "source",
    "language",
    "author",
)
# The indexed field of each facet (authors are text, counted as written).
FACET_FIELDS: dict[FacetName, str] = {
    "people": "people",
    "organisations": "organisations",
    "places": "places",
    "source": "source",
    "language": "language",
    "author": "authors.keyword",
}
SortOrder = Literal["relevance", "newest", "oldest"]
# story: one result per story (its best article, the others behind it); none:
# every article on its own line.
Grouping = Literal["story", "none"]
Interval = Literal["day", "week", "month", "quarter", "year", "decade"]

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Longer than any ISO 8601 date-time (nanoseconds and an offset included).
_MAX_DATE_CHARS = 40


def parse_date_bound(value: object) -> object:
    """Tell a day from an instant, which pydantic's own parsing cannot: it
    reads ``2024-01-31`` as midnight, but ``to=2024-01-31`` must mean "until
    the end of that day". A bare ``YYYY-MM-DD`` stays a :class:`date`;
    anything else must be an ISO 8601 date-time, naive meaning UTC.

    Instants are converted to UTC: Elasticsearch refuses offsets beyond
    18 hours, which Python accepts (up to 24), and one such offset made a
    502. A value outside the window of ``limits.date_window`` is refused."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_DATE_CHARS:
            raise ValueError("expected YYYY-MM-DD or an ISO 8601 date-time")
        try:
            value = date.fromisoformat(text) if _DAY.match(text) else datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError("expected YYYY-MM-DD or an ISO 8601 date-time") from exc
    if isinstance(value, datetime):
        try:
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError as exc:  # 9999-12-31T23:59-23:59 is in the year 10000
            raise ValueError(window_problem(datetime.max.replace(tzinfo=UTC))) from exc
    if isinstance(value, date) and (problem := window_problem(value)) is not None:
        raise ValueError(problem)
    return value


DateBound = Annotated[date | datetime, BeforeValidator(parse_date_bound)]


def range_start(bound: date | datetime) -> datetime:
    """First instant a ``from`` bound admits (a day starts at 00:00 UTC)."""
    if isinstance(bound, datetime):
        return bound
    return datetime.combine(bound, time.min, tzinfo=UTC)


def range_end(bound: date | datetime) -> tuple[datetime, bool]:
    """The limit a ``to`` bound sets and whether it is inclusive: a day is
    admitted whole (exclusive next midnight), an instant inclusively."""
    if isinstance(bound, datetime):
        return bound, True
    return datetime.combine(bound + timedelta(days=1), time.min, tzinfo=UTC), False


def clean_values(values: object) -> tuple[str, ...]:
    """Filter values as a sorted set, blanks dropped: order and repeats do not
    change the meaning of a filter, so they must not change its identity."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple | set | frozenset):
        raise ValueError("expected a list of strings")
    return tuple(sorted({str(v).strip() for v in values if str(v).strip()}))


# ----------------------------------------------------------------- requests
class SearchRequest(BaseModel):
    """One search, as understood after validation. Built by the HTTP layer
    from query parameters (where the configurable limits are enforced) and
    consumed by the query builder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    q: str = ""
    people: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    author: tuple[str, ...] = ()
    date_from: DateBound | None = None
    date_to: DateBound | None = None
    sort: SortOrder = "relevance"
    page: int = Field(default=1, ge=1)
    size: int = Field(default=20, ge=1)
    facet_size: int = Field(default=10, ge=1, le=100)
    with_facets: bool = True
    cursor: str | None = None
    # When nothing matches the words as typed: answer for a spelling
    # correction, else for words within a typo or two (``spelling``).
    correct: bool = True
    group: Grouping = "story"

    @field_validator("q", mode="before")
    @classmethod
    def _collapse_spaces(cls, value: object) -> object:
        return " ".join(value.split()) if isinstance(value, str) else value

    @field_validator(*FACET_NAMES, mode="before")
    @classmethod
    def _clean_filter(cls, value: object) -> tuple[str, ...]:
        return clean_values(value)

    @model_validator(mode="after")
    def _consistent(self) -> SearchRequest:
        if self.date_from is not None and self.date_to is not None:
            end, inclusive = range_end(self.date_to)
            start = range_start(self.date_from)
            if start > end or (start == end and not inclusive):
                raise ValueError(
                    f"'from' ({self.date_from.isoformat()}) must not be after "
                    f"'to' ({self.date_to.isoformat()}): swap them"
                )
        if self.cursor is not None and self.page != 1:
            raise ValueError("give either 'page' or 'cursor', not both")
        return self

    @property
    def effective_sort(self) -> SortOrder:
        """Without words to score, relevance ranks nothing: newest first then."""
        return "newest" if self.sort == "relevance" and not self.q else self.sort

    def filters(self) -> dict[FacetName, tuple[str, ...]]:
        """The active facet filters, facet by facet."""
        return {name: values for name in FACET_NAMES if (values := getattr(self, name))}

    def result_set_identity(self) -> dict[str, Any]:
        """What fixes the ordered result list; a cursor is only valid for the
        identity it was made for (page size and facets may change between
        pages, the query, filters and sort may not)."""
        return {
            "q": self.q,
            "filters": self.filters(),
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "sort": self.effective_sort,
            "correct": self.correct,
        }

    def cache_identity(self) -> dict[str, Any]:
        """Everything that shapes the response, normalised: the cache key."""
        return {
            **self.result_set_identity(),
            "page": self.page,
            "size": self.size,
            "facet_size": self.facet_size,
            "with_facets": self.with_facets,
            "cursor": self.cursor,
            "group": self.group,
        }


# ----------------------------------------------------------------- responses
class ErrorOut(BaseModel):
    """Every error the API answers: a reason a person can read, and for
    invalid requests the offending parameters."""

    reason: str
    errors: list[dict[str, Any]] | None = None


class FacetBucket(BaseModel):
    value: str = Field(
        description="What the facet's filter takes: an entity id for people, organisations "
        "and places (a name for the name filter of an older link)."
    )
    id: str | None = Field(default=None, description="Entity id (entity facets).")
    name: str | None = Field(default=None, description="Display name (entity facets).")
    count: int = Field(
        description="Articles matching the search with this value, computed "
        "with every filter except this facet's own (so choices add up)."
    )
    selected: bool = False


class Facets(BaseModel):
    people: list[FacetBucket] = Field(default_factory=list)
    organisations: list[FacetBucket] = Field(default_factory=list)
    places: list[FacetBucket] = Field(default_factory=list)
    source: list[FacetBucket] = Field(default_factory=list)
    language: list[FacetBucket] = Field(default_factory=list)
    author: list[FacetBucket] = Field(default_factory=list)


class HistogramBucket(BaseModel):
    start: date = Field(description="First day of the bucket (UTC).")
    end: date = Field(description="Day after the bucket's last day (exclusive).")
    count: int


class Histogram(BaseModel):
    interval: Interval
    buckets: list[HistogramBucket]
    undated: int = Field(
        description="Matching articles without a usable publication date (none, or "
        "one outside 1900-01-01 .. now + 2 days); they appear in no bucket and are "
        "excluded by any date range."
    )


class EntityRef(BaseModel):
    id: str
    name: str
    group: str


class SearchHit(BaseModel):
    id: str
    title: str | None
    title_html: str | None = Field(
        default=None,
        description="Title with matches in <mark>, HTML-escaped otherwise; null when the "
        "title did not match.",
    )
    snippets: list[str] = Field(
        default_factory=list,
        description="Passages of the body, HTML-escaped, matches in <mark> (the only tags).",
    )
    source: str
    language: str | None = None
    published_at: datetime | None = None
    url: str | None = None
    authors: list[str] = Field(default_factory=list)
    word_count: int | None = None
    score: float | None = None
    people: list[str] = Field(default_factory=list)
    organisations: list[str] = Field(default_factory=list)
    places: list[str] = Field(default_factory=list)
    entities: list[EntityRef] = Field(
        default_factory=list,
        description="People, organisations and places of the article by id, with display "
        "names (a few per group), for links to entity pages and id filters.",
    )
    story_id: str | None = None
    duplicate_of: str | None = Field(
        default=None, description="The first copy of this text (wire copies, light rewrites)."
    )
    story: StoryGroup | None = Field(
        default=None, description="With group=story: the story this hit stands for."
    )


class StoryArticle(BaseModel):
    """An article of a story, as a line of its group or timeline."""

    id: str
    title: str | None
    source: str
    url: str | None = None
    published_at: datetime | None = None
    duplicate_of: str | None = None


class StoryGroup(BaseModel):
    """The story behind a grouped hit: "N articles from M sources"."""

    id: str
    articles: int = Field(description="Articles of the story matching the search (N).")
    sources: int = Field(description="Distinct sources among them (M).")
    others: list[StoryArticle] = Field(
        default_factory=list,
        description="The story's next best matching articles (the hit itself left out).",
    )


class Spelling(BaseModel):
    """What the search did about words that matched nothing."""

    suggestion: str | None = Field(
        default=None, description="The query with its likely misspellings corrected."
    )
    applied: bool = Field(
        default=False,
        description="Nothing matched the query as typed: the hits are those of `suggestion`.",
    )
    fuzzy: bool = Field(
        default=False,
        description="Nothing matched the query as typed and no correction was found: the "
        "hits have words within a typo or two of the typed ones.",
    )


class SearchEcho(BaseModel):
    """The search as the server understood it (normalised)."""

    q: str
    filters: dict[str, list[str]]
    date_from: date | datetime | None
    date_to: date | datetime | None
    sort: SortOrder
    group: Grouping = "story"


class SearchResponse(BaseModel):
    total: int = Field(description="Exact number of matching articles.")
    stories: int | None = Field(
        default=None,
        description="With group=story: the number of stories among the matching articles "
        "(each hit is one story; pages and next_cursor count stories). Exact up to "
        "40,000 stories, approximate beyond.",
    )
    took_ms: int
    page: int | None = Field(description="Page number, or null when paging by cursor.")
    size: int
    next_cursor: str | None = Field(
        description="Opaque; pass as `cursor` for the next page. Works beyond 10,000 hits."
    )
    query: SearchEcho
    hits: list[SearchHit]
    facets: Facets | None = None
    histogram: Histogram | None = None
    timed_out: bool = Field(
        default=False,
        description="The search ran out of its time budget: hits and counts are those "
        "found by then (a narrower query gets them all).",
    )
    spelling: Spelling | None = Field(
        default=None,
        description="Present when nothing matched the words as typed (see `correct`).",
    )


class EntityOut(BaseModel):
    id: str | None = Field(default=None, description="Entity id: its page, its filter.")
    name: str
    label: str
    group: str
    count: int


class ArticleOut(BaseModel):
    id: str
    title: str | None
    text: str
    source: str
    url: str | None = None
    site_name: str | None = None
    language: str | None = None
    authors: list[str] = Field(default_factory=list)
    credit: list[str] = Field(default_factory=list)
    published_at: datetime | None = None
    received_at: datetime | None = None
    word_count: int | None = None
    entities: list[EntityOut] = Field(default_factory=list)
    title_html: str | None = Field(
        default=None,
        description="With `q`: the title, HTML-escaped, the query's words in <mark>.",
    )
    text_html: str | None = Field(
        default=None,
        description="With `q`: the whole text, HTML-escaped, the query's words in <mark> "
        "(null when none of them is in it).",
    )


class SimilarArticle(BaseModel):
    id: str
    title: str | None
    source: str
    published_at: datetime | None = None
    score: float = Field(
        description="Similarity as a share of the article's similarity to itself (0 to 1)."
    )
    same_story: bool = Field(
        default=False,
        description="Of the same story (listed first, whatever their score).",
    )


class SimilarResponse(BaseModel):
    id: str
    items: list[SimilarArticle] = Field(
        description="Most similar first; only articles close enough to this one (none "
        "rather than unrelated ones)."
    )


class FacetValuesResponse(BaseModel):
    facet: FacetName
    q: str
    items: list[FacetBucket] = Field(
        description="Values of the facet with a word starting with `q`, most frequent first, "
        "counted like the search's own facet (every filter but this facet's)."
    )


class Suggestion(BaseModel):
    id: str | None = Field(default=None, description="Entity id: its page, its filter.")
    name: str
    group: str
    facet: FacetName | None = Field(
        description="Facet this entity filters, or null when its group is not a facet."
    )
    count: int = Field(description="Articles that mention it.")


class SuggestResponse(BaseModel):
    q: str
    items: list[Suggestion]


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str]
