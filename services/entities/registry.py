"""Canonical entities and the store they live in, behind a small protocol.

An :class:`EntityRecord` is one entity across all articles: a stable id, a display
name, the type its evidence supports, and the name keys (aliases) that lead to it.
The :class:`EntityStore` protocol is all the resolver needs from storage, shaped so
a networked store can implement it with one round trip per call (``find`` takes
many keys at once, ``batch`` names a batch's lookups up front). :class:`MemoryStore`
implements it in a process (evaluation, tests of the rules);
:class:`~services.entities.registry_redis.RedisStore` in Redis, shared by the
workers and kept across restarts.

Ids never change once given, so articles indexed with an id stay valid:

* a country or territory gets its Wikidata QID ("Q30");
* any other entity gets ``ent_`` + 16 hex of SHA-256 over its first name key
  (:func:`entity_id`). The type is deliberately left out of the hash although it
  is the natural qualifier: a type is decided by votes and may change ("Twitter"
  first seen as a person), and two workers meeting a new name at the same time
  must mint the same id whatever label each one's sentence gave.

When two records turn out to be one (a lone "Trump" seen before "Donald Trump"),
:meth:`EntityStore.merge` keeps the survivor and redirects the other id to it;
``get`` and ``find`` follow redirects, and whoever indexed the old id can map it
(the indexer's update or a replay, not this module's concern).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Final, Protocol

__all__ = [
    "TYPE_PRIORITY",
    "EntityRecord",
    "EntityStore",
    "MemoryStore",
    "entity_id",
]

# Tie-break between types with equal votes: the model's usual confusion on a name
# is person -> organisation (its fallback for an unknown capitalised span).
TYPE_PRIORITY: Final = ("people", "organisations", "places", "groups", "events", "other")


def entity_id(key: str) -> str:
    """Stable id of a non-territory entity first met under name key ``key``."""
    return "ent_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass
class EntityRecord:
    """One entity across articles (mutable: the resolver updates and saves it)."""

    id: str
    names: Counter[str] = field(default_factory=Counter)  # display forms, by articles
    type_votes: Counter[str] = field(default_factory=Counter)  # group -> articles
    aliases: set[str] = field(default_factory=set)  # name keys leading here
    articles: int = 0
    fixed_name: str | None = None  # territory or corrections name, wins over votes
    fixed_type: str | None = None  # from the corrections table or the gazetteer
    external_id: str | None = None  # Wikidata QID

    @property
    def type(self) -> str:
        """The fixed type if any, else the type with most article votes."""
        if self.fixed_type is not None:
            return self.fixed_type
        if not self.type_votes:
            return "other"
        return min(self.type_votes, key=self._type_rank)

    @property
    def name(self) -> str:
        """Display name: fixed, else the most used form (people: full names first)."""
        if self.fixed_name is not None:
            return self.fixed_name
        if not self.names:
            return self.id
        person = self.type == "people"
        return min(self.names, key=lambda n: self._name_rank(n, person))

    def _type_rank(self, group: str) -> tuple[int, int]:
        priority = TYPE_PRIORITY.index(group) if group in TYPE_PRIORITY else len(TYPE_PRIORITY)
        return (-self.type_votes[group], priority)

    def _name_rank(self, name: str, person: bool) -> tuple[bool, int, int, str]:
        # A person is named by a full name when one is known ("Donald Trump" over
        # "Trump" even if the surname alone was used in more articles).
        single = person and len(name.split()) < 2
        return (single, -self.names[name], -len(name), name)

    def absorb(self, other: EntityRecord) -> None:
        """Add ``other``'s evidence to this record (a merge)."""
        self.names.update(other.names)
        self.type_votes.update(other.type_votes)
        self.aliases |= other.aliases
        self.articles += other.articles
        self.fixed_name = self.fixed_name or other.fixed_name
        self.fixed_type = self.fixed_type or other.fixed_type
        self.external_id = self.external_id or other.external_id


class EntityStore(Protocol):
    """What the resolver needs from storage. Implementations follow redirects."""

    def batch(
        self, aliases: Iterable[str] = (), ids: Iterable[str] = (), surnames: Iterable[str] = ()
    ) -> AbstractContextManager[None]:
        """Scope of one batch's resolution: a shared store serialises writers and
        preloads these alias keys, ids and surname keys (lookups the batch will
        make); its writes apply at the end, all or none."""
        ...

    def find(self, keys: Iterable[str]) -> dict[str, EntityRecord]:
        """Records reached by these alias keys; keys without a record are absent."""
        ...

    def get(self, entity_id: str) -> EntityRecord | None:
        """The record with this id (or the one it was merged into)."""
        ...

    def people_with_surname(self, surname: str) -> list[EntityRecord]:
        """Records of people with two names or more whose last one is ``surname``."""
        ...

    def save(self, record: EntityRecord, surname: str | None = None) -> None:
        """Write the record and point its aliases (and ``surname``, if given) at it."""
        ...

    def merge(self, loser: EntityRecord, survivor: EntityRecord) -> None:
        """``loser``'s evidence and aliases go to ``survivor``; its id redirects."""
        ...


class MemoryStore:
    """:class:`EntityStore` in a dict: one process, nothing persisted."""

    def __init__(self) -> None:
        self._records: dict[str, EntityRecord] = {}
        self._aliases: dict[str, str] = {}
        self._redirects: dict[str, str] = {}
        self._surnames: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._records)

    @contextmanager
    def batch(
        self, aliases: Iterable[str] = (), ids: Iterable[str] = (), surnames: Iterable[str] = ()
    ) -> Iterator[None]:
        """Nothing to lock or preload in a process's memory."""
        yield

    def records(self) -> list[EntityRecord]:
        """Every live record (merged ones excluded)."""
        return list(self._records.values())

    def _final(self, entity_id: str) -> str:
        seen = 0
        while entity_id in self._redirects and seen < len(self._redirects):
            entity_id = self._redirects[entity_id]
            seen += 1
        return entity_id

    def find(self, keys: Iterable[str]) -> dict[str, EntityRecord]:
        found: dict[str, EntityRecord] = {}
        for key in keys:
            record = self.get(self._aliases[key]) if key in self._aliases else None
            if record is not None:
                found[key] = record
        return found

    def get(self, entity_id: str) -> EntityRecord | None:
        return self._records.get(self._final(entity_id))

    def people_with_surname(self, surname: str) -> list[EntityRecord]:
        ids = {self._final(i) for i in self._surnames.get(surname, ())}
        return [self._records[i] for i in sorted(ids) if i in self._records]

    def save(self, record: EntityRecord, surname: str | None = None) -> None:
        self._records[record.id] = record
        for key in record.aliases:
            self._aliases[key] = record.id
        if surname:
            self._surnames.setdefault(surname, set()).add(record.id)

    def merge(self, loser: EntityRecord, survivor: EntityRecord) -> None:
        if loser.id == survivor.id:
            return
        survivor.absorb(loser)
        self._records.pop(loser.id, None)
        self._redirects[loser.id] = survivor.id
        self.save(survivor)
