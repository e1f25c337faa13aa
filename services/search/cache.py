"""Short-lived Redis cache of whole API responses.

Popular searches (the front page, a breaking name) repeat within seconds;
answering them from Redis saves Elasticsearch the facet aggregations. Rules:

* An entry is never served older than ``ttl_s``, counted from when its
  Elasticsearch query *started*: the entry's expiry is shortened by the time
  the query took, so the bound holds even for slow queries.
* ``ttl_s == 0`` turns the cache off entirely (no Redis round trip at all).
* The key is a digest of the normalised request (see ``SearchRequest.
  cache_identity``), so parameter order or stray spaces do not split entries;
  it carries a version, bumped whenever a response shape changes.
* Redis is an optimisation, never a dependency of an answer: any Redis error
  is logged and the request goes to Elasticsearch. After a failure the cache
  stays off for ``retry_after_s`` so that an outage costs one timeout, not one
  per request, and the log gets one line per outage window, not a flood.
"""

from __future__ import annotations

import hashlib
import logging
import time
from enum import StrEnum
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY_VERSION = 1


class CacheStatus(StrEnum):
    """Value of the X-Cache response header."""

    HIT = "HIT"
    MISS = "MISS"
    # Not looked up: cache off (ttl 0), Redis down, or a request not worth
    # caching (a cursor page is asked for once).
    BYPASS = "BYPASS"


class ResponseCache:
    """Get/put of serialised responses under a namespaced, hashed key."""

    def __init__(
        self,
        redis: Redis | None,
        *,
        ttl_s: float,
        namespace: str,
        retry_after_s: float = 5.0,
    ) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        self._prefix = f"{namespace}search:cache:v{KEY_VERSION}:"
        self._retry_after_s = retry_after_s
        self._down_until = 0.0

    @property
    def usable(self) -> bool:
        """On, configured, and not resting after a failure."""
        return self._redis is not None and self._ttl_s > 0 and time.monotonic() >= self._down_until

    def key(self, kind: str, identity: dict[str, Any]) -> str:
        digest = hashlib.sha256(orjson.dumps(identity, option=orjson.OPT_SORT_KEYS))
        return f"{self._prefix}{kind}:{digest.hexdigest()[:32]}"

    async def get(self, key: str) -> bytes | None:
        if not self.usable or self._redis is None:
            return None
        try:
            value = await self._redis.get(key)
        except (RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        return value if isinstance(value, bytes) else None

    async def put(self, key: str, value: bytes, *, started: float) -> None:
        """Store a response computed from a query that began at `started`
        (time.monotonic()); it expires ``ttl_s`` after that moment."""
        if not self.usable or self._redis is None:
            return
        remaining_ms = int((self._ttl_s - (time.monotonic() - started)) * 1000)
        if remaining_ms <= 0:
            return
        try:
            await self._redis.set(key, value, px=remaining_ms)
        except (RedisError, OSError) as exc:
            self._failed("set", exc)

    def _failed(self, operation: str, exc: Exception) -> None:
        self._down_until = time.monotonic() + self._retry_after_s
        log.warning(
            "search cache unavailable; answering without it",
            extra={
                "operation": operation,
                "error": repr(exc),
                "retry_in_s": self._retry_after_s,
            },
        )
