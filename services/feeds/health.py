"""Is a source healthy? Pure rules over the state the poller records.

The rules are here, apart from Redis and HTTP, so they can be tested with
plain numbers. The poller computes each source's silence threshold (it knows
the rule's settings) and stores it; the API and the CLI only compare it with
the clock, so they need no poller settings.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

HealthStatus = Literal["pending", "ok", "failing", "silent", "paused"]

# Fewer arrivals than this say nothing about a source's rhythm: the default
# threshold applies instead of the median rule.
MIN_ARRIVALS_FOR_MEDIAN = 4


@dataclass(frozen=True)
class SilenceRule:
    """When a source that used to publish counts as silent.

    With enough history: no new entry for ``factor`` times the median gap
    between its entries, but never less than ``min_s`` (a feed that publishes
    every two minutes is not broken after six quiet minutes at night).
    Without enough history: ``default_s`` (48 h by default)."""

    factor: float = 3.0
    min_s: float = 3600.0
    default_s: float = 48 * 3600.0


def median_gap(arrivals: Sequence[float]) -> float | None:
    """Median time between consecutive entries (seconds), None without
    enough of them. Equal timestamps (entries published in one batch) are
    gaps of zero and count: they are part of the rhythm."""
    if len(arrivals) < MIN_ARRIVALS_FOR_MEDIAN:
        return None
    ordered = sorted(arrivals)
    return float(statistics.median(b - a for a, b in itertools.pairwise(ordered)))


def silence_threshold(arrivals: Sequence[float], rule: SilenceRule) -> float:
    """Seconds without a new entry after which the source is silent."""
    gap = median_gap(arrivals)
    if gap is None:
        return rule.default_s
    return max(rule.factor * gap, rule.min_s)


def backoff_delay(
    failures: int,
    interval_s: float,
    max_s: float,
    retry_after_s: float | None = None,
    jitter: float = 0.1,
    rand: Callable[[], float] = random.random,
) -> float:
    """Wait before polling a source again after `failures` failures in a row.

    Doubles the normal interval with each failure, capped at `max_s`, and
    never sooner than the normal schedule or than the server's Retry-After.
    A little jitter keeps sources that failed together (one host down) from
    all coming back in the same second."""
    if failures <= 0:
        return interval_s
    delay = min(interval_s * math.pow(2, min(failures, 30)), max(max_s, interval_s))
    delay *= 1 + jitter * (2 * rand() - 1)
    delay = max(delay, interval_s)
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return delay


@dataclass(frozen=True)
class Assessment:
    status: HealthStatus
    warnings: list[str]


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def assess(
    *,
    now: float,
    paused: bool,
    interval_s: float,
    last_poll_at: float | None,
    failures: int,
    last_error: str | None,
    next_poll_at: float | None,
    last_new_at: float | None,
    silent_after_s: float | None,
) -> Assessment:
    """The status of one source and what an operator should know about it.

    `failing` (the last poll failed) outranks `silent` (polls work, but
    nothing new for longer than the source's threshold); a source that never
    had an entry cannot fall silent. A poll overdue by much more than its
    interval means no poller is running."""
    warnings: list[str] = []
    if failures > 0:
        warnings.append(f"{failures} failed poll(s) in a row: {last_error or 'unknown error'}")
    silent = (
        last_new_at is not None
        and silent_after_s is not None
        and now - last_new_at > silent_after_s
    )
    if silent and last_new_at is not None:
        warnings.append(
            f"no new entry for {_ago(now - last_new_at)} "
            f"(more than the usual {_ago(silent_after_s or 0)})"
        )
    if not paused and next_poll_at is not None and now - next_poll_at > max(300.0, interval_s):
        warnings.append(
            f"poll overdue by {_ago(now - next_poll_at)}: is `newsflow poller` running?"
        )
    status: HealthStatus
    if paused:
        status = "paused"
    elif last_poll_at is None:
        status = "pending"
    elif failures > 0:
        status = "failing"
    elif silent:
        status = "silent"
    else:
        status = "ok"
    return Assessment(status, warnings)
