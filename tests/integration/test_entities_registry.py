"""The entity registry on the real Redis: the same answers as in memory, merges
announced, ids kept across restarts, workers racing on the same names, a lost
lock, and the round trips a batch costs. Articles are the resolver unit tests'
(real sentences, NER spans given), so no spaCy here."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier

import pytest
import redis

from services.entities.directory import EntityDirectory
from services.entities.keys import name_key
from services.entities.normalize import Entity
from services.entities.redis_layout import Layout
from services.entities.registry import EntityRecord, entity_id
from services.entities.registry_redis import RedisStore
from services.entities.resolve import Merge, Resolver
from tests.conftest import REDIS_URL, new_namespace
from tests.unit.test_entities_resolve import FULL_TRUMP, FULL_TRUMP_2, LONE_TRUMP, article

TRUMP = entity_id(name_key("Donald Trump"))
LONE = entity_id(name_key("Trump"))

ZELENSKIY = article(
    "when he asked Ukraine President Volodymyr Zelenskiy for the investigations",
    [("Ukraine", "GPE"), ("Volodymyr Zelenskiy", "PERSON")],
)
ZELENSKY = article(
    "to pressure the country's President Volodymyr Zelensky into announcing an inquiry",
    [("Volodymyr Zelensky", "PERSON")],
)
LONE_ZELENSKY = article(
    "his July 25th call with Ukrainian president Zelensky", [("Zelensky", "PERSON")]
)
AP = article("AP reported it first.", [("AP", "ORG")])
FULL_AP = article("The Associated Press reports that 28 people", [("The Associated Press", "ORG")])
US_FORMS = article(
    "the US and the U.S. and the USA and the United States",
    [("US", "GPE"), ("U.S.", "GPE"), ("USA", "GPE"), ("United States", "GPE")],
)
CERES_PERSON = article("Ceres Robotics said no.", [("Ceres Robotics", "PERSON")])
CERES_ORG = article("Ceres Robotics, Palo Alto, California", [("Ceres Robotics", "ORG")])
DATES = article("on Tuesday, November 12", [("Tuesday, November 12", "DATE")])
STREAM = [
    LONE_TRUMP,
    AP,
    CERES_PERSON,
    FULL_TRUMP,
    ZELENSKIY,
    US_FORMS,
    FULL_TRUMP_2,
    LONE_TRUMP,
    FULL_AP,
    CERES_ORG,
    ZELENSKY,
    LONE_ZELENSKY,
    CERES_ORG,
    DATES,
]


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
def store(namespace: str) -> Iterator[RedisStore]:
    store = RedisStore.from_url(REDIS_URL, namespace)
    yield store
    store.client.close()


def batches(articles: list[list[Entity]], size: int) -> list[list[list[Entity]]]:
    return [articles[i : i + size] for i in range(0, len(articles), size)]


@pytest.mark.parametrize("size", [1, 3, 8])
def test_redis_resolves_exactly_like_memory(store: RedisStore, size: int) -> None:
    memory, shared = Resolver(), Resolver(store)
    for batch in batches(STREAM, size):
        assert shared.resolve_batch(batch) == memory.resolve_batch(batch)
    for entities in STREAM:  # and the final state
        for entity in entities:
            for name in (entity.canonical, *entity.surface_forms):
                expected = memory.store.find([name_key(name)]).get(name_key(name))
                found = store.find([name_key(name)]).get(name_key(name))
                assert (found and (found.id, found.name, found.type, found.articles)) == (
                    expected and (expected.id, expected.name, expected.type, expected.articles)
                )


def test_a_merge_is_announced_with_the_final_survivor(store: RedisStore) -> None:
    resolver = Resolver(store)
    ([lone],), _ = resolver.resolve_batch([LONE_TRUMP])
    assert (lone.id, lone.name) == (LONE, "Trump")
    _, merges = resolver.resolve_batch([FULL_TRUMP, FULL_TRUMP_2])
    # The second full-name article is the evidence that merges the lone surname.
    assert merges == [[], [Merge(LONE, TRUMP, "Donald Trump")]]
    assert store.get(LONE) == store.get(TRUMP)
    assert store.client.hget(Layout(store.layout.prefix[: -len("entities:")]).redirect, LONE)


def test_ids_merged_within_a_batch_are_replaced_in_its_articles(store: RedisStore) -> None:
    resolved, merges = Resolver(store).resolve_batch([LONE_TRUMP, FULL_TRUMP, FULL_TRUMP_2])
    assert [e.id for e in resolved[0]] == [TRUMP]
    assert resolved[0][0].name == "Donald Trump"
    assert merges[2] == [Merge(LONE, TRUMP, "Donald Trump")]


def test_a_restarted_worker_keeps_ids_and_evidence(namespace: str, store: RedisStore) -> None:
    first = Resolver(store)
    seen = {}
    for batch in batches(STREAM[:8], 3):
        for resolved in first.resolve_batch(batch)[0]:
            seen.update({n: e.id for e in resolved for n in e.article_names})
    restarted = Resolver(RedisStore.from_url(REDIS_URL, namespace))
    # A worker without the registry would give a lone "Trump" an id of its own.
    (lone,) = restarted.resolve(LONE_TRUMP)
    assert (lone.id, lone.name) == (TRUMP, "Donald Trump")
    (ap,) = restarted.resolve(FULL_AP)
    assert (ap.id, ap.name) == (seen["AP"], "Associated Press")
    (ceres,) = restarted.resolve(CERES_ORG)
    assert ceres.id == seen["Ceres Robotics"]
    record = restarted.current(LONE)
    assert record is not None and record.articles == 5  # 2 lone + 2 full + this one


def _race(
    namespace: str, rounds: int, barrier: Barrier, out: multiprocessing.Queue[object]
) -> None:
    """One worker: waits for the others, then resolves the same new names."""
    resolver = Resolver(RedisStore.from_url(REDIS_URL, namespace, lock_wait=60))
    barrier.wait()
    merges = []
    for r in range(rounds):
        name = _surname(r)
        lone = article(f"President {name} spoke.", [(name, "PERSON")])
        full = article(f"President Anna {name} spoke.", [(f"Anna {name}", "PERSON")])
        for found in resolver.resolve_batch([lone, full, full])[1]:
            merges += [(m.old_id, m.new_id) for m in found]
    out.put(merges)


def _surname(r: int) -> str:
    letters = "bcdfghjklmnpqrstvwxz"
    return "Qu" + letters[r % 20] + "ex" + letters[r // 20 % 20] + "o"


def test_workers_racing_on_new_names_agree_and_lose_no_vote(namespace: str) -> None:
    workers, rounds = 4, 30
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    out: multiprocessing.Queue[object] = ctx.Queue()
    procs = [
        ctx.Process(target=_race, args=(namespace, rounds, barrier, out)) for _ in range(workers)
    ]
    for p in procs:
        p.start()
    merges = [m for _ in procs for m in out.get(timeout=120)]  # type: ignore[attr-defined]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = RedisStore.from_url(REDIS_URL, namespace)
    for r in range(rounds):
        lone_id = entity_id(name_key(_surname(r)))
        full_id = entity_id(name_key(f"Anna {_surname(r)}"))
        record = store.get(lone_id)
        # One entity, under the full name, with every worker's three articles.
        assert record is not None and (record.id, record.name) == (full_id, f"Anna {_surname(r)}")
        assert record.articles == 3 * workers
        assert record.type_votes == {"people": 3 * workers}
        assert merges.count((lone_id, full_id)) == 1  # merged and announced once
    assert len(merges) == rounds
    store.client.close()


def test_a_lost_lock_writes_nothing(store: RedisStore) -> None:
    record = EntityRecord(id=entity_id("ghost"), aliases={"ghost"}, articles=1)
    with pytest.raises(redis.WatchError), store.batch():
        store.save(record)
        # The lock expired and another worker took it meanwhile.
        store.client.set(store.layout.lock, b"someone-else")
    assert store.client.exists(store.layout.record(record.id)) == 0
    assert store.client.hget(store.layout.alias, "ghost") is None
    assert store.client.get(store.layout.lock) == b"someone-else"  # not released by us


def test_a_lock_that_expired_under_its_holder_writes_nothing(namespace: str) -> None:
    store = RedisStore.from_url(REDIS_URL, namespace, lock_timeout=0.2)
    record = EntityRecord(id=entity_id("late"), aliases={"late"}, articles=1)
    with pytest.raises(redis.WatchError), store.batch():
        store.save(record)
        time.sleep(0.5)  # a stalled worker: its lock expires, free for others
    assert store.client.exists(store.layout.record(record.id)) == 0
    store.client.close()


def test_a_batch_of_known_names_costs_five_round_trips(store: RedisStore) -> None:
    resolver = Resolver(store)
    resolver.resolve_batch(STREAM[:8])
    before = store.round_trips
    resolver.resolve_batch(STREAM[:8])
    # Lock, WATCH, one lookup, MULTI/EXEC, release.
    assert store.round_trips - before == 5


def test_what_the_directory_reads_is_what_the_workers_wrote(
    namespace: str, store: RedisStore
) -> None:
    import asyncio

    from redis.asyncio import Redis as AsyncRedis

    resolver = Resolver(store)
    for batch in batches(STREAM, 4):
        resolver.resolve_batch(batch)

    async def read() -> tuple[dict[str, str], str | None]:
        client = AsyncRedis.from_url(REDIS_URL)
        try:
            directory = EntityDirectory(client, namespace)
            return await directory.names([LONE, "Q30"]), await directory.resolve(LONE)
        finally:
            await client.aclose()

    assert asyncio.run(read()) == ({LONE: "Donald Trump", "Q30": "United States"}, TRUMP)
