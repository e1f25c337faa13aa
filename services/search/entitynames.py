"""Display names of entity ids, for facets, result chips and entity pages.

Facets and filters work on entity ids (``people_ids`` …), so whatever shows
one needs its name. The entity registry (``services.entities.directory``, in
Redis) is the authority: it follows merges, so an id that was merged away
still shows its survivor's name. One ``names`` call per search, for the ids
of every facet and every hit together: one Redis round trip.

An id the registry does not know (an index filled before the registry, a
test corpus, Redis unreachable) falls back to the name the documents store
for it: one Elasticsearch request (``build_names_body``), sent only for ids
still missing. An id nobody can name is shown as itself.

Each process keeps the names it found for ``ttl_s`` seconds (``SearchSettings.
names_ttl_s``): the facets of consecutive searches name mostly the same ids,
and asking the registry for ~400 of them cost a search ~1–2 CPU-ms
(``bench/search_latency.py``). The price: a renamed or merged entity shows
its old name for up to that long, as a search answer cached in Redis
(``cache_ttl_s``) already may.
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol, TypeGuard

from elastic_transport import TransportError
from elasticsearch import ApiError

from services.search.limits import ENTITY_ID_PATTERN, MAX_ENTITY_ID_CHARS

log = logging.getLogger(__name__)

_ENTITY_ID = re.compile(ENTITY_ID_PATTERN)
MAX_ID_CHARS = MAX_ENTITY_ID_CHARS
# At most this many ids are looked up in the documents at once (a search
# names at most ~400: 3 facets x 100 values + 20 hits x 18 chips).
MAX_FALLBACK_IDS = 500
# Names kept per process at most (the least recently found go first): ~100
# bytes each, so a few MB whatever ids hostile queries make the service name.
MAX_CACHED_NAMES = 20_000


def is_entity_id(value: object) -> TypeGuard[str]:
    return (
        isinstance(value, str)
        and len(value) <= MAX_ID_CHARS
        and _ENTITY_ID.fullmatch(value) is not None
    )


class EntityCardLike(Protocol):
    """What an entity page reads of a registry card
    (``services.entities.directory.EntityCard``)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def aliases(self) -> Sequence[str]: ...
    @property
    def external_id(self) -> str | None: ...
    @property
    def articles(self) -> int: ...


class Directory(Protocol):
    """The entity registry as the search service reads it
    (``services.entities.directory.EntityDirectory``)."""

    async def names(self, ids: Sequence[str]) -> dict[str, str]: ...

    async def get(self, entity_id: str) -> EntityCardLike | None: ...


Query = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
# id -> (display name, group) as the documents store them.
Stored = dict[str, tuple[str, str]]


def build_names_body(ids: Sequence[str]) -> dict[str, Any]:
    """For each id, the newest article that has it, with only its entity
    list's id, name and group: the name it was last indexed under."""
    chosen = list(ids)[:MAX_FALLBACK_IDS]
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {"terms": {"entity_ids": chosen}},
        "aggs": {
            "ids": {
                "terms": {"field": "entity_ids", "include": chosen, "size": len(chosen)},
                "aggs": {
                    "newest": {
                        "top_hits": {
                            "size": 1,
                            "sort": [{"sort_date": {"order": "desc"}}],
                            "_source": {
                                "includes": ["entities.id", "entities.canonical", "entities.group"]
                            },
                        }
                    }
                },
            }
        },
    }


def stored_names(response: dict[str, Any]) -> Stored:
    """id -> (name, group) from the answer to ``build_names_body``."""
    found: Stored = {}
    buckets = ((response.get("aggregations") or {}).get("ids") or {}).get("buckets") or []
    for bucket in buckets:
        entity_id = str(bucket.get("key"))
        hits = (((bucket.get("newest") or {}).get("hits")) or {}).get("hits") or []
        for hit in hits[:1]:
            entities = (hit.get("_source") or {}).get("entities")
            for entity in entities if isinstance(entities, list) else []:
                if not isinstance(entity, dict) or entity.get("id") != entity_id:
                    continue
                name, group = entity.get("canonical"), entity.get("group")
                if isinstance(name, str) and name:
                    found[entity_id] = (name, group if isinstance(group, str) else "")
                    break
    return found


class EntityNames:
    """Names of entity ids: the registry first, the documents for the rest."""

    def __init__(
        self,
        directory: Directory | None,
        query: Query,
        ttl_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self._query = query
        self._ttl_s = ttl_s
        self._clock = clock
        # id -> (name, when it was found), oldest first.
        self._cache: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def registry_names(self, ids: Sequence[str]) -> dict[str, str]:
        """The registry's names (one round trip); none when it cannot answer.
        Names are decoration: a registry failure must not fail a search."""
        if self.directory is None or not ids:
            return {}
        try:
            return {k: v for k, v in (await self.directory.names(ids)).items() if v}
        except Exception as exc:  # Redis down or slow: the documents' names will do
            log.warning("entity registry unavailable for names", extra={"error": repr(exc)})
            return {}

    async def stored(self, ids: Sequence[str]) -> Stored:
        """The documents' names of `ids` (one Elasticsearch request)."""
        if not ids:
            return {}
        try:
            return stored_names(await self._query(build_names_body(ids)))
        except (ApiError, TransportError) as exc:  # shown as ids rather than failing
            log.warning("could not read stored entity names", extra={"error": repr(exc)})
            return {}

    async def names(self, ids: Iterable[str]) -> dict[str, str]:
        """id -> display name for every id that has one."""
        wanted = list(dict.fromkeys(i for i in ids if is_entity_id(i)))
        known = self._recent(wanted)
        asked = [i for i in wanted if i not in known]
        found = await self.registry_names(asked)
        missing = [i for i in asked if i not in found]
        if missing:
            found.update({k: name for k, (name, _group) in (await self.stored(missing)).items()})
        self._keep(found)
        return {**known, **found}

    def _recent(self, ids: Sequence[str]) -> dict[str, str]:
        """The names of `ids` found less than ``ttl_s`` ago."""
        if self._ttl_s <= 0 or not self._cache:
            return {}
        oldest = self._clock() - self._ttl_s
        return {
            i: kept[0] for i in ids if (kept := self._cache.get(i)) is not None and kept[1] > oldest
        }

    def _keep(self, found: dict[str, str]) -> None:
        if self._ttl_s <= 0:
            return
        now = self._clock()
        for entity_id, name in found.items():
            self._cache.pop(entity_id, None)
            self._cache[entity_id] = (name, now)
        while len(self._cache) > MAX_CACHED_NAMES:
            self._cache.popitem(last=False)
