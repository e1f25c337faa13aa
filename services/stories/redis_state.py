"""The stories state in Redis: shared by the stage's workers, kept across restarts.

Layout (every key under ``<namespace>stories:``; the namespace isolates deployments
and tests):

=================  =====================================  ===========================
key                value                                  lifetime (TTL)
=================  =====================================  ===========================
``a:<article>``    ``story \\t first-copy \\t copies``       ``remember`` (replays)
``r:<story>``      story it was merged into               ``remember``
``s:<story>``      the story (JSON)                       window + a day, renewed
``p:<term>``       sorted set story -> last seen          window + a day, renewed
``b:<band>``       sorted set article -> time (LSH)       window + a day, renewed
``g:<article>``    MinHash signature (512 bytes)          window + a day
``c:<article>``    copies of the text first seen there    window + a day
``df:<day>``       hash term -> documents that day        window + a day
``dn:<day>``       documents that day                     window + a day
``seq``, ``wm``    story counter, latest article time     none (two small keys)
=================  =====================================  ===========================

Sorted sets are also trimmed on write, by article time (older than the window) and by
length (:data:`MAX_POSTING`), so a very common term cannot grow one without bound:
TTLs bound the memory of idle keys, trimming the memory of busy ones.

One article's writes go in one ``MULTI``/``EXEC`` transaction (see
:class:`~services.stories.state.Change`). Writers must not interleave: the clustering
reads, decides, then writes, so two workers deciding at once could both found a story
for one event. :meth:`RedisState.lock` serialises batches across workers; the stage
holds it around each batch (or runs the stories stage on one partition).

The lock is fenced: it expires (so a dead worker never blocks the others), and a
live worker that kept it longer (a pause, a slow batch) must not write after
another took it. So while the lock is held each commit ``WATCH``-es the lock key,
checks it still holds this worker's token, and writes in a ``MULTI`` that Redis
refuses if the key changed or expired meanwhile (``WatchError``; a lost token
raises ``LockNotOwnedError``): the stage retries the batch, and the articles
committed before come back as remembered assignments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import redis
from redis.client import Pipeline
from redis.exceptions import LockNotOwnedError
from redis.lock import Lock

from services.stories.models import Story, story_from_dict, story_to_dict
from services.stories.state import DAY, Change, Stored

__all__ = ["MAX_POSTING", "RedisState"]

MAX_POSTING = 500  # entries kept per term or band (the most recent)
_MAX_REDIRECTS = 32

# Add one member to several sorted sets, renew their TTL and trim them by score and
# length: one round trip instead of four commands per key.
# KEYS: the sets; ARGV: member, score, ttl seconds, min score kept, max length.
_INDEX = """
local member, score, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local oldest, cap = ARGV[4], tonumber(ARGV[5])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, score, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. oldest)
  redis.call('ZREMRANGEBYRANK', key, 0, -cap - 1)
  redis.call('EXPIRE', key, ttl)
