"""The sources and what the poller knows about them, durably in Redis.

Redis keys (all under the namespace prefix):

``feeds:sources``            hash  source id -> Source JSON (what people registered)
``feeds:state:{id}``         hash  poll state: validators, schedule, failures, errors
``feeds:seen:{id}``          zset  canonical entry URL -> last time the feed listed it
``feeds:arrivals:{id}``      zset  canonical entry URL -> its publication (or discovery)
                                   time; the last few, for the source's rhythm
``feeds:sent:{id}``          zset  article id -> when it was sent (the last 24 h)
``feeds:attempts:{id}``      hash  canonical entry URL -> failed page fetches so far
``feeds:fetched``            zset  canonical URL -> when any source fetched it, so an
                                   article listed by two feeds is fetched once

Sources must survive a restart, hence Redis with AOF persistence (on in
``deploy/local/stack.sh``); the rest is state whose loss costs at most a
few repeated requests, which the ingestion dedup then absorbs.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, cast

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints
from redis.asyncio import Redis
from redis.exceptions import WatchError

from shared.contracts.ids import canonical_url

SourceId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{12}$")]
# Arrivals kept per source for the median gap: enough for a stable median,
# few enough to read on every poll.
_ARRIVALS_KEPT = 50
_DAY_S = 86400.0


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def source_id(url: str) -> str:
    """Deterministic id of a feed: the same feed (up to tracking parameters,
    http/https and 'www.') cannot be registered twice."""
    return hashlib.sha256(canonical_url(url).encode("utf-8")).hexdigest()[:12]


class SourceIn(BaseModel):
    """A source as someone registers it (API body, CLI arguments)."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(description="The RSS or Atom feed, or the (news) sitemap.")
    name: str = Field(
        min_length=1,
        max_length=200,
        description="Publisher name, e.g. 'lemonde.fr'; it becomes the articles' `source`.",
    )
    interval_s: int = Field(
        default=900,
        ge=1,
        le=7 * 86400,
        description="Seconds between polls (the poller applies its own floor, 60 s by default).",
    )
    language: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2,3}$",
        description="Language of the articles (ISO 639-1), sent as a hint.",
    )
    categories: list[Annotated[str, StringConstraints(min_length=1, max_length=60)]] = Field(
        default_factory=list, max_length=20, description="Free tags, e.g. ['politics']."
    )


class Source(SourceIn):
    """A registered source."""

    model_config = ConfigDict(extra="ignore")

    id: SourceId
    paused: bool = False
    created_at: datetime


@dataclass(frozen=True)
class SourceState:
    """What the poller recorded about a source (all times are Unix seconds)."""

    kind: str | None = None
    feed_title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    next_poll_at: float | None = None
    last_poll_at: float | None = None
    last_success_at: float | None = None
    last_status: str | None = None
    failures: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_new_at: float | None = None
    silent_after_s: float | None = None

    @classmethod
    def from_hash(cls, raw: Mapping[bytes | str, bytes | str]) -> SourceState:
        data = {_text(k): _text(v) for k, v in raw.items()}

        def num(key: str) -> float | None:
            value = data.get(key)
            try:
                return float(value) if value not in (None, "") else None
            except ValueError:
                return None

        def text(key: str) -> str | None:
            return data.get(key) or None

        return cls(
            kind=text("kind"),
            feed_title=text("feed_title"),
            etag=text("etag"),
            last_modified=text("last_modified"),
            next_poll_at=num("next_poll_at"),
            last_poll_at=num("last_poll_at"),
            last_success_at=num("last_success_at"),
            last_status=text("last_status"),
            failures=int(num("failures") or 0),
            last_error=text("last_error"),
            last_error_at=num("last_error_at"),
            last_new_at=num("last_new_at"),
            silent_after_s=num("silent_after_s"),
        )


class SourceExists(Exception):
    def __init__(self, existing: Source) -> None:
        super().__init__(f"source already registered as {existing.id} ({existing.name})")
        self.existing = existing


class SourceNotFound(LookupError):
    pass


