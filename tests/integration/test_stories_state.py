"""The stories state on the real Redis: same answers as in memory, replays, restarts,
merges, expiry and key hygiene, under a namespace of its own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from services.stories.clustering import StoryClusterer
from services.stories.models import ArticleIn, story_id_for
from services.stories.redis_state import RedisState
from services.stories.scoring import Params
from services.stories.state import MemoryState
from tests.conftest import REDIS_URL, new_namespace

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
FIRE_A = (
    "A fire ripped through a Waitrose supermarket in Banstead, Surrey, on Friday night. "
    "More than 50 firefighters tackled the blaze, which began on the roof of the store, "
    "and residents of Banstead High Street were evacuated as a precaution. Surrey Police "
    "said the fire is being treated as potentially suspicious."
)
FIRE_B = (
    "Firefighters spent the night at the Waitrose store in Banstead after a blaze gutted "
    "the Surrey supermarket. Surrey Police say the Banstead fire, which started on the roof "
    "on Friday, is potentially suspicious. Residents near Banstead High Street were moved."
)
QUAKE = (
    "An earthquake of magnitude 6.1 struck Qeshm island off southern Iran on Sunday, "
    "killing ten people in mud-brick villages, Iranian state television said. The quake "
    "levelled homes in several villages on Qeshm, and rescue teams from Bandar Abbas "
    "reached the island by boat. Dozens of people were injured in the Qeshm earthquake."
)


def art(article_id: str, text: str, hours: float = 0.0) -> ArticleIn:
    when = T0 + timedelta(hours=hours)
    return ArticleIn(article_id, text, published_at=when, received_at=when, source="s")


ARTICLES = [
    art("a", FIRE_A),
    art("q", QUAKE, 1),
    art("b", FIRE_B, 2),
    art("c", FIRE_A.replace("Friday night", "Friday evening"), 3),
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


def _keys(ns: str) -> list[bytes]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return list(client.scan_iter(match=f"{ns}*", count=1000))
    finally:
        client.close()


def test_redis_state_gives_the_same_answers_as_memory(namespace: str) -> None:
    in_memory = StoryClusterer(MemoryState()).process(ARTICLES)
    with RedisState.from_url(REDIS_URL, namespace).lock():
        in_redis = StoryClusterer(RedisState.from_url(REDIS_URL, namespace)).process(ARTICLES)
    assert in_redis.assignments == in_memory.assignments
    assert in_redis.stories == in_memory.stories
    copy = in_redis.assignments[3]
    assert copy.duplicate_of == "a" and copy.copies == 2


def test_restart_and_replay_keep_assignments(namespace: str) -> None:
    first = StoryClusterer(RedisState.from_url(REDIS_URL, namespace)).process(ARTICLES[:2])
    # A new process (new client, new clusterer) sees the same state.
    restarted = StoryClusterer(RedisState.from_url(REDIS_URL, namespace))
    replay = restarted.process(ARTICLES)
    assert [a.replayed for a in replay.assignments] == [True, True, False, False]
    assert replay.assignments[:2] == [
        type(a)(a.article_id, a.story_id, a.duplicate_of, a.copies, replayed=True)
        for a in first.assignments
    ]
    assert replay.assignments[2].story_id == story_id_for("a")  # joined the earlier story


def test_merges_are_stored_and_resolved(namespace: str) -> None:
    state = RedisState.from_url(REDIS_URL, namespace)
    clusterer = StoryClusterer(
        state, Params(threshold=0.99, merge_threshold=2.0, merge_centroid=2.0)
    )
    clusterer.process([art("a", FIRE_A), art("b", FIRE_B, 1)])
    clusterer.params = Params(merge_threshold=0.3, merge_centroid=2.0, dup_threshold=1.1)
    result = clusterer.process([art("m", FIRE_A + " " + FIRE_B, 2)])
    assert [(m.old, m.into) for m in result.merges] == [(story_id_for("b"), story_id_for("a"))]
    assert state.resolve(story_id_for("b")) == story_id_for("a")
    replay = StoryClusterer(RedisState.from_url(REDIS_URL, namespace)).process(
        [art("b", FIRE_B, 1)]
    )
    assert replay.assignments[0].story_id == story_id_for("a")
    assert state.load_stories([story_id_for("b")]) == {}


def test_every_key_is_namespaced_and_expires(namespace: str) -> None:
    StoryClusterer(RedisState.from_url(REDIS_URL, namespace)).process(ARTICLES)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = _keys(namespace)
        assert keys and all(k.startswith(f"{namespace}stories:".encode()) for k in keys)
        untimed = sorted(k for k in keys if client.ttl(k) == -1)
        # Only the story counter and the watermark live without TTL (two small keys).
        assert untimed == [f"{namespace}stories:seq".encode(), f"{namespace}stories:wm".encode()]
        ttls = [client.ttl(k) for k in keys if client.ttl(k) > 0]
        assert max(ttls) <= 30 * 86_400
    finally:
        client.close()


def test_postings_are_trimmed_to_the_window(namespace: str) -> None:
    state = RedisState.from_url(REDIS_URL, namespace, window=86_400.0)
    clusterer = StoryClusterer(state, Params(window=86_400.0))
    clusterer.process([art("a", FIRE_A)])
    clusterer.process([art("b", FIRE_B, hours=72)])  # three days later: a is out of the window
    client = redis.Redis.from_url(REDIS_URL)
    try:
        members = client.zrange(f"{namespace}stories:p:banstead", 0, -1)
    finally:
        client.close()
    assert members == [story_id_for("b").encode()]
