"""The search process's short memory of entity names (services/search/entitynames.py):
the registry is asked only for ids not named within ``ttl_s``, and the memory is bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from services.search import entitynames
from services.search.entitynames import EntityNames

A, B = "ent_" + "a" * 16, "ent_" + "b" * 16


class Registry:
    """A registry that records which ids it was asked for (pure logic under test)."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names_by_id = names
        self.asked: list[list[str]] = []

    async def names(self, ids: Sequence[str]) -> dict[str, str]:
        self.asked.append(list(ids))
        return {i: self.names_by_id[i] for i in ids if i in self.names_by_id}

    async def get(self, entity_id: str) -> None:
        return None


async def no_documents(body: dict[str, Any]) -> dict[str, Any]:
    return {}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_names_found_recently_are_not_asked_again() -> None:
    registry, clock = Registry({A: "Ada", B: "Bo"}), Clock()
    names = EntityNames(registry, no_documents, ttl_s=10, clock=clock)
    assert asyncio.run(names.names([A])) == {A: "Ada"}
    assert asyncio.run(names.names([A, B])) == {A: "Ada", B: "Bo"}
    assert registry.asked == [[A], [B]]
    registry.names_by_id[A] = "Ada Lovelace"  # renamed (or merged) in the registry
    clock.now += 10.5
    assert asyncio.run(names.names([A, B])) == {A: "Ada Lovelace", B: "Bo"}
    assert registry.asked[-1] == [A, B]


def test_without_a_ttl_every_search_asks() -> None:
    registry = Registry({A: "Ada"})
    names = EntityNames(registry, no_documents)
    asyncio.run(names.names([A]))
    asyncio.run(names.names([A]))
    assert registry.asked == [[A], [A]]


def test_an_unknown_id_is_asked_every_time_and_the_memory_is_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(entitynames, "MAX_CACHED_NAMES", 3)
    known = {f"ent_{n:016x}": f"name {n}" for n in range(5)}
    registry = Registry(known)
    names = EntityNames(registry, no_documents, ttl_s=60, clock=Clock())
    asyncio.run(names.names([*known, B]))
    assert len(names._cache) == 3  # the three found last
    asyncio.run(names.names([B]))
    assert registry.asked[-1] == [B]
