"""Live counts for the search page: Server-Sent Events, no key.

``GET /v1/search/live?<the /v1/search parameters>&since=<ISO date-time>``
answers a ``text/event-stream`` of ``count`` events, ``{"count": n, "since":
..., "as_of": ...}``: how many articles matching the search were indexed
after ``since`` (the page sends the moment it loaded its results). The page
shows "n new articles — show" and reloads the search on a click.

Bounded, since anyone may open it: a few connections per client address
and a cap per process (429 past them), a count every ``live_poll_s`` (sent
only when it changed), a comment line as heartbeat, and a lifetime after
which the stream ends with an ``end`` event (``EventSource`` reconnects by
itself, after the ``retry`` delay the stream announced). ``since`` may not
go further back than ``live_max_age_s``, so a count stays cheap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.subscriptions import metrics

log = logging.getLogger(__name__)
RETRY_MS = 10_000


class LiveLimits:
    """Open streams of this process, per client address and in total."""

    def __init__(self, per_client: int, total: int) -> None:
        self.per_client = per_client
        self.total = total
        self.open: Counter[str] = Counter()

    def acquire(self, client: str) -> bool:
        if self.open[client] >= self.per_client or sum(self.open.values()) >= self.total:
            return False
        self.open[client] += 1
        metrics.LIVE_CONNECTIONS.inc()
        return True

    def release(self, client: str) -> None:
        self.open[client] -= 1
        if self.open[client] <= 0:
            del self.open[client]
        metrics.LIVE_CONNECTIONS.dec()


def since_problem(since: datetime, now: datetime, max_age_s: int) -> str | None:
    """Why a `since` is refused, or None."""
    if since < now - timedelta(seconds=max_age_s):
        return f"'since' may be at most {max_age_s} seconds ago"
    if since > now + timedelta(minutes=1):
        return "'since' is in the future"
    return None


def count_query(query: dict[str, Any], since: datetime) -> dict[str, Any]:
    """The search's articles indexed after `since`."""
    after = {"range": {"indexed_at": {"gt": since.astimezone(UTC).isoformat()}}}
    return {"bool": {"filter": [query, after]}}


def event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def live_events(
    count: Callable[[], Awaitable[int]],
    since: datetime,
    *,
    poll_s: float,
    heartbeat_s: float,
    lifetime_s: float,
    release: Callable[[], None],
) -> AsyncIterator[bytes]:
    """The stream: a count at once, then each change; heartbeats between.
    `release` runs however the stream ends (the client left, or its time)."""
    started = last_sent = time.monotonic()
    previous: int | None = None
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        while time.monotonic() - started < lifetime_s:
            try:
                current: int | None = await count()
            except Exception as exc:  # the backend is down: try again next time
                log.info("live count failed", extra={"error": repr(exc)})
                current = None
            if current is not None and current != previous:
                previous = current
                last_sent = time.monotonic()
                yield event(
                    "count",
                    {
                        "count": current,
                        "since": since.isoformat(),
                        "as_of": datetime.now(UTC).isoformat(),
                    },
                )
            elif time.monotonic() - last_sent >= heartbeat_s:
                last_sent = time.monotonic()
                yield b": heartbeat\n\n"
            await asyncio.sleep(min(poll_s, heartbeat_s))
        yield event("end", {"reason": "lifetime reached; reconnect to go on"})
    finally:
        release()
