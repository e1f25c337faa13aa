"""The matcher stage on the in-memory stream (shared/runtime/memory.py):
batches of articles.indexed in, subscriptions.matched out, each match once
whatever replays happen, bad input to the DLQ. Elasticsearch and Redis are
replaced by small fakes that keep their contracts (real-time reads,
searches that only see refreshed documents, SET NX claims)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from services.subscriptions.matching import Document
from services.subscriptions.models import Subscription
from services.subscriptions.settings import MatcherSettings
from services.subscriptions.stage import MATCHER, Matcher
from shared.contracts.models import IndexedArticleV1, SubscriptionMatchV1
from shared.runtime.memory import MemoryBroker, MemoryStream, memory_engine

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def sub(sid: str, **fields: Any) -> Subscription:
    return Subscription(
        id=sid, owner="a" * 32, name=sid, webhook_secret="s", feed_token_hash="b" * 64, **fields
    )


class FakeStore:
    """The store's reads and its change log (id -> version of its last change)."""

    def __init__(self, subs: list[Subscription]) -> None:
        self.subs = {s.id: s for s in subs}
        self.claims: set[tuple[str, str]] = set()
        self.bumps = 0
        self.changes: dict[str, int] = {}
        self.floor = 0
        self.reads: list[str] = []  # "all", or the ids read

    def put(self, sub: Subscription) -> None:
        self.subs[sub.id] = sub
        self.touch(sub.id)

    def remove(self, sid: str) -> None:
        del self.subs[sid]
        self.touch(sid)

    def touch(self, sid: str) -> None:
        self.bumps += 1
        self.changes[sid] = self.bumps

    async def version(self) -> int:
        return self.bumps

    async def all(self) -> list[Subscription]:
        self.reads.append("all")
        return list(self.subs.values())

    async def many(self, ids: Sequence[str]) -> list[Subscription]:
        self.reads.extend(ids)
        return [self.subs[i] for i in ids if i in self.subs]

    async def changes_since(self, version: int) -> tuple[int, list[str]] | None:
        if version < self.floor:
            return None
        return self.bumps, sorted(i for i, v in self.changes.items() if v > version)

    async def claim(self, pairs: Sequence[tuple[str, str]], ttl_s: int) -> list[bool]:
        fresh = []
        for pair in pairs:
            fresh.append(pair not in self.claims)
            self.claims.add(pair)
        return fresh