class SourceRegistry:
    """Sources and their state. Raises Redis errors: callers (API, CLI,
    poller) decide what a missing Redis means for them."""

    def __init__(self, redis: Redis, namespace: str = "") -> None:
        self.redis = redis
        self.ns = namespace

    # ------------------------------------------------------------ keys
    @property
    def _sources(self) -> str:
        return f"{self.ns}feeds:sources"

    def _key(self, kind: str, sid: str) -> str:
        return f"{self.ns}feeds:{kind}:{sid}"

    @property
    def _fetched(self) -> str:
        return f"{self.ns}feeds:fetched"

    def _per_source_keys(self, sid: str) -> list[str]:
        return [self._key(k, sid) for k in ("state", "seen", "arrivals", "sent", "attempts")]

    # ------------------------------------------------------------ sources
    async def add(self, new: SourceIn) -> Source:
        source = Source(
            **new.model_dump(), id=source_id(str(new.url)), created_at=datetime.now(UTC)
        )
        # HSETNX: two concurrent adds of one feed cannot both win.
        created = await self.redis.hsetnx(self._sources, source.id, source.model_dump_json())
        if not created:
            existing = await self.get(source.id)
            if existing is not None:
                raise SourceExists(existing)
            return await self.add(new)  # removed in between: try again
        return source

    async def get(self, sid: str) -> Source | None:
        raw = await self.redis.hget(self._sources, sid)
        return Source.model_validate_json(raw) if raw else None

    async def all(self) -> list[Source]:
        raw = await self.redis.hgetall(self._sources)
        sources = [Source.model_validate_json(v) for v in raw.values()]
        return sorted(sources, key=lambda s: (s.name.casefold(), s.id))

    async def resolve(self, ref: str) -> Source:
        """A source by id, or by name when that name is unique."""
        found = await self.get(ref) if len(ref) == 12 else None
        if found is not None:
            return found
        named = [s for s in await self.all() if s.name == ref]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise SourceNotFound(
                f"several sources are named {ref!r}: use the id ({', '.join(s.id for s in named)})"
            )
        raise SourceNotFound(f"no source with id or name {ref!r}")

    async def remove(self, sid: str) -> bool:
        """Forget a source and its state. Entries it fetched stay in the
        shared fetched set: re-adding the feed does not fetch them again."""
        removed = await self.redis.hdel(self._sources, sid)
        await self.redis.delete(*self._per_source_keys(sid))
        return bool(removed)

    async def set_paused(self, sid: str, paused: bool) -> Source | None:
        # Read-modify-write under WATCH so a concurrent pause/resume/remove wins cleanly.
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self._sources)
                    raw = await pipe.hget(self._sources, sid)
                    if raw is None:
                        await pipe.unwatch()
                        return None
                    source = Source.model_validate_json(raw).model_copy(update={"paused": paused})
                    pipe.multi()
                    pipe.hset(self._sources, sid, source.model_dump_json())
                    await pipe.execute()
                    return source
                except WatchError:  # someone else wrote in between: read again
                    continue

    async def exists(self, sid: str) -> bool:
        return bool(await self.redis.hexists(self._sources, sid))

    # ------------------------------------------------------------ state
    async def state(self, sid: str) -> SourceState:
        return SourceState.from_hash(await self.redis.hgetall(self._key("state", sid)))

    async def states(self, sids: list[str]) -> dict[str, SourceState]:
        if not sids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.hgetall(self._key("state", sid))
            raws = await pipe.execute()
        return {sid: SourceState.from_hash(raw) for sid, raw in zip(sids, raws, strict=True)}

    async def save_state(self, sid: str, **fields: str | float | int | None) -> None:
        """Update some state fields (None deletes one). Does nothing if the
        source was removed meanwhile, so a poll in flight leaves no orphans."""
        if not await self.exists(sid):
            return
        key = self._key("state", sid)
        values = {k: str(v) for k, v in fields.items() if v is not None}
        gone = [k for k, v in fields.items() if v is None]
        async with self.redis.pipeline(transaction=True) as pipe:
            if values:
                pipe.hset(key, mapping=values)  # type: ignore[arg-type]
            if gone:
                pipe.hdel(key, *gone)
            await pipe.execute()

    # ------------------------------------------------------------ entries
    async def known(self, sid: str, urls: list[str], now: float, retention_s: float) -> set[str]:
        """Which of these canonical entry URLs the source listed before.
        Known ones get their 'last listed' time refreshed; URLs the feed has
        not listed for `retention_s` are forgotten."""
        if not urls:
            return set()
        key = self._key("seen", sid)
        scores = await self.redis.zmscore(key, urls)
        known = {u for u, s in zip(urls, scores, strict=True) if s is not None}
        async with self.redis.pipeline(transaction=False) as pipe:
            if known:
                pipe.zadd(key, dict.fromkeys(known, now), xx=True)
            pipe.zremrangebyscore(key, "-inf", now - retention_s)
            pipe.zremrangebyscore(self._fetched, "-inf", now - retention_s)
            await pipe.execute()
        return known

    async def fetched_elsewhere(self, urls: list[str]) -> set[str]:
        """Which canonical URLs some source already fetched."""
        if not urls:
            return set()
        scores = await self.redis.zmscore(self._fetched, urls)
        return {u for u, s in zip(urls, scores, strict=True) if s is not None}

    async def remember(
        self,
        sid: str,
        url: str,
        now: float,
        arrival: float,
        *,
        fetched: bool = True,
        aliases: tuple[str, ...] = (),
    ) -> None:
        """The entry is done (sent, duplicate, or given up): never fetch it
        again. `aliases`: other canonical URLs of the page (redirect targets)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._key("seen", sid), {url: now})
            if fetched:
                pipe.zadd(self._fetched, dict.fromkeys((url, *aliases), now))
            pipe.hdel(self._key("attempts", sid), url)
            pipe.zadd(self._key("arrivals", sid), {url: arrival})
            pipe.zremrangebyrank(self._key("arrivals", sid), 0, -_ARRIVALS_KEPT - 1)
            await pipe.execute()

    async def failed_attempt(self, sid: str, url: str) -> int:
        """Count a failed fetch of an entry's page; returns the count so far."""
        return int(await self.redis.hincrby(self._key("attempts", sid), url, 1))

    async def arrivals(self, sid: str) -> list[float]:
        pairs = cast(
            list[tuple[bytes, float]],
            await self.redis.zrange(self._key("arrivals", sid), 0, -1, withscores=True),
        )
        return [float(pair[1]) for pair in pairs]

    async def record_sent(self, sid: str, article_id: str, now: float) -> None:
        key = self._key("sent", sid)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {article_id: now})
            pipe.zremrangebyscore(key, "-inf", now - _DAY_S)
            await pipe.execute()

    async def sent_last_24h(self, sids: list[str], now: float | None = None) -> dict[str, int]:
        if not sids:
            return {}
        since = (now or time.time()) - _DAY_S
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.zcount(self._key("sent", sid), since, "+inf")
            counts = await pipe.execute()
        return {sid: int(c) for sid, c in zip(sids, counts, strict=True)}
