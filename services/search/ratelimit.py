"""Per-client rate limit of the search API, counted in Redis.

One anonymous client could keep Elasticsearch busy for everyone (issue 11);
query cost is bounded elsewhere (``limits``), this bounds how many queries one
address sends. A fixed window: one counter per address and window, INCR'd
and given an expiry in one round trip; past ``limit`` the request is refused
with the seconds left in the window (the ``Retry-After``). Counters live in
Redis so that every process of a deployment shares them.

Like the response cache, Redis is not a dependency of an answer: if it
fails, requests are let through (fail open) and the limiter rests for a few
seconds, logging once per outage window instead of once per request.

A window limit still lets a client send its whole budget at once: eight
worst-case queries together slowed every other search. ``InFlight`` caps the
requests of one address being answered at the same time by this process.

The count's round trip came before every search, in series with it
(``client_budget``). ``/v1/search`` uses ``search_budget`` instead: a client
this process last saw at no more than half its budget in the current window
has its count sent *alongside* its search, and ``Budget.confirm`` refuses
(429) the request before it is answered if the count put it past the limit;
any other client is counted first, as before. Every request is still
counted, and every request past the limit still gets 429. What is given up:
a refused request may reach Elasticsearch, only if, since this process last
saw the client at half its budget or less, other processes took the whole
other half (and at most ``InFlight``'s cap of them at once). A client past
half its budget, or not yet seen in this window, waits for its count.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import suppress

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import Request

log = logging.getLogger(__name__)


class RateLimiter:
    """At most `limit` requests per `window_s` seconds per client address."""

    def __init__(
        self,
        redis: Redis | None,
        *,
        limit: int,
        window_s: int,
        namespace: str,
        retry_after_s: float = 5.0,
    ) -> None:
        self._redis = redis
        self.limit = limit
        self.window_s = window_s
        self._prefix = f"{namespace}search:rate:"
        self._retry_after_s = retry_after_s
        self._down_until = 0.0
        # The last count seen per client, for the current window only.
        self._window = -1
        self._seen: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self._redis is not None and self.limit > 0

    async def retry_after(self, client: str, now: float | None = None) -> int | None:
        """None if `client` may go on; else the whole seconds until its
        window ends (at least 1)."""
        if not self.enabled or self._redis is None or time.monotonic() < self._down_until:
            return None
        now = time.time() if now is None else now
        window = int(now // self.window_s)
        key = f"{self._prefix}{client}:{window}"
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, self.window_s + 1)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return None
        self._remember(client, window, int(count))
        if int(count) <= self.limit:
            return None
        return max(1, math.ceil((window + 1) * self.window_s - now))

    def _remember(self, client: str, window: int, count: int) -> None:
        if window != self._window:
            if window < self._window:
                return  # an answer from a window already over
            self._window, self._seen = window, {}
        self._seen[client] = max(count, self._seen.get(client, 0))

    def comfortably_under(self, client: str, now: float | None = None) -> bool:
        """True if this process last saw `client` at no more than half its
        budget in the current window: its count may go alongside its work
        (``search_budget``). False when off or resting (the count is then
        free and immediate), or when the client was not seen this window."""
        if not self.enabled or time.monotonic() < self._down_until:
            return False
        now = time.time() if now is None else now
        if int(now // self.window_s) != self._window:
            return False
        seen = self._seen.get(client)
        return seen is not None and seen * 2 <= self.limit

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + self._retry_after_s
        log.warning(
            "search rate limit unavailable (Redis); letting requests through",
            extra={"error": repr(exc), "retry_in_s": self._retry_after_s},
        )


class InFlight:
    """Requests of one client address being answered at once, in this
    process (no Redis: a count that must go down when a request ends is
    best kept where the request runs). 0 turns it off."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._count: Counter[str] = Counter()

    def enter(self, client: str) -> bool:
        """Room for one more request of `client`? (It is then counted.)"""
        if self.limit <= 0:
            return True
        if self._count[client] >= self.limit:
            return False
        self._count[client] += 1
        return True

    def leave(self, client: str) -> None:
        if self.limit <= 0:
            return
        self._count[client] -= 1
        if self._count[client] <= 0:
            del self._count[client]


def _past_limit(limiter: RateLimiter, retry: int) -> HTTPException:
    return HTTPException(
        429,
        f"rate limit: at most {limiter.limit} requests per {limiter.window_s} s "
        f"from one address; retry in {retry} s",
        headers={"Retry-After": str(retry)},
    )


def _too_many_at_once(in_flight: InFlight) -> HTTPException:
    return HTTPException(
        429,
        f"rate limit: at most {in_flight.limit} requests at once from one address",
        headers={"Retry-After": "1"},
    )


async def client_budget(request: Request) -> AsyncIterator[None]:
    """FastAPI dependency of every /v1 route: refuse (429) a client address
    past its budget, or with too many requests already running (the app's
    ``state.limiter`` and ``state.in_flight``). Invalid requests spend it
    too. The address is the connection's: behind a reverse proxy, uvicorn's
    proxy headers (trusted from ``FORWARDED_ALLOW_IPS``) must set it."""
    limiter: RateLimiter = request.app.state.limiter
    in_flight: InFlight = request.app.state.in_flight
    client = request.client.host if request.client else "unknown"
    retry = await limiter.retry_after(client)
    if retry is not None:
        raise _past_limit(limiter, retry)
    if not in_flight.enter(client):
        raise _too_many_at_once(in_flight)
    try:
        yield
    finally:
        in_flight.leave(client)


class Budget:
    """A request's count in its client's budget, maybe still on its way
    (``search_budget``). The route calls ``confirm`` before answering."""

    def __init__(self, limiter: RateLimiter, pending: asyncio.Future[int | None] | None) -> None:
        self._limiter = limiter
        self._pending = pending

    async def confirm(self) -> None:
        """429 if the count put this request past the limit."""
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        if (retry := await pending) is not None:
            raise _past_limit(self._limiter, retry)

    async def settle(self) -> None:
        """Wait for the count without judging it (the request is over)."""
        if self._pending is not None:
            with suppress(asyncio.CancelledError):
                await self._pending
            self._pending = None


async def search_budget(request: Request) -> AsyncIterator[Budget]:
    """``client_budget`` with the count sent alongside the request's work
    when the client is comfortably under its budget (module docstring). The
    route must ``await budget.confirm()`` before it answers; any error on the
    way (an invalid parameter, Elasticsearch down) is a 429 instead if the
    count says so, as it would have been had it come first."""
    limiter: RateLimiter = request.app.state.limiter
    in_flight: InFlight = request.app.state.in_flight
    client = request.client.host if request.client else "unknown"
    if limiter.comfortably_under(client):
        budget = Budget(limiter, asyncio.ensure_future(limiter.retry_after(client)))
    else:
        if (retry := await limiter.retry_after(client)) is not None:
            raise _past_limit(limiter, retry)
        budget = Budget(limiter, None)
    if not in_flight.enter(client):
        await budget.confirm()
        raise _too_many_at_once(in_flight)
    try:
        yield budget
    except Exception:
        await budget.confirm()
        raise
    finally:
        in_flight.leave(client)
        await budget.settle()
