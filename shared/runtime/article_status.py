"""Per-article stage status and dedup keys in Redis.

Redis is shared, fast and optional: when it is down the pipeline keeps
flowing without dedup or status (degraded, logged, visible in health) and
picks them up again when it returns. Nothing here ever raises a Redis error
into a stream or a request.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

StageName = Literal["received", "cleaned", "enriched", "grouped", "indexed", "failed"]
STAGE_ORDER: tuple[StageName, ...] = ("received", "cleaned", "enriched", "grouped", "indexed")

# After a failure, do not hammer a dead Redis: retry at most this often.
_RETRY_AFTER_S = 2.0


class ArticleStatusStore:
    """Stage status (a Redis hash per article) and dedup keys."""

    def __init__(self, redis: Redis, namespace: str = "", status_ttl_s: int = 7 * 24 * 3600):
        self.redis = redis
        self.namespace = namespace
        self.status_ttl_s = status_ttl_s
        self._down_since: float | None = None
        self.last_error: str | None = None

    @classmethod
    def from_url(
        cls, url: str, namespace: str = "", status_ttl_s: int = 7 * 24 * 3600
    ) -> ArticleStatusStore:
        redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return cls(redis, namespace, status_ttl_s)

    # ------------------------------------------------------------ health
    @property
    def degraded(self) -> bool:
        return self._down_since is not None

    def _skip(self) -> bool:
        return self._down_since is not None and time.monotonic() - self._down_since < _RETRY_AFTER_S

    def _failed(self, exc: Exception) -> None:
        if self._down_since is None:
            log.warning(
                "redis unavailable, continuing without dedup/status", extra={"error": str(exc)}
            )
        self._down_since = time.monotonic()
        self.last_error = str(exc)

    def _ok(self) -> None:
        if self._down_since is not None:
            log.warning("redis is back")
        self._down_since = None

    async def ping(self) -> bool:
        try:
            await self.redis.ping()
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return False
        self._ok()
        return True

    # ------------------------------------------------------------ keys
    def _status_key(self, article_id: str) -> str:
        return f"{self.namespace}status:{article_id}"

    def _dedup_key(self, article_id: str) -> str:
        return f"{self.namespace}dedup:{article_id}"

    # ------------------------------------------------------------ dedup
    async def claim(self, article_id: str, ttl_s: int) -> bool | None:
        """True if this is the first time we see the article within the TTL,
        False if it is a duplicate, None if Redis cannot tell (degraded)."""
        if self._skip():
            return None
        try:
            first = await self.redis.set(self._dedup_key(article_id), b"1", nx=True, ex=ttl_s)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return None
        self._ok()
        return bool(first)

    async def release(self, article_id: str) -> None:
        """Forget a claim (the article could not be handed on after all)."""
        if self._skip():
            return
        try:
            await self.redis.delete(self._dedup_key(article_id))
        except (RedisError, OSError) as exc:
            self._failed(exc)

    # ------------------------------------------------------------ status
    async def mark(
        self,
        article_ids: list[str],
        stage: StageName,
        details: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Record that these articles passed `stage` (one round trip)."""
        if not article_ids or self._skip():
            return
        now = datetime.now(UTC).isoformat()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for aid in article_ids:
                    entry = {"at": now, **((details or {}).get(aid, {}))}
                    key = self._status_key(aid)
                    if stage == "received":  # a new attempt: an earlier failure is history
                        pipe.hdel(key, "failed")
                    pipe.hset(key, stage, orjson.dumps(entry))
                    pipe.expire(key, self.status_ttl_s)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return
        self._ok()

    async def fail(self, article_id: str, stage: str, reason: str) -> None:
        """Record where and why an article failed, and drop its dedup claim: a
        claim must not outlive a failure, or the real article sent later would
        be answered "duplicate" and never indexed (a caller could block a URL in
        advance by sending junk under it)."""
        await self.mark([article_id], "failed", {article_id: {"stage": stage, "reason": reason}})
        await self.release(article_id)

    async def get(self, article_id: str) -> dict[str, dict[str, Any]] | None:
        """The stages an article passed, or None when Redis cannot tell.
        Raises nothing; an unknown article gives an empty dict."""
        try:
            raw = await self.redis.hgetall(self._status_key(article_id))
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return None
        self._ok()
        return {_text(k): orjson.loads(v) for k, v in raw.items()}

    async def close(self) -> None:
        await self.redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
