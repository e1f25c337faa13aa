"""The store's change log and the batched writes of the webhooks stage and
the dispatcher, on the real Redis (a private key prefix, deleted after)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.subscriptions import store as store_module
from services.subscriptions.delivery import Job, JobQueue
from services.subscriptions.models import SubscriptionIn
from services.subscriptions.store import SubscriptionStore
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.integration
OWNER = "0" * 32


@pytest.fixture
async def redis(stack: None) -> AsyncIterator[tuple[Redis, str]]:
    client = Redis.from_url(REDIS_URL)
    ns = f"test-{uuid.uuid4().hex[:10]}-"
    yield client, ns
    keys = [k async for k in client.scan_iter(match=f"{ns}*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def make(store: SubscriptionStore, q: str) -> str:
    body = SubscriptionIn.model_validate({"name": q, "q": q})
    sub, _ = await store.create(body, OWNER, max_per_key=100, max_total=100)
    return sub.id


async def test_the_change_log_lists_what_changed_since_a_version(
    redis: tuple[Redis, str],
) -> None:
    store = SubscriptionStore(*redis)
    first = await make(store, "alpha")
    start = await store.version()
    second = await make(store, "beta")
    assert await store.changes_since(start) == (start + 1, [second])
    await store.set_paused(first, True, "test")
    assert await store.delete(second, OWNER)
    version, changed = await store.changes_since(start) or (0, [])
    assert version == start + 3 and sorted(changed) == sorted([first, second])
    # Each id once, at its last change: only the deletion is after start + 1.
    assert await store.changes_since(start + 2) == (start + 3, [second])
    assert await store.changes_since(version) == (version, [])


async def test_a_trimmed_change_log_asks_for_a_full_reload(
    redis: tuple[Redis, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "CHANGES_KEPT", 3)
    store = SubscriptionStore(*redis)
    await store.touch(["a", "b", "c", "d", "e"])  # one version; two ids dropped
    assert await store.changes_since(0) is None
    version, changed = await store.changes_since(1) or (0, [])
    assert version == 1 and changed == []  # 1 is the floor: nothing lost after it
    await store.touch(["f"])
    assert await store.changes_since(1) == (2, ["f"])
    assert await redis[0].zcard(store.key("changes")) == 3


def job(sid: str, article: str) -> Job:
    return Job(
        subscription_id=sid,
        article_id=article,
        first_at=0.0,
        topic="t",
        partition=0,
        offset=0,
        key=sid,
        value="{}",
    )


async def test_jobs_are_queued_once_in_one_round_trip_and_never_after_delivery(
    redis: tuple[Redis, str],
) -> None:
    client, ns = redis
    queue, store = JobQueue(client, ns, 3600), SubscriptionStore(client, ns)
    jobs = [job("s" * 16, "1" * 32), job("s" * 16, "2" * 32), job("s" * 16, "1" * 32)]
    assert await queue.enqueue_many(jobs, due=1.0) == [True, True, False]
    assert await queue.enqueue_many([], due=1.0) == []
    [first, second] = await queue.claim(now=2.0, limit=10, lease_s=60)
    await queue.finish(
        first, delivered=True, also=lambda pipe: store.record_success(first.subscription_id, pipe)
    )
    state = await store.delivery("s" * 16)
    assert state.consecutive_failures == 0 and state.last_delivered_at is not None
    assert state.pending == 1
    # Delivered: a replay of the same match queues nothing; the other is still pending.
    assert await queue.enqueue_many([first, second], due=3.0) == [False, False]
    assert await queue.depth() == 1


async def test_feed_entries_of_a_batch_are_written_together_and_trimmed(
    redis: tuple[Redis, str],
) -> None:
    store = SubscriptionStore(*redis)
    entries = [("a" * 16, {"article_id": str(k)}, float(k)) for k in range(5)]
    entries.append(("b" * 16, {"article_id": "x"}, 1.0))
    await store.add_feed_entries(entries, keep=3)
    await store.add_feed_entries([], keep=3)
    latest = await store.feed_entries("a" * 16, 10)
    assert [e["article_id"] for e in latest] == ["4", "3", "2"]
    assert [e["article_id"] for e in await store.feed_entries("b" * 16, 10)] == ["x"]