end
return #KEYS
"""

# Count one document's terms for one day. KEYS: df hash, dn counter; ARGV: ttl, terms.
_COUNT = """
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('HINCRBY', KEYS[1], ARGV[i], 1)
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ttl)
return #ARGV - 1
"""


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8") if isinstance(value, bytes) else value


class RedisState:
    """:class:`~services.stories.state.StoryState` in Redis (sync client: the stage
    runs the clustering in a thread)."""

    def __init__(
        self,
        client: redis.Redis,
        namespace: str = "",
        *,
        window: float = 7 * DAY,
        remember: float = 30 * DAY,
    ) -> None:
        self.client = client
        self.prefix = f"{namespace}stories:"
        self.window = window
        self.remember = remember
        self._ttl = int(window + DAY)
        self._remember_ttl = int(max(remember, window))
        self._index = client.register_script(_INDEX)
        self._count = client.register_script(_COUNT)
        self._held: Lock | None = None  # the writers' lock while lock() holds it

    @classmethod
    def from_url(cls, url: str, namespace: str = "", **kwargs: Any) -> RedisState:
        """A state on a new client for ``url`` (bytes responses: signatures are binary)."""
        return cls(redis.Redis.from_url(url, decode_responses=False), namespace, **kwargs)

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    @contextmanager
    def lock(self, timeout: float = 60.0, wait: float = 120.0) -> Iterator[None]:
        """Hold the writers' lock for one batch. ``timeout`` frees it if the holder
        dies; ``wait`` is how long to queue for it before raising ``LockError``."""
        held = self.client.lock(
            f"{self.prefix}lock", timeout=timeout, blocking_timeout=wait, thread_local=False
        )
        with held:
            self._held = held
            try:
                yield
            finally:
                self._held = None

    # ------------------------------------------------------------------ reads
    def get_assignment(self, article_id: str) -> Stored | None:
        raw = _text(self.client.get(self._key("a", article_id)))
        if raw is None:
            return None
        story, dup, copies = raw.split("\t")
        return Stored(story, dup or None, int(copies))

    def resolve(self, story_id: str) -> str:
        for _ in range(_MAX_REDIRECTS):
            target = _text(self.client.get(self._key("r", story_id)))
            if target is None:
                break
            story_id = target
        return story_id

    def watermark(self) -> float:
        raw = _text(self.client.get(f"{self.prefix}wm"))
        return float(raw) if raw else 0.0

    def doc_freqs(self, terms: Collection[str], days: range) -> tuple[dict[str, int], int]:
        names = list(terms)
        pipe = self.client.pipeline(transaction=False)
        for day in days:
            pipe.hmget(self._key("df", str(day)), names) if names else pipe.echo(b"")
        pipe.mget([self._key("dn", str(day)) for day in days])
        results = pipe.execute()
        freqs = dict.fromkeys(names, 0)
        if names:
            for counts in results[:-1]:
                for name, value in zip(names, counts, strict=True):
                    if value is not None:
                        freqs[name] += int(value)
        docs = sum(int(v) for v in results[-1] if v is not None)
        return freqs, docs

    def dup_candidates(self, bands: list[str], since: float) -> list[str]:
        pipe = self.client.pipeline(transaction=False)
        for band in bands:
            pipe.zrangebyscore(self._key("b", band), since, "+inf", withscores=True)
        found: dict[str, float] = {}
        for rows in pipe.execute():
            for member, seen in rows:
                found[_text(member) or ""] = float(seen)
        return sorted(found, key=lambda a: (found[a], a))

    def signatures(self, article_ids: list[str]) -> dict[str, bytes]:
        if not article_ids:
            return {}
        values = self.client.mget([self._key("g", a) for a in article_ids])
        return {
            a: v if isinstance(v, bytes) else v.encode("latin-1")
            for a, v in zip(article_ids, values, strict=True)
            if v is not None
        }

    def copies(self, root: str) -> int:
        raw = _text(self.client.get(self._key("c", root)))
        return int(raw) if raw else 0

    def story_candidates(self, terms: list[str], since: float, per_term: int) -> Counter[str]:
        pipe = self.client.pipeline(transaction=False)
        for term in terms:
            pipe.zrevrangebyscore(self._key("p", term), "+inf", since, start=0, num=per_term)
        hits: Counter[str] = Counter()
        for rows in pipe.execute():
            hits.update(_text(m) or "" for m in rows)
        return hits

    def load_stories(self, story_ids: Iterable[str]) -> dict[str, Story]:
        ids = list(dict.fromkeys(story_ids))
        if not ids:
            return {}
        blobs = self.client.mget([self._key("s", s) for s in ids])
        return {
            s: story_from_dict(orjson.loads(blob))
            for s, blob in zip(ids, blobs, strict=True)
            if blob is not None
        }

    def next_seq(self) -> int:
        return int(self.client.incr(f"{self.prefix}seq"))

    # ------------------------------------------------------------------ writes
    def commit(self, change: Change) -> None:
        """One article's writes in one transaction; fenced by the lock when held
        (see the module docstring)."""
        with self.client.pipeline(transaction=True) as pipe:
            self._fence(pipe)
            newer = change.time > self.watermark()
            pipe.multi()
            self._queue(pipe, change)
            if newer:
                pipe.set(f"{self.prefix}wm", repr(change.time))
            pipe.execute()  # WatchError: the lock changed hands or expired meanwhile

    def _fence(self, pipe: Pipeline) -> None:
        held = self._held
        if held is None:
            return  # no lock taken (a single writer, tests): nothing to fence
        name = str(held.name)
        pipe.watch(name)
        if _text(pipe.get(name)) != _text(held.local.token):
            raise LockNotOwnedError(f"stories lock {name} lost before a commit; nothing written")

    def _queue(self, pipe: Pipeline, change: Change) -> None:
        """Queue one article's writes on ``pipe`` (in ``MULTI``); subclasses add theirs."""
        a = change.assignment
        value = f"{a.story_id}\t{a.duplicate_of or ''}\t{a.copies}"
        pipe.set(self._key("a", a.article_id), value, ex=self._remember_ttl)
        day = str(change.day)
        self._count(
            keys=[self._key("df", day), self._key("dn", day)],
            args=[self._ttl, *change.terms],
            client=pipe,
        )
        oldest = change.time - self.window
        if change.signature is not None:
            pipe.set(self._key("g", a.article_id), change.signature, ex=self._ttl)
            self._index(
                keys=[self._key("b", b) for b in change.bands],
                args=[a.article_id, change.time, self._ttl, oldest, MAX_POSTING],
                client=pipe,
            )
        pipe.set(self._key("c", a.duplicate_of or a.article_id), a.copies, ex=self._ttl)
        for story, terms in change.stories:
            pipe.set(
                self._key("s", story.story_id), orjson.dumps(story_to_dict(story)), ex=self._ttl
            )
            if terms:
                seen = story.last_seen if story.last_seen is not None else change.time
                self._index(
                    keys=[self._key("p", t) for t in terms],
                    args=[story.story_id, seen, self._ttl, oldest, MAX_POSTING],
                    client=pipe,
                )
        for merge in change.merges:
            pipe.set(self._key("r", merge.old), merge.into, ex=self._remember_ttl)
            pipe.delete(self._key("s", merge.old))
