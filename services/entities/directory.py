"""Read-only view of the entity registry, for the search API (a public module).

The entities workers write the registry (:mod:`services.entities.registry_redis`);
the search API reads it through :class:`EntityDirectory` to show facet values and
entity pages by id: display names, the id an old id was merged into, an entity's
card. Every call is one Redis round trip (redirects are followed inside Lua), and
ids that are not entity ids (``Q<digits>`` or ``ent_`` + 16 hex) are answered as
unknown without asking Redis, so a hostile path or facet value costs nothing.

Redis errors are not caught here: the caller decides what a page without names
looks like (the search API degrades, it never answers 500).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
from redis.asyncio import Redis

from services.entities.redis_layout import FINAL_LUA, ID_PATTERN, Layout, text

__all__ = ["MAX_ALIASES", "EntityCard", "EntityDirectory"]

MAX_ALIASES: Final = 20
# Ids answered per call at most; the rest are absent (a facet shows far fewer).
MAX_IDS: Final = 1_000

# KEYS: redirect hash, name hash; ARGV: ids. -> display name (or false) per id.
_NAMES = (
    FINAL_LUA
    + """
local out = {}
for i = 1, #ARGV do
  out[i] = redis.call('HGET', KEYS[2], final(ARGV[i]))
end
return out
"""
)

# KEYS: redirect hash, name hash; ARGV: id. -> final id if it is a live entity.
_RESOLVE = (
    FINAL_LUA
    + """
local id = final(ARGV[1])
if redis.call('HEXISTS', KEYS[2], id) == 1 then return id end
return false
"""
)

# KEYS: redirect hash; ARGV: record key prefix, id. -> {final id, record JSON or false}.
# The record key is built here (not declared in KEYS): fine on one Redis node, which
# is what Newsflow runs; a cluster would need the registry's keys in one hash slot.
_CARD = (
    FINAL_LUA
    + """
local id = final(ARGV[2])
return {id, redis.call('GET', ARGV[1] .. id)}
"""
)


@dataclass(frozen=True)
class EntityCard:
    """What an entity page shows of the registry's record."""

    id: str  # the final id (after merges)
    name: str
    type: str  # facet group: people, organisations, places, ...
    aliases: tuple[str, ...]  # display forms met in articles, most used first
    external_id: str | None  # Wikidata QID when known
    articles: int  # articles that named it (as counted by the entities stage)


def _valid(entity_id: str) -> bool:
    return bool(ID_PATTERN.match(entity_id))


class EntityDirectory:
    """Entity names and cards by id, read from the registry of one namespace."""

    def __init__(self, redis: Redis, namespace: str = "") -> None:
        self.redis = redis
        self.layout = Layout(namespace)
        self._names = redis.register_script(_NAMES)
        self._resolve = redis.register_script(_RESOLVE)
        self._card = redis.register_script(_CARD)

    async def names(self, ids: Sequence[str]) -> dict[str, str]:
        """Display name of each known id (of its survivor if it was merged); ids
        unknown or malformed are absent. One round trip."""
        wanted = [i for i in dict.fromkeys(ids) if _valid(i)][:MAX_IDS]
        if not wanted:
            return {}
        found = await self._names(keys=[self.layout.redirect, self.layout.names], args=wanted)
        return {
            entity_id: name
            for entity_id, raw in zip(wanted, found, strict=True)
            if (name := text(raw)) is not None
        }

    async def resolve(self, entity_id: str) -> str | None:
        """The id ``entity_id`` stands for now (itself unless merged), or None if
        no such entity is known."""
        if not _valid(entity_id):
            return None
        found = await self._resolve(
            keys=[self.layout.redirect, self.layout.names], args=[entity_id]
        )
        return text(found)

    async def get(self, entity_id: str) -> EntityCard | None:
        """The card of the entity ``entity_id`` stands for now, or None."""
        if not _valid(entity_id):
            return None
        final, raw = await self._card(
            keys=[self.layout.redirect], args=[self.layout.record_prefix, entity_id]
        )
        if raw is None:
            return None
        return _card(text(final) or entity_id, orjson.loads(raw))


def _card(entity_id: str, data: dict[str, Any]) -> EntityCard:
    forms: dict[str, int] = data.get("names") or {}
    ranked = sorted(forms, key=lambda form: (-forms[form], form))
    return EntityCard(
        id=entity_id,
        name=str(data.get("name") or entity_id),
        type=str(data.get("type") or "other"),
        aliases=tuple(ranked[:MAX_ALIASES]),
        external_id=data.get("external_id"),
        articles=int(data.get("articles") or 0),
    )
