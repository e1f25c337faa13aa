"""The date histogram of a search: which calendar interval, over which span.

The chart spans the results' own range (issue 14): the main search asks
for the histogram at the interval that fits the range the results *can*
span (the requested dates, open sides taken from the corpus), plus the
oldest and newest date of the results; when those lie much closer together,
the service asks once more for the histogram alone at the finer interval
(``query.build_histogram_body``), so a week of results is drawn by day, not
as one bar of a five-year axis. Pure, like ``query``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from services.search.limits import clamp, date_window, epoch_ms
from services.search.models import Interval, SearchRequest, range_end, range_start

HISTOGRAM_MAX_BUCKETS = 60
# Calendar intervals from fine to coarse, with their longest length in days:
# the finest one that keeps the histogram under HISTOGRAM_MAX_BUCKETS wins.
# A decade is drawn from yearly buckets (Elasticsearch has no decade).
_INTERVAL_DAYS: tuple[tuple[Interval, int], ...] = (
    ("day", 1),
    ("week", 7),
    ("month", 31),
    ("quarter", 92),
    ("year", 366),
    ("decade", 3653),
)
INTERVALS: tuple[Interval, ...] = tuple(name for name, _ in _INTERVAL_DAYS)


class DateBounds(NamedTuple):
    """Oldest and newest publication date (of the index, or of a search's
    results); they pick the histogram's interval."""

    oldest: datetime
    newest: datetime


def choose_interval(oldest: datetime | None, newest: datetime | None) -> Interval:
    """Finest calendar interval that keeps the histogram readable (at most
    HISTOGRAM_MAX_BUCKETS bars). The span lies inside the date window
    (``histogram_span``), so a decade keeps even the widest one under 15 bars."""
    if oldest is None or newest is None:
        return "month"
    span_days = max((newest - oldest) / timedelta(days=1), 1.0)
    for interval, days in _INTERVAL_DAYS:
        if span_days / days <= HISTOGRAM_MAX_BUCKETS:
            return interval
    return "decade"


def finer(a: Interval, b: Interval) -> bool:
    """Is interval `a` finer than `b`?"""
    return INTERVALS.index(a) < INTERVALS.index(b)


def es_interval(interval: Interval) -> str:
    """The calendar interval asked of Elasticsearch (decades are summed from years)."""
    return "year" if interval == "decade" else interval


def histogram_span(
    request: SearchRequest, bounds: DateBounds | None, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """The dates the results can span: the requested range, each open side
    taken from the corpus, both brought inside the date window (a stored
    year 9999 must not stretch the axis, or break it)."""
    oldest = range_start(request.date_from) if request.date_from else None
    newest = range_end(request.date_to)[0] if request.date_to else None
    if bounds is not None:
        oldest = oldest or bounds.oldest
        newest = newest or bounds.newest
    oldest = clamp(oldest, now) if oldest is not None else None
    newest = clamp(newest, now) if newest is not None else None
    if oldest is not None and newest is not None and oldest > newest:
        # A one-sided range that lies beyond the corpus: draw the given side.
        if request.date_from is not None:
            newest = oldest
        else:
            oldest = newest
    return oldest, newest


def date_histogram(
    interval: Interval, span: DateBounds | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Counts per calendar interval. Empty intervals between the first and
    the last result are kept, so gaps show; ``span`` (the results' own
    oldest and newest dates) makes the axis cover exactly them.

    ``hard_bounds`` keeps every bucket inside the date window: articles
    dated outside it (written before dates were checked) fall in no bucket
    and are counted as undated instead, and a stored year 9999 cannot make
    Elasticsearch draw thousands of empty buckets. (1900-01-01 starts a
    day, a Monday week, a month, a quarter, a year and a decade alike.)"""
    floor, ceiling = date_window(now)
    agg: dict[str, Any] = {
        "field": "published_at",
        "calendar_interval": es_interval(interval),
        "min_doc_count": 0,
        "format": "yyyy-MM-dd",
        "hard_bounds": {"min": epoch_ms(floor), "max": epoch_ms(ceiling)},
    }
    if span is not None:
        oldest, newest = clamp(span.oldest, now), clamp(span.newest, now)
        agg["extended_bounds"] = {"min": epoch_ms(oldest), "max": epoch_ms(max(oldest, newest))}
    return {"date_histogram": agg}


def in_window_clause(now: datetime | None = None) -> dict[str, Any]:
    """Publication dates inside the date window."""
    floor, ceiling = date_window(now)
    return {"range": {"published_at": {"gte": epoch_ms(floor), "lte": epoch_ms(ceiling)}}}


def undated_aggregation(now: datetime | None = None) -> dict[str, Any]:
    """Articles without a usable publication date: none, or one outside the
    window (which no bucket shows)."""
    return {"filter": {"bool": {"must_not": [in_window_clause(now)]}}}


def span_aggregation(now: datetime | None = None) -> dict[str, Any]:
    """Oldest and newest publication date of the results, inside the window:
    when they lie close together, the histogram is drawn again finer."""
    return {
        "filter": in_window_clause(now),
        "aggs": {
            "oldest": {"min": {"field": "published_at"}},
            "newest": {"max": {"field": "published_at"}},
        },
    }


def build_bounds_body(now: datetime | None = None) -> dict[str, Any]:
    """Oldest and newest publication date of the whole index, among those
    inside the date window."""
    return {
        "size": 0,
        "track_total_hits": False,
        "query": in_window_clause(now),
        "aggs": {
            "oldest": {"min": {"field": "published_at"}},
            "newest": {"max": {"field": "published_at"}},
        },
    }
