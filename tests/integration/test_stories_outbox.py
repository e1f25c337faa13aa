"""The stories stage's merges outbox and lock fencing, on the real Redis, run by the
real engine on the in-memory broker: a merge is never lost, whatever fails after
the clustering made it (the delivery, then the worker killed; an oversized article
in the same batch); the outbox keeps an entry until it is sent; a worker whose
lock is gone writes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis
from redis.exceptions import LockNotOwnedError

from services.stories.models import Assignment, story_id_for
from services.stories.redis_state import RedisState
from services.stories.settings import StoriesSettings
from services.stories.stage import STORIES, StoriesHandler
from services.stories.state import Change
from shared.contracts.export import examples
from shared.contracts.models import DeadLetterV1, EnrichedArticleV1, MergeV1
from shared.contracts.topics import ENRICHED, GROUPED, MERGED
from shared.runtime.dead_letters import MAX_MESSAGE_BYTES
from shared.runtime.memory import MemoryBroker, MemoryStream, group_offsets, memory_engine
from tests.conftest import REDIS_URL, new_namespace
from tests.integration.test_stories_pipeline import BUDGET, FIRE_A, FIRE_B

pytestmark = [pytest.mark.integration]

# No article reaches a story, no story merges: two stories for one event.
APART = {"threshold": 0.99, "merge_threshold": 2.0, "merge_centroid": 2.0}
# A bridging report merges them (copies off: it quotes both).
BRIDGING = {"merge_threshold": 0.3, "merge_centroid": 2.0, "dup_threshold": 1.1}


@pytest.fixture
def namespace(stack: None) -> Iterator[str]:
    ns = new_namespace()
    yield ns
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{ns}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def enriched(text: str, source: str) -> EnrichedArticleV1:
    template = examples()["articles.enriched"]
    assert isinstance(template, EnrichedArticleV1)
    aid = uuid.uuid4().hex
    return EnrichedArticleV1.model_validate(
        {
            **template.model_dump(),
            "article_id": aid,
            "url": f"https://{source}/news/{aid}",
            "source": source,
            "title": text.split(".")[0],
            "text": text,
            "entities": [],
        }
    )


class Worker:
    """A stories worker of the namespace: its own handler and engine on ``broker``."""

    def __init__(self, ns: str, broker: MemoryBroker, params: dict[str, Any]) -> None:
        self.settings = StoriesSettings(namespace=ns, redis_url=REDIS_URL, params=params)
        self.handler = StoriesHandler(self.settings)
        self.broker = broker
        self.source = ENRICHED.full_name(ns)

    def run(self, batch: int = 10) -> None:
        engine = memory_engine(STORIES, self.settings, self.broker, handler=self.handler)
        stream = MemoryStream(engine, self.broker, self.source, "stories", batch)
        asyncio.run(stream.run_until_idle())

    def send(self, *articles: EnrichedArticleV1) -> None:
        for a in articles:
            self.broker.produce(self.source, a.article_id.encode(), a.model_dump_json().encode())


def merges(broker: MemoryBroker, ns: str) -> list[tuple[str, str]]:
    found = [
        MergeV1.model_validate(orjson.loads(r.value)) for r in broker.messages(MERGED.full_name(ns))
    ]
    return [(m.old_id, m.new_id) for m in found]


def stories(broker: MemoryBroker, ns: str) -> dict[str, str]:
    """article id -> story id, the latest grouped record of each."""
    records = [orjson.loads(r.value) for r in broker.messages(GROUPED.full_name(ns))]
    return {r["article_id"]: r["story_id"] for r in records}


def two_stories(ns: str, broker: MemoryBroker) -> tuple[str, str]:
    """Two reports of one fire in two stories; their ids (the older first)."""
    apart = Worker(ns, broker, APART)
    a, b = enriched(FIRE_A, "one.example"), enriched(FIRE_B, "two.example")
    apart.send(a)
    apart.run()
    apart.send(b)
    apart.run()
    found = stories(broker, ns)
    assert found[a.article_id] != found[b.article_id]
    return found[a.article_id], found[b.article_id]


def test_a_merge_made_by_a_batch_whose_delivery_failed_is_sent_after_a_restart(
    namespace: str,
) -> None:
    broker = MemoryBroker()
    older, newer = two_stories(namespace, broker)
    worker = Worker(namespace, broker, BRIDGING)
    bridge = enriched(FIRE_A + " " + FIRE_B, "three.example")
    worker.send(bridge)
    broker.fail_sends.append(TypeError("the producer broke; the worker is killed"))
    with pytest.raises(TypeError):
        worker.run()
    assert merges(broker, namespace) == []
    outbox = worker.handler.state.outbox_key
    assert worker.handler.state.client.llen(outbox) == 1  # peeked, never taken

    # A new worker (after the kill): the bridge is a remembered assignment now and
    # makes no merge, yet the merge the first attempt made goes out.
    Worker(namespace, broker, BRIDGING).run()
    assert merges(broker, namespace) == [(newer, older)]
    assert stories(broker, namespace)[bridge.article_id] == older
    assert worker.handler.state.client.llen(outbox) == 0
    Worker(namespace, broker, BRIDGING).run()  # nothing new: nothing sent again
    assert merges(broker, namespace) == [(newer, older)]


def test_an_oversized_article_in_the_batch_does_not_take_the_merge_along(namespace: str) -> None:
    broker = MemoryBroker()
    older, newer = two_stories(namespace, broker)
    worker = Worker(namespace, broker, BRIDGING)
    huge = enriched(" ".join([BUDGET] * (MAX_MESSAGE_BYTES // len(BUDGET) + 1)), "big.example")
    bridge = enriched(FIRE_A + " " + FIRE_B, "three.example")
    worker.send(bridge, huge)  # the merge's batch, the big one last
    worker.run()
    assert merges(broker, namespace) == [(newer, older)]
    letters = [
        DeadLetterV1.model_validate(orjson.loads(r.value))
        for r in broker.messages(ENRICHED.full_dlq(namespace) or "")
    ]
    assert [(d.key, d.error_type) for d in letters] == [(huge.article_id, "OutputTooLarge")]
    assert group_offsets(broker, "stories") == {(ENRICHED.full_name(namespace), 0): 4}


def _change(article_id: str) -> Change:
    assignment = Assignment(article_id, story_id_for(article_id), None, 1)
    return Change(assignment, time=1.7e9, day=19675, terms=["fire"])


def test_a_worker_whose_lock_is_gone_writes_nothing(namespace: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    state = RedisState(client, namespace)
    other = RedisState(client, namespace)
    lock_key = f"{state.prefix}lock"
    released = pytest.raises(LockNotOwnedError, match="no longer owned")
    with released, state.lock(timeout=30, wait=5):  # leaving it finds the lock gone
        client.delete(lock_key)  # expired while the worker was paused...
        with other.lock(timeout=30, wait=5):  # ...and another worker took it
            with pytest.raises(LockNotOwnedError, match="lost before a commit"):
                state.commit(_change("a1"))
            other.commit(_change("a2"))  # the holder writes
        with pytest.raises(LockNotOwnedError, match="lost before a commit"):
            state.commit(_change("a3"))  # no lock at all: still nothing written
    assert state.get_assignment("a1") is None and state.get_assignment("a3") is None
    assert state.get_assignment("a2") is not None
    client.close()


def test_a_lock_lost_between_the_check_and_the_write_fails_the_transaction(
    namespace: str,
) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    state = RedisState(client, namespace)
    read_watermark = state.watermark

    def expire_meanwhile() -> float:  # commit reads it between its check and its MULTI
        client.delete(f"{state.prefix}lock")
        return read_watermark()

    with pytest.raises(LockNotOwnedError), state.lock(timeout=30, wait=5):
        state.watermark = expire_meanwhile  # type: ignore[method-assign]
        with pytest.raises(redis.WatchError):
            state.commit(_change("a4"))
    assert state.get_assignment("a4") is None
    client.close()
