"""The entity registry in Redis: one store shared by every entities worker, kept
across restarts (:class:`RedisStore`, an :class:`~services.entities.registry.EntityStore`).

Layout: :mod:`services.entities.redis_layout` (records as JSON, hashes for aliases,
redirects, display names and surnames, all under ``<namespace>entities:``).

**Concurrency: one lock per batch, not per name.** Resolving an article reads,
decides, then writes: a lone "Trump" is merged into "Donald Trump" only if that is
the only full name with this surname and it has enough articles; votes decide a
type; a new alias may steal a key. Per-key atomic tricks (``SET NX`` on alias
claims, ``HINCRBY`` on votes) would keep ids and counts right but not these
decisions, which read several keys at once; two workers interleaving them could
merge one record into two survivors. So, like the stories state
(:meth:`services.stories.redis_state.RedisState.lock`), a writer holds
``entities:lock`` around the resolution of one batch, and that is cheap here
because the lock covers only the resolution (a few milliseconds for a batch of 8
articles), never NER (about a second of CPU per batch, run before, outside it):
workers serialise on a small fraction of their time. Ids are deterministic (a
hash of the first name key, or a QID), so even without the lock two workers
would mint one id for one name.

The lock expires (``lock_timeout``) so a dead worker never blocks the others.
A live worker that kept it longer than that cannot corrupt anything: the lock
key is ``WATCH``-ed when taken and all of a batch's writes go in one
``MULTI``/``EXEC``, which Redis refuses if the key changed or expired meanwhile
(:class:`redis.WatchError`: the stage retries the batch, nothing was written).

**Round trips per batch** (not per article or name): take the lock, ``WATCH``,
one Lua lookup that follows aliases, redirects and surnames and returns every
record they reach (:data:`_LOOKUP`; the resolver names the keys it will need up
front, :meth:`Resolver.lookup_keys`), the writes in one ``MULTI``/``EXEC``, and the
release: 5 in all, plus one per lookup the resolver could not foresee (counted
in :attr:`RedisStore.round_trips`; ``bench/eval_entities.py`` prints it).

**Growth.** Nothing expires: an id in an indexed article must keep resolving.
What grows is one record, one ``name`` field and a few ``alias`` fields per
distinct entity, one ``redirect`` field per merge, and one ``surname`` field per
distinct surname: the vocabulary of named entities, not the article count (a name
seen again updates its record in place). Records do not grow with use either:
display forms are capped (:data:`~services.entities.redis_layout.MAX_FORMS`), and
so are the people listed under one surname (:data:`MAX_SURNAME_PEOPLE`); a
record's alias keys are its name variants, a handful. Measured on the 126 sample
articles: 1,486 entities in 798 KiB, ~550 bytes per entity with every key
counted (``make eval-entities``). A year of news names some hundreds of thousands
of entities, a few hundred MB at most, which is why no cap on the number of
records is set.

A batch retried after its writes went in (the worker died before Kafka had its
outputs) counts its articles' votes again: an occasional extra vote does not change
a type or a name. Its merges are not made again (the retry resolves through the
redirects), so they are not lost either: each merge is queued in the merges outbox
(``merges:outbox``) by the same ``MULTI`` that writes its redirect, and the stage
sends what the outbox holds with every batch, removing the entries only once Kafka
has them (:meth:`RedisStore.peek_merges`, :meth:`RedisStore.remove_merges`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, cast

import orjson
import redis
from redis.client import Pipeline
from redis.exceptions import LockError, LockNotOwnedError, NoScriptError, RedisError
from redis.lock import Lock
from redis.typing import EncodableT

from services.entities.redis_layout import (
    FINAL_LUA,
    Layout,
    decode_record,
    encode_record,
    text,
)
from services.entities.registry import EntityRecord

__all__ = ["MAX_SURNAME_PEOPLE", "OutboxMerge", "RedisStore"]

log = logging.getLogger(__name__)

# People listed under one surname at most: past that many, the surname alone is
# ambiguous anyway (no one is dominant), and the lookup stays small.
MAX_SURNAME_PEOPLE: Final = 64

# KEYS: redirect, alias, surname hashes. ARGV: record key prefix, #aliases, #ids,
# #surnames, then the alias keys, ids and surname keys. Returns {final id per alias
# (or false), final id per id, final ids per surname, ids reached, their records}.
# Record keys are built here rather than declared: fine on one Redis node (what
# Newsflow runs); a cluster would need the registry's keys in one hash slot.
_LOOKUP: Final = (
    FINAL_LUA
    + """
