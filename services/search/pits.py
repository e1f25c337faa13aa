"""How many point-in-time contexts (cursor paging) this deployment keeps open.

Each point in time holds segment readers in Elasticsearch until its
keep-alive runs out; 200 anonymous cursor requests opened 200 of them
(issue 11). Every point in time the search opens is registered here with its
expiry, and a new one is opened only while fewer than ``cap`` are alive,
counted both in this process and across the deployment (a Redis sorted set,
member = digest of the id, score = expiry). At the cap, cursor pages continue
on the live index at the same sort position (``SearchService._continue``),
which costs consistency under churn, never an answer.

A slot is reserved before the point in time is opened (an atomic Lua
check-and-add), so concurrent requests cannot overshoot the cap; the
reservation becomes the id once Elasticsearch answers. A finished walk or an
expired context is released. If Redis fails, the per-process count alone
applies (logged once per outage window).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS[1] the set; ARGV: now, expiry, cap, member, set ttl (ms).
_RESERVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""


def member(pit_id: str) -> str:
    """Point-in-time ids run to hundreds of bytes; the set keeps a digest."""
    return hashlib.sha256(pit_id.encode()).hexdigest()[:32]


class PitRegistry:
    def __init__(
        self,
        redis: Redis | None,
        *,
        cap: int,
        keep_alive_s: float,
        namespace: str,
        retry_after_s: float = 5.0,
    ) -> None:
        self._redis = redis
        self.cap = cap
        self.keep_alive_s = keep_alive_s
        self._key = f"{namespace}search:pits"
        self._local: dict[str, float] = {}  # member -> expiry (time.time())
        self._retry_after_s = retry_after_s
        self._down_until = 0.0

    @property
    def _set_ttl_ms(self) -> int:
        # The set outlives its newest member, then goes away with nothing in it.
        return int(self.keep_alive_s * 2000)

    # ------------------------------------------------------------- local
    def _prune(self, now: float) -> None:
        for key in [k for k, expiry in self._local.items() if expiry <= now]:
            del self._local[key]

    @property
    def _redis_usable(self) -> bool:
        return self._redis is not None and time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + self._retry_after_s
        log.warning(
            "point-in-time registry unavailable (Redis); capping per process only",
            extra={"error": repr(exc), "retry_in_s": self._retry_after_s},
        )

    # ------------------------------------------------------------- api
    async def reserve(self) -> str | None:
        """A reservation for one new point in time, or None at the cap."""
        now = time.time()
        self._prune(now)
        if len(self._local) >= self.cap:
            return None
        token = f"reserved:{uuid.uuid4().hex}"
        expiry = now + self.keep_alive_s
        # Counted here before waiting on Redis: concurrent requests see it.
        self._local[token] = expiry
        if self._redis_usable and self._redis is not None:
            try:
                added = await self._redis.eval(
                    _RESERVE, 1, self._key, now, expiry, self.cap, token, self._set_ttl_ms
                )
            except (RedisError, OSError) as exc:
                self._failed(exc)
            else:
                if not int(added):
                    del self._local[token]
                    return None
        return token

    async def confirm(self, token: str, pit_id: str) -> None:
        """The reservation is now this point in time."""
        await self._replace(token, member(pit_id))

    async def cancel(self, token: str) -> None:
        """Opening failed: give the slot back."""
        await self._remove(token)

    async def touch(self, pit_id: str) -> None:
        """The point in time was used (its keep-alive restarts). Ids this
        registry does not know (forged, or from before a restart) are not
        added: they did not take a slot."""
        key = member(pit_id)
        expiry = time.time() + self.keep_alive_s
        if key in self._local:
            self._local[key] = expiry
        if self._redis_usable and self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.zadd(self._key, {key: expiry}, xx=True)
                    pipe.pexpire(self._key, self._set_ttl_ms)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                self._failed(exc)

    async def release(self, pit_id: str) -> None:
        """Closed or expired."""
        await self._remove(member(pit_id))

    async def _replace(self, old: str, new: str) -> None:
        expiry = time.time() + self.keep_alive_s
        self._local.pop(old, None)
        self._local[new] = expiry
        if self._redis_usable and self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.zrem(self._key, old)
                    pipe.zadd(self._key, {new: expiry})
                    pipe.pexpire(self._key, self._set_ttl_ms)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                self._failed(exc)

    async def _remove(self, key: str) -> None:
        self._local.pop(key, None)
        if self._redis_usable and self._redis is not None:
            try:
                await self._redis.zrem(self._key, key)
            except (RedisError, OSError) as exc:
                self._failed(exc)
