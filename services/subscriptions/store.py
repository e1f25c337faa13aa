"""Subscriptions and what is known about their deliveries, durably in Redis.

Redis keys (all under the namespace prefix):

``subs:sub:{id}``            string  the Subscription JSON
``subs:ids``                 set     every subscription id (the matcher loads them all)
``subs:owner:{owner}``       set     the ids of one API key (listing, the per-key limit)
``subs:version``             counter bumped by every change, so the matcher reloads
                                     only when something changed
``subs:changes``             zset    id -> the version of its last change: the matcher
                                     reloads only the subscriptions changed since its own
                                     version (the oldest entries are trimmed past
                                     CHANGES_KEPT; ``subs:changes:floor`` says up to which
                                     version, and a matcher older than that reloads all)
``subs:delivery:{id}``       hash    webhook state: consecutive failures, last error…
``subs:feed:{id}``           zset    the latest matches (JSON) by match time: the Atom feed
``subs:claim:{id}:{article}`` string a match already produced (the idempotence key)

Redis runs with AOF persistence (``deploy/local/stack.sh``), so subscriptions
survive a restart like the feed sources do.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from redis.asyncio import Redis
from redis.exceptions import WatchError

from services.subscriptions.models import (
    DeliveryState,
    SearchFields,
    Subscription,
    SubscriptionIn,
    clean_text,
)

# Create only under both limits, in one step (two API processes must not
# both pass a check and then both write).
_CREATE = """
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[4]) then return -2 end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
local version = redis.call('INCR', KEYS[4])
redis.call('ZADD', KEYS[5], version, ARGV[1])
return version
"""
# A change to these subscriptions: the next version, each id recorded with
# it; past CHANGES_KEPT entries the oldest are dropped and the floor says
# up to which version the log is incomplete.
_TOUCH = """
local version = redis.call('INCR', KEYS[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[2], version, ARGV[i]) end
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[1])
if extra > 0 then
  local dropped = redis.call('ZRANGE', KEYS[2], extra - 1, extra - 1, 'WITHSCORES')
  redis.call('SET', KEYS[3], dropped[2])
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
return version
"""
_MGET_CHUNK = 500
CHANGES_KEPT = 100_000


class LimitReached(Exception):
    """The key (or the deployment) has as many subscriptions as allowed."""


def owner_of(api_key: str) -> str:
    """The owner recorded with a subscription: a hash of the key, never the
    key itself (a dump of Redis must not give keys away)."""
    return hashlib.sha256(b"newsflow-subscription-owner\x00" + api_key.encode()).hexdigest()[:32]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_secrets() -> tuple[str, str]:
    """A webhook secret and a feed token, 256 bits each."""
    return "whsec_" + secrets.token_urlsafe(32), secrets.token_urlsafe(32)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _now() -> datetime:
    return datetime.now(UTC)


class SubscriptionStore:
    """Reads and writes subscriptions of one namespace."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self.redis = redis
        self.prefix = f"{namespace}subs:"
        self._create = redis.register_script(_CREATE)
        self._touch = redis.register_script(_TOUCH)

    # ------------------------------------------------------------ keys
    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # ------------------------------------------------------------ reads
    async def get(self, sid: str) -> Subscription | None:
        raw = await self.redis.get(self.key("sub", sid))
        return Subscription.model_validate_json(raw) if raw else None

    async def get_owned(self, sid: str, owner: str) -> Subscription | None:
        """The subscription if this owner has it: another key's is as absent."""
        sub = await self.get(sid)
        return sub if sub is not None and secrets.compare_digest(sub.owner, owner) else None

    async def many(self, ids: Sequence[str]) -> list[Subscription]:
        found: list[Subscription] = []
        for start in range(0, len(ids), _MGET_CHUNK):
            chunk = [self.key("sub", sid) for sid in ids[start : start + _MGET_CHUNK]]
            for raw in await self.redis.mget(chunk):
                if raw:
                    found.append(Subscription.model_validate_json(raw))
        return found

    async def owned(self, owner: str) -> list[Subscription]:
        ids = sorted(_text(i) for i in await self.redis.smembers(self.key("owner", owner)))
        return sorted(await self.many(ids), key=lambda s: s.created_at)

    async def all(self) -> list[Subscription]:
        ids = sorted(_text(i) for i in await self.redis.smembers(self.key("ids")))
        return await self.many(ids)

    async def version(self) -> int:
        return int(await self.redis.get(self.key("version")) or 0)

    async def changes_since(self, version: int) -> tuple[int, list[str]] | None:
        """The current version and the ids changed (created, modified,
        deleted) after `version`; None when the log no longer reaches back
        that far (then everything must be read again)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.key("version"))
            pipe.get(self.key("changes", "floor"))
            pipe.zrangebyscore(self.key("changes"), f"({version}", "+inf")
            current, floor, ids = await pipe.execute()
        if version < int(floor or 0):
            return None
        return int(current or 0), [_text(i) for i in ids]

    async def touch(self, ids: Sequence[str], pipe: Any = None) -> None:
        """Record a change of these subscriptions (in `pipe` if given, so
        that it is part of the writer's transaction)."""
        keys = [self.key("version"), self.key("changes"), self.key("changes", "floor")]
        await self._touch(keys=keys, args=[CHANGES_KEPT, *ids], client=pipe)

    # ------------------------------------------------------------ writes
    async def create(
        self, body: SubscriptionIn, owner: str, *, max_per_key: int, max_total: int
    ) -> tuple[Subscription, str]:
        """Store a new subscription; returns it with its feed token (kept
        only as a hash). Raises LimitReached."""
        secret, token = new_secrets()
        sub = Subscription(
            **body.normalised(),
            id=secrets.token_hex(8),
            owner=owner,
            name=clean_text(body.name),
            webhook_url=str(body.webhook_url) if body.webhook_url else None,
            webhook_secret=secret,
            feed_token_hash=token_hash(token),
        )
        keys = [self.key("owner", owner), self.key("ids"), self.key("sub", sub.id)]
        keys += [self.key("version"), self.key("changes")]
        args: list[str | int] = [sub.id, sub.model_dump_json(), max_per_key, max_total]
        result = int(await self._create(keys=keys, args=args))
        if result == -1:
            raise LimitReached(f"this key has {max_per_key} subscriptions, the most allowed")
        if result == -2:
            raise LimitReached("the deployment has as many subscriptions as it allows")
        return sub, token

    async def modify(
        self, sid: str, change: Callable[[Subscription], Subscription | None]
    ) -> Subscription | None:
        """Apply `change` to the stored subscription atomically (retried if
        another writer got there first); None if there is none, or `change`
        said so (nothing written)."""
        key = self.key("sub", sid)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if not raw:
                        return None
                    new = change(Subscription.model_validate_json(raw))
                    if new is None:
                        return None
                    pipe.multi()
                    pipe.set(key, new.model_dump_json())
                    await self.touch([sid], pipe)
                    await pipe.execute()
                    return new
                except WatchError:
                    continue

    async def update(
        self, sid: str, owner: str, fields: dict[str, Any], rotate: bool
    ) -> tuple[Subscription, str | None] | None:
        """Replace the given fields (already validated) of an owned
        subscription; with `rotate`, new secrets (the token is returned)."""
        token: list[str] = []

        def change(sub: Subscription) -> Subscription | None:
            if not secrets.compare_digest(sub.owner, owner):
                return None
            values = {**sub.model_dump(), **fields, "updated_at": _now()}
            merged = SearchFields.model_validate({k: values[k] for k in SearchFields.model_fields})
            values.update(merged.normalised())
            if rotate:
                secret, new_token = new_secrets()
                token.append(new_token)
                values.update(webhook_secret=secret, feed_token_hash=token_hash(new_token))
            return Subscription.model_validate(values)

        sub = await self.modify(sid, change)
        return (sub, token[0] if token else None) if sub is not None else None

    async def set_paused(
        self, sid: str, paused: bool, reason: str | None = None, owner: str | None = None
    ) -> Subscription | None:
        def change(sub: Subscription) -> Subscription | None:
            if owner is not None and not secrets.compare_digest(sub.owner, owner):
                return None
            return sub.model_copy(
                update={
                    "paused": paused,
                    "paused_reason": reason if paused else None,
                    "paused_at": _now() if paused else None,
                    "updated_at": _now(),
                }
            )

        sub = await self.modify(sid, change)
        if sub is not None and not paused:
            await self.redis.hset(self.key("delivery", sid), "consecutive_failures", 0)
        return sub

    async def delete(self, sid: str, owner: str) -> bool:
        sub = await self.get_owned(sid, owner)
        if sub is None:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key("sub", sid), self.key("delivery", sid), self.key("feed", sid))
            pipe.srem(self.key("owner", sub.owner), sid)
            pipe.srem(self.key("ids"), sid)
            await self.touch([sid], pipe)
            await pipe.execute()
        return True

    # ------------------------------------------------------------ matches
    async def claim(self, pairs: Sequence[tuple[str, str]], ttl_s: int) -> list[bool]:
        """Claim (subscription, article) matches: True for those never
        claimed before. SET NX makes it one step per pair, so two matchers,
        a replay and a restart agree on who produced a match."""
        if not pairs:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid, article in pairs:
                pipe.set(self.key("claim", sid, article), b"1", nx=True, ex=ttl_s)
            answers = await pipe.execute()
        return [bool(a) for a in answers]

    async def add_feed_entries(
        self, entries: Sequence[tuple[str, dict[str, Any], float]], keep: int
    ) -> None:
        """Add (subscription id, entry, match time) to the feeds, each feed
        trimmed to its `keep` latest: one round trip for a whole batch."""
        if not entries:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid, entry, at in entries:
                key = self.key("feed", sid)
                pipe.zadd(key, {orjson.dumps(entry, option=orjson.OPT_SORT_KEYS): at})
                pipe.zremrangebyrank(key, 0, -(keep + 1))
            await pipe.execute()

    async def feed_entries(self, sid: str, limit: int) -> list[dict[str, Any]]:
        raw = await self.redis.zrevrange(self.key("feed", sid), 0, limit - 1)
        return [cast(dict[str, Any], orjson.loads(cast(bytes, r))) for r in raw]

    # ------------------------------------------------------------ deliveries
    async def delivery(self, sid: str) -> DeliveryState:
        raw = await self.redis.hgetall(self.key("delivery", sid))
        data = {_text(k): _text(v) for k, v in raw.items()}
        pending = await self.redis.scard(self.key("pending", sid))
        return DeliveryState.model_validate({**data, "pending": pending})

    async def record_success(self, sid: str, pipe: Any = None) -> None:
        """A delivered webhook ends a run of failures (in `pipe` if given)."""
        client = pipe if pipe is not None else self.redis
        await client.hset(
            self.key("delivery", sid),
            mapping={"consecutive_failures": 0, "last_delivered_at": _now().isoformat()},
        )

    async def record_failure(self, sid: str, error: str) -> int:
        """Count a failed request; returns the failures in a row."""
        key = self.key("delivery", sid)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "consecutive_failures", 1)
            pipe.hset(key, mapping={"last_error": error[:500], "last_error_at": _now().isoformat()})
            count, _ = await pipe.execute()
        return int(count)
