"""Per-host politeness: one request at a time per host, and a pause between
two requests to a host (longer when robots.txt asks, or when the host
answered 429/503 with a Retry-After)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from services.feeds.errors import HostBackingOff


@dataclass
class _Host:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_at: float = 0.0  # monotonic time before which no request may start
    delay_s: float | None = None  # robots.txt Crawl-delay, when larger than the default


class HostGate:
    """One request at a time per host, and `min_delay_s` between the end of
    one request and the start of the next.

    The pause is measured from the end of a request, so a slow server gets
    more room, not less. State is per process: hence one poller per
    namespace (the poller holds a Redis lease)."""

    def __init__(
        self,
        min_delay_s: float,
        max_wait_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.min_delay_s = min_delay_s
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}

    def _host(self, host: str) -> _Host:
        return self._hosts.setdefault(host, _Host())

    def set_delay(self, host: str, delay_s: float | None) -> None:
        """A Crawl-delay for this host (only ever raises the default)."""
        self._host(host).delay_s = delay_s

    def delay_of(self, host: str) -> float:
        extra = self._host(host).delay_s
        return max(self.min_delay_s, extra or 0.0)

    def penalise(self, host: str, seconds: float) -> None:
        """The host said 'not now' (429/503 with Retry-After): keep away."""
        state = self._host(host)
        state.next_at = max(state.next_at, self._clock() + seconds)

    @asynccontextmanager
    async def slot(self, host: str, url: str = "") -> AsyncIterator[None]:
        """Hold the host for one request."""
        state = self._host(host)
        async with state.lock:
            wait = state.next_at - self._clock()
            if wait > self.max_wait_s:
                raise HostBackingOff(
                    url or host, f"{host} asked us to wait {wait:.0f}s", retry_after_s=wait
                )
            if wait > 0:
                await self._sleep(wait)
            try:
                yield
            finally:
                state.next_at = max(state.next_at, self._clock() + self.delay_of(host))


__all__ = ["HostGate"]