local prefix = ARGV[1]
local na, ni, ns = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local seen, order = {}, {}
local function want(id)
  if not seen[id] then seen[id] = true; order[#order + 1] = id end
end
local aliases, ids, surnames = {}, {}, {}
for i = 1, na do
  local id = redis.call('HGET', KEYS[2], ARGV[4 + i])
  if id then id = final(id); want(id); aliases[i] = id else aliases[i] = false end
end
for i = 1, ni do
  local id = final(ARGV[4 + na + i]); want(id); ids[i] = id
end
for i = 1, ns do
  local raw = redis.call('HGET', KEYS[3], ARGV[4 + na + ni + i])
  local members = {}
  if raw then
    for _, m in ipairs(cjson.decode(raw)) do
      local id = final(m); want(id); members[#members + 1] = id
    end
  end
  surnames[i] = members
end
local records = {}
for i, id in ipairs(order) do records[i] = redis.call('GET', prefix .. id) end
return {aliases, ids, surnames, order, records}
"""
)


@dataclass(frozen=True)
class OutboxMerge:
    """A merge waiting in the outbox, aimed at the survivor as the registry has it now."""

    old_id: str
    new_id: str
    name: str | None


def _fields(mapping: Mapping[str, str]) -> Mapping[EncodableT, EncodableT]:
    """``mapping`` as redis-py's ``hset`` types it (its key type is invariant)."""
    return cast("Mapping[EncodableT, EncodableT]", mapping)


@dataclass
class _Session:
    """What one batch has read (and changed) of the registry: every lookup of the
    resolver is answered from here, loaded on first use."""

    reader: redis.Redis | Pipeline
    aliases: dict[str, str | None] = field(default_factory=dict)  # key -> id (or absent)
    finals: dict[str, str] = field(default_factory=dict)  # id -> final id, as loaded
    records: dict[str, EntityRecord | None] = field(default_factory=dict)  # final id ->
    surnames: dict[str, list[str]] = field(default_factory=dict)  # key -> final ids
    redirects: dict[str, str] = field(default_factory=dict)  # merges of this batch
    dirty: dict[str, EntityRecord] = field(default_factory=dict)
    alias_writes: dict[EncodableT, EncodableT] = field(default_factory=dict)
    surname_writes: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)

    def final(self, entity_id: str) -> str:
        entity_id = self.finals.get(entity_id, entity_id)
        for _ in range(len(self.redirects)):
            if entity_id not in self.redirects:
                break
            entity_id = self.redirects[entity_id]
        return entity_id


class RedisStore:
    """:class:`~services.entities.registry.EntityStore` in Redis (sync client: the
    stage resolves in a worker thread). Use :meth:`batch` around a batch's
    resolution; calls outside one read directly, and write under the lock each."""

    def __init__(
        self,
        client: redis.Redis,
        namespace: str = "",
        *,
        lock_timeout: float = 10.0,
        lock_wait: float = 60.0,
    ) -> None:
        self.client = client
        self.layout = Layout(namespace)
        self.lock_timeout = lock_timeout
        self.lock_wait = lock_wait
        self.round_trips = 0  # since creation; for measurements
        # Computed, not loaded: a worker starts even while Redis is down; the
        # script is loaded on its first NOSCRIPT answer.
        self._sha = hashlib.sha1(_LOOKUP.encode(), usedforsecurity=False).hexdigest()
        self._session: _Session | None = None

    @classmethod
    def from_url(cls, url: str, namespace: str = "", **kwargs: Any) -> RedisStore:
        client = redis.Redis.from_url(url, socket_timeout=10.0, socket_connect_timeout=5.0)
        return cls(client, namespace, **kwargs)

    # ------------------------------------------------------------------ batches
    @contextmanager
    def batch(
        self, aliases: Iterable[str] = (), ids: Iterable[str] = (), surnames: Iterable[str] = ()
    ) -> Iterator[None]:
        """Hold the writers' lock, preload these keys, and write everything the
        batch changed in one transaction at the end (nothing if it raises).
        Raises ``LockError`` if the lock is not free within ``lock_wait``, and
        ``WatchError`` if the lock was lost before the writes (retry the batch)."""
        if self._session is not None:  # nested: the outer batch writes
            yield
            return
        lock = self.client.lock(
            self.layout.lock,
            timeout=self.lock_timeout,
            blocking_timeout=self.lock_wait,
            sleep=0.005,  # held for milliseconds: poll often
            thread_local=False,
        )
        if not lock.acquire():
            raise LockError(f"entity registry lock busy for {self.lock_wait}s")
        self.round_trips += 1
        try:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.watch(self.layout.lock)
                self.round_trips += 1
                self._session = _Session(pipe)
                self._load(self._session, list(aliases), list(ids), list(surnames))
                yield
                self._flush(self._session, pipe)
        finally:
            self._session = None
            self._release(lock)

    def _release(self, lock: Lock) -> None:
        try:
            lock.release()
            self.round_trips += 1
        except LockNotOwnedError:  # expired: the WATCH refused the writes, if any
            pass
        except RedisError as exc:
            # The batch's writes are in (or it failed for its own reason): failing it
            # now would count its votes twice on the retry. The lock frees itself.
            log.warning("entity registry lock not released", extra={"error": repr(exc)})

    @contextmanager
    def _active(self, write: bool) -> Iterator[_Session]:
        if self._session is not None:
            yield self._session
        elif write:
            with self.batch():
                assert self._session is not None
                yield self._session
        else:
            yield _Session(self.client)  # a read on its own: nothing to keep

    def _load(
        self, s: _Session, aliases: Sequence[str], ids: Sequence[str], surnames: Sequence[str]
    ) -> None:
        aliases = [k for k in dict.fromkeys(aliases) if k and k not in s.aliases]
        ids = [i for i in dict.fromkeys(ids) if i and i not in s.finals and i not in s.records]
        surnames = [k for k in dict.fromkeys(surnames) if k and k not in s.surnames]
        if not (aliases or ids or surnames):
            return
        keys = [self.layout.redirect, self.layout.alias, self.layout.surnames]
        args: list[EncodableT] = [self.layout.record_prefix, len(aliases), len(ids), len(surnames)]
        args += [*aliases, *ids, *surnames]
        try:
            reply = s.reader.evalsha(self._sha, len(keys), *keys, *args)
        except NoScriptError:  # Redis restarted since: load it again
            self._sha = str(s.reader.script_load(_LOOKUP))
            reply = s.reader.evalsha(self._sha, len(keys), *keys, *args)
        self.round_trips += 1
        found, finals, members, reached, records = reply
        for key, entity_id in zip(aliases, found, strict=True):
            s.aliases[key] = text(entity_id)
        for entity_id, final in zip(ids, finals, strict=True):
            s.finals[entity_id] = text(final) or entity_id
        for key, people in zip(surnames, members, strict=True):
            s.surnames[key] = [text(p) or "" for p in people]
        for entity_id, raw in zip(reached, records, strict=True):
            final = text(entity_id) or ""
            s.finals.setdefault(final, final)
            if final not in s.records:  # never replace a record this batch changed
                s.records[final] = decode_record(raw) if raw is not None else None

    def _flush(self, s: _Session, pipe: Pipeline) -> None:
        pipe.multi()
        if s.dirty:  # one MSET, not a SET per record: packing commands is the cost
            pipe.mset({self.layout.record(i): encode_record(r) for i, r in s.dirty.items()})
            pipe.hset(self.layout.names, mapping=_fields({i: r.name for i, r in s.dirty.items()}))
        if s.alias_writes:
            pipe.hset(self.layout.alias, mapping=s.alias_writes)
        if s.redirects:
            pipe.hset(self.layout.redirect, mapping=_fields(s.redirects))
            # Queued with the redirect, in one transaction: a merge made is a merge sent.
            pipe.rpush(self.layout.outbox, *(f"{o}\t{n}" for o, n in s.redirects.items()))
        if s.deleted:
            pipe.delete(*(self.layout.record(i) for i in s.deleted))
            pipe.hdel(self.layout.names, *s.deleted)
        if s.surname_writes:
            pipe.hset(
                self.layout.surnames,
                mapping={k: orjson.dumps(s.surnames[k]) for k in s.surname_writes},
            )
        pipe.execute()
        self.round_trips += 1

    # ------------------------------------------------------------------ outbox
    def peek_merges(self, limit: int = 500) -> tuple[list[str], list[OutboxMerge]]:
        """The merges outbox's first entries, left in place, and each one's merge:
        the old id, its survivor now (redirects followed) and that one's name (None
        when its record is gone). Two round trips: the entries, then one lookup."""
        raw = self.client.lrange(self.layout.outbox, 0, limit - 1)
        self.round_trips += 1
        entries = [text(e) or "" for e in raw]
        pairs = [e.partition("\t")[::2] for e in entries]
        if not pairs:
            return [], []
        session = _Session(self.client)
        self._load(session, (), [new for _, new in pairs], ())
        merges = []
        for old, new in pairs:
            final = session.final(new)
            record = session.records.get(final)
            merges.append(OutboxMerge(old, final, record.name if record is not None else None))
        return entries, merges

    def remove_merges(self, entries: Sequence[str]) -> None:
        """Remove these entries, once each (sent). By value, not by position: other
        workers append and remove meanwhile; an identical entry is the same message."""
        if not entries:
            return
        pipe = self.client.pipeline(transaction=False)
        for entry in entries:
            pipe.lrem(self.layout.outbox, 1, entry)
        pipe.execute()
        self.round_trips += 1

    # ------------------------------------------------------------------ EntityStore
    def _record(self, s: _Session, entity_id: str) -> EntityRecord | None:
        if entity_id not in s.finals and entity_id not in s.records:
            self._load(s, (), [entity_id], ())
        return s.records.get(s.final(entity_id))

    def find(self, keys: Iterable[str]) -> dict[str, EntityRecord]:
        wanted = list(keys)
        with self._active(write=False) as s:
            self._load(s, wanted, (), ())
            found = {}
            for key in wanted:
                entity_id = s.aliases.get(key)
                record = self._record(s, entity_id) if entity_id else None
                if record is not None:
                    found[key] = record
            return found

    def get(self, entity_id: str) -> EntityRecord | None:
        with self._active(write=False) as s:
            return self._record(s, entity_id)

    def people_with_surname(self, surname: str) -> list[EntityRecord]:
        with self._active(write=False) as s:
            self._load(s, (), (), [surname])
            ids = {s.final(i) for i in s.surnames.get(surname, ())}
            return [r for i in sorted(ids) if (r := self._record(s, i)) is not None]

    def save(self, record: EntityRecord, surname: str | None = None) -> None:
        with self._active(write=True) as s:
            s.records[record.id] = record
            s.finals.setdefault(record.id, record.id)
            s.dirty[record.id] = record
            for key in record.aliases:
                if s.aliases.get(key) != record.id:
                    s.aliases[key] = s.alias_writes[key] = record.id
            if surname:
                self._load(s, (), (), [surname])
                people = s.surnames.setdefault(surname, [])
                if record.id not in people and len(people) < MAX_SURNAME_PEOPLE:
                    people.append(record.id)
                    s.surname_writes.add(surname)

    def merge(self, loser: EntityRecord, survivor: EntityRecord) -> None:
        if loser.id == survivor.id:
            return
        with self._active(write=True) as s:
            survivor.absorb(loser)
            s.records[loser.id] = None
            s.dirty.pop(loser.id, None)
            s.deleted.add(loser.id)
            s.redirects[loser.id] = survivor.id
            self.save(survivor)
