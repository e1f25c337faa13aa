"""The search API's read-only view of the entity registry, on the real Redis: names
by id in one call, ids followed through merges, cards, hostile ids."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.asyncio import Redis as AsyncRedis

from services.entities.directory import MAX_ALIASES, EntityCard, EntityDirectory
from services.entities.registry import EntityRecord, entity_id
from services.entities.registry_redis import RedisStore
from tests.conftest import REDIS_URL, new_namespace

TRUMP = entity_id("donald trump")
LONE_TRUMP = entity_id("trump")
AP = entity_id("associated press")


@pytest.fixture
def namespace(stack: None) -> Iterator[str]:
    ns = new_namespace()
    yield ns
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{ns}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def registry(namespace: str) -> Iterator[RedisStore]:
    """A registry holding Donald Trump (a lone "Trump" merged into him), the AP and
    the United States, as the entities stage writes it."""
    store = RedisStore.from_url(REDIS_URL, namespace)
    with store.batch():
        trump = EntityRecord(
            id=TRUMP,
            names=Counter({"Donald Trump": 9, "Donald J. Trump": 2}),
            type_votes=Counter({"people": 9}),
            aliases={"donald trump"},
            articles=9,
        )
        lone = EntityRecord(
            id=LONE_TRUMP,
            names=Counter({"Trump": 5}),
            type_votes=Counter({"people": 4, "organisations": 1}),
            aliases={"trump"},
            articles=5,
        )
        ap = EntityRecord(
            id=AP,
            names=Counter({"AP": 3}),
            type_votes=Counter({"organisations": 3}),
            aliases={"ap"},
            articles=3,
            fixed_name="Associated Press",
        )
        us = EntityRecord(
            id="Q30",
            names=Counter({"United States": 13}),
            type_votes=Counter({"places": 13}),
            articles=13,
            fixed_name="United States",
            fixed_type="places",
            external_id="Q30",
        )
        for record in (trump, lone, ap, us):
            store.save(record)
        store.merge(lone, trump)
    yield store
    store.client.close()


def run(namespace: str, call: str, *args: object) -> Any:
    """One directory call on a fresh client, as the search API makes it."""

    async def go() -> Any:
        client = AsyncRedis.from_url(REDIS_URL)
        try:
            return await getattr(EntityDirectory(client, namespace), call)(*args)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_names_follow_merges_and_leave_unknown_ids_out(
    registry: RedisStore, namespace: str
) -> None:
    names: dict[str, str] = run(
        namespace, "names", [TRUMP, LONE_TRUMP, AP, "Q30", "Q999999", "ent_" + "0" * 16]
    )
    assert names == {
        TRUMP: "Donald Trump",
        LONE_TRUMP: "Donald Trump",  # merged: named as its survivor
        AP: "Associated Press",
        "Q30": "United States",
    }


def test_names_of_nothing_is_empty(registry: RedisStore, namespace: str) -> None:
    assert run(namespace, "names", []) == {}


def test_resolve_gives_the_survivor_and_none_for_unknown(
    registry: RedisStore, namespace: str
) -> None:
    assert run(namespace, "resolve", LONE_TRUMP) == TRUMP
    assert run(namespace, "resolve", TRUMP) == TRUMP
    assert run(namespace, "resolve", "ent_ffffffffffffffff") is None


def test_card_of_a_merged_id_is_the_survivors_with_all_its_evidence(
    registry: RedisStore, namespace: str
) -> None:
    card: EntityCard = run(namespace, "get", LONE_TRUMP)
    assert card == EntityCard(
        id=TRUMP,
        name="Donald Trump",
        type="people",
        aliases=("Donald Trump", "Trump", "Donald J. Trump"),  # most used first
        external_id=None,
        articles=14,
    )
    us: EntityCard = run(namespace, "get", "Q30")
    assert (us.name, us.type, us.external_id, us.articles) == (
        "United States",
        "places",
        "Q30",
        13,
    )


def test_aliases_are_capped(registry: RedisStore, namespace: str) -> None:
    many = EntityRecord(
        id=entity_id("many"),
        names=Counter({f"Form {i}": 100 - i for i in range(40)}),
        type_votes=Counter({"organisations": 1}),
        articles=1,
    )
    registry.save(many)  # outside a batch: writes under the lock at once
    card: EntityCard = run(namespace, "get", many.id)
    assert card.aliases == tuple(f"Form {i}" for i in range(MAX_ALIASES))


@pytest.mark.parametrize(
    "hostile", ["", "../../etc/passwd", "Q", "ent_XYZ", "*", "Q30 ", "ent_" + "a" * 400]
)
def test_malformed_ids_are_unknown(registry: RedisStore, namespace: str, hostile: str) -> None:
    assert run(namespace, "get", hostile) is None
    assert run(namespace, "resolve", hostile) is None
    assert run(namespace, "names", [hostile, "Q30"]) == {"Q30": "United States"}


def test_a_client_decoding_responses_reads_the_same(registry: RedisStore, namespace: str) -> None:
    async def go() -> tuple[dict[str, str], EntityCard | None]:
        client = AsyncRedis.from_url(REDIS_URL, decode_responses=True)
        try:
            directory = EntityDirectory(client, namespace)
            return await directory.names([LONE_TRUMP]), await directory.get(AP)
        finally:
            await client.aclose()

    names, card = asyncio.run(go())
    assert names == {LONE_TRUMP: "Donald Trump"}
    assert card is not None and card.name == "Associated Press"