class FakeIndex:
    """Documents by id; words are their lower-cased forms; a search sees a
    document only once it is 'refreshed' (wait_visible does that)."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.visible: set[str] = set()
        self.searched: list[str] = []
        self.words: dict[str, list[str]] = {}

    async def target(self) -> str:
        return "articles-v1"

    async def forms(self, atoms: Any) -> dict[tuple[str, str], frozenset[str]]:
        return {(f, t): frozenset(t.lower().split()) for f, t in atoms}

    async def documents(self, ids: Sequence[str], fields: Sequence[str]) -> dict[str, Document]:
        found = {}
        for aid in ids:
            if aid in self.docs:
                doc = self.docs[aid]
                words = set(doc["title"].lower().split())
                found[aid] = Document(aid, doc, {f: words for f in fields})
        return found

    async def wait_visible(self, ids: Sequence[str], **_: Any) -> float:
        self.visible.update(ids)
        return 0.0

    async def verify(
        self, candidates: Mapping[str, Sequence[str]], queries: Mapping[str, Any], **_: Any
    ) -> list[tuple[str, str]]:
        """Every word of the subscription in the title (of a visible document)."""
        matched = []
        for sid, ids in sorted(candidates.items()):
            self.searched.append(sid)
            words = self.words[sid]
            for aid in ids:
                title = self.docs[aid]["title"].lower().split()
                if aid in self.visible and all(w in title for w in words):
                    matched.append((sid, aid))
        return matched


def notice(aid: str, title: str) -> bytes:
    return (
        IndexedArticleV1(
            article_id=aid,
            index="articles-v1",
            result="created",
            title=title,
            source="example.org",
            received_at=T0,
            indexed_at=T0,
        )
        .model_dump_json()
        .encode()
    )


@pytest.fixture
def rig() -> tuple[MemoryBroker, FakeIndex, FakeStore, Matcher]:
    settings = MatcherSettings(reload_interval_s=0)
    subs = [sub("a" * 16, q="election results"), sub("b" * 16, q="football")]
    subs.append(sub("c" * 16, q="x", paused=True))
    index, store = FakeIndex(), FakeStore(subs)
    matcher = Matcher(settings, store, index)  # type: ignore[arg-type]
    index.words = {s.id: s.q.lower().split() for s in subs}
    return MemoryBroker(), index, store, matcher


async def run(broker: MemoryBroker, matcher: Matcher, group: str = "g") -> None:
    engine = memory_engine(MATCHER, MatcherSettings(), broker, handler=matcher)
    await MemoryStream(engine, broker, "articles.indexed", group, batch_size=10).run_until_idle()


def add(broker: MemoryBroker, index: FakeIndex, aid: str, title: str) -> None:
    index.docs[aid] = {"title": title, "source": "example.org", "url": f"https://example.org/{aid}"}
    broker.produce("articles.indexed", aid.encode(), notice(aid, title))


async def test_matches_are_produced_once_whatever_replays(rig: Any) -> None:
    broker, index, _store, matcher = rig
    add(broker, index, "1" * 32, "Election results tonight")
    add(broker, index, "2" * 32, "Football scores")
    add(broker, index, "3" * 32, "Nothing to see")
    await run(broker, matcher)
    produced = broker.messages("subscriptions.matched")
    records = [SubscriptionMatchV1.model_validate_json(r.value) for r in produced]
    assert {(r.subscription_id, r.article_id) for r in records} == {
        ("a" * 16, "1" * 32),
        ("b" * 16, "2" * 32),
    }
    first = broker.messages("subscriptions.matched")[0]
    assert first.key == records[0].subscription_id.encode()
    assert records[0].url is not None and records[0].indexed_at == T0
    # The presearch kept the searches to the subscriptions that could match.
    assert sorted(index.searched) == ["a" * 16, "b" * 16]
    # A replay (the same notices again, another group reading from the start)
    # and a duplicate notice produce nothing new.
    broker.produce("articles.indexed", b"1" * 32, notice("1" * 32, "Election results tonight"))
    await run(broker, matcher, group="replay")
    assert len(broker.messages("subscriptions.matched")) == 2
    assert broker.messages("articles.indexed.dlq") == []


async def test_paused_subscriptions_and_missing_documents_match_nothing(rig: Any) -> None:
    broker, index, _store, matcher = rig
    add(broker, index, "4" * 32, "x marks the spot")
    broker.produce("articles.indexed", b"5" * 32, notice("5" * 32, "football"))  # not in the index
    await run(broker, matcher)
    assert broker.messages("subscriptions.matched") == []


async def test_a_new_subscription_is_seen_at_the_next_batch(rig: Any) -> None:
    broker, index, store, matcher = rig
    add(broker, index, "6" * 32, "Tennis final")
    await run(broker, matcher)
    store.reads.clear()
    store.put(sub("d" * 16, q="tennis"))
    index.words["d" * 16] = ["tennis"]
    add(broker, index, "7" * 32, "Tennis semifinal")
    await run(broker, matcher)
    records = [orjson.loads(r.value) for r in broker.messages("subscriptions.matched")]
    assert [(r["subscription_id"], r["article_id"]) for r in records] == [("d" * 16, "7" * 32)]
    assert store.reads == ["d" * 16]  # the new one read, not all of them again


async def test_changed_paused_and_deleted_subscriptions_are_reloaded_alone(rig: Any) -> None:
    broker, index, store, matcher = rig
    add(broker, index, "0" * 32, "first")
    await run(broker, matcher)
    assert store.reads == ["all"]
    store.reads.clear()
    store.put(sub("a" * 16, q="football", paused=True))  # paused
    store.remove("b" * 16)  # deleted
    store.put(sub("c" * 16, q="x"))  # resumed
    add(broker, index, "8" * 32, "x football election results")
    await run(broker, matcher)
    records = [orjson.loads(r.value) for r in broker.messages("subscriptions.matched")]
    assert [(r["subscription_id"], r["article_id"]) for r in records] == [("c" * 16, "8" * 32)]
    assert sorted(store.reads) == ["a" * 16, "b" * 16, "c" * 16]
    assert sorted(matcher.subscriptions.active) == ["c" * 16]
    assert len(matcher.subscriptions.presearcher) == 1


async def test_everything_is_read_again_when_the_change_log_is_too_short(rig: Any) -> None:
    broker, index, store, matcher = rig
    add(broker, index, "0" * 32, "first")
    await run(broker, matcher)
    assert store.reads == ["all"]
    store.reads.clear()
    store.put(sub("e" * 16, q="tennis"))
    store.floor = store.bumps  # the entries after the matcher's version were trimmed
    index.words["e" * 16] = ["tennis"]
    add(broker, index, "9" * 32, "Tennis again")
    await run(broker, matcher)
    assert store.reads == ["all"]
    records = [orjson.loads(r.value) for r in broker.messages("subscriptions.matched")]
    assert [(r["subscription_id"], r["article_id"]) for r in records] == [("e" * 16, "9" * 32)]


async def test_undecodable_notices_go_to_the_dlq(rig: Any) -> None:
    broker, _index, _store, matcher = rig
    broker.produce("articles.indexed", b"k", b"not json")
    broker.produce("articles.indexed", b"k", b'{"article_id": "nope"}')
    await run(broker, matcher)
    letters = [orjson.loads(r.value) for r in broker.messages("articles.indexed.dlq")]
    assert [letter["stage"] for letter in letters] == ["matcher", "matcher"]
