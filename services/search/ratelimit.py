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
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import AsyncIterator

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
        if int(count) <= self.limit:
            return None
        return max(1, math.ceil((window + 1) * self.window_s - now))

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
        raise HTTPException(
            429,
            f"rate limit: at most {limiter.limit} requests per {limiter.window_s} s "
            f"from one address; retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )
    if not in_flight.enter(client):
        raise HTTPException(
            429,
            f"rate limit: at most {in_flight.limit} requests at once from one address",
            headers={"Retry-After": "1"},
        )
    try:
        yield
    finally:
        in_flight.leave(client)
