"""Stories in the running pipeline, on the real stack: the stories, indexer and
relabel workers as processes in a namespace of their own, fed enriched articles
on ``articles.enriched`` (the cleaning and entities workers are covered by
test_pipeline.py, which also checks that every article gets a story there).

What must hold: wire copies share a story and point at the first copy; a
bridging article merges two stories and the earlier indexed articles are
rewritten to the survivor; a replay of the stage's input gives the same
stories; an entity merge rewrites the entity ids of indexed articles; a bad
merge record is dead-lettered; the v2 notices validate against their model.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaProducer

from services.stories.models import story_id_for
from shared.contracts.export import examples
from shared.contracts.models import EnrichedArticleV1, EntityV1, IndexedArticleV2, MergeV1
from tests.conftest import KAFKA, wait_until
from tests.faults.pipeline import Pipeline

pytestmark = [pytest.mark.integration]

WORKERS = ("stories", "indexer", "relabel")
# The texts of tests/unit/test_stories.py's bridging case: two reports of one fire.
FIRE_A = (
    "A fire ripped through a Waitrose supermarket in Banstead, Surrey, on Friday night. "
    "More than 50 firefighters tackled the blaze, which began on the roof of the store, "
    "and residents of Banstead High Street were evacuated as a precaution. Surrey Police "
    "said the fire is being treated as potentially suspicious and detectives will examine "
    "the site once the Banstead store is safe to enter."
)
FIRE_B = (
    "Firefighters spent the night at the Waitrose store in Banstead after a blaze gutted "
    "the Surrey supermarket. Surrey Police say the Banstead fire, which started on the roof "
    "on Friday, is potentially suspicious. Residents near Banstead High Street were moved "
    "from their homes while more than 50 firefighters fought the flames."
)
QUAKE = (
    "An earthquake of magnitude 6.1 struck Qeshm island off southern Iran on Sunday, "
    "killing ten people in mud-brick villages, Iranian state television said. The quake "
    "levelled homes in several villages on Qeshm, and rescue teams from Bandar Abbas "
    "reached the island by boat. Dozens of people were injured in the Qeshm earthquake."
)
BUDGET = (
    "The city council of Leeds approved a budget of 640 million pounds on Wednesday after "
    "a six-hour debate, raising council tax by 4.99 percent and closing two libraries. "
    "Opposition councillors said the cuts to youth services would cost more later."
)
OLD_ENTITY, NEW_ENTITY = "ent_" + "a" * 16, "ent_" + "b" * 16


def enriched(text: str, source: str, entities: list[EntityV1] | None = None) -> EnrichedArticleV1:
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
            "entities": entities or [],
        }
    )


class Rig(Pipeline):
    """The three workers, and a producer onto their input topics."""

    def __init__(self, ns: str, log_dir: Any) -> None:
        super().__init__(ns, log_dir)
        self.producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")

    def send(self, *articles: EnrichedArticleV1) -> None:
        for a in articles:
            value = a.model_dump_json().encode()
            self.producer.send(
                f"{self.ns}articles.enriched", key=a.article_id.encode(), value=value
            )
        self.producer.flush()

    def send_raw(self, topic: str, key: bytes, value: bytes) -> None:
        self.producer.send(f"{self.ns}{topic}", key=key, value=value).get(30)

    def restart_stories(self, params: dict[str, Any] | None = None) -> None:
        self.signal("stories", signal.SIGTERM)
        assert self.wait_exit("stories") == 0
        extra = {"NEWSFLOW_STORIES_PARAMS": json.dumps(params)} if params else {}
        self.start("stories", **extra)
        self.wait_ready(["stories"])

    def docs(self, ids: list[str], timeout: float = 90) -> list[dict[str, Any]]:
        """The documents of these articles, once every one is searchable."""
        found: dict[str, dict[str, Any]] = {}

        def all_there() -> bool:
            for aid in ids:
                if aid not in found and (doc := self.doc(aid)) is not None:
                    found[aid] = doc
            return len(found) == len(ids)

        wait_until(all_there, timeout, f"{len(ids)} articles indexed\n{self.logs()}")
        return [found[aid] for aid in ids]

    def stories(self, ids: list[str]) -> list[str]:
        return [d["story_id"] for d in self.docs_now(ids)]

    def docs_now(self, ids: list[str]) -> list[dict[str, Any]]:
        docs = [self.doc(aid) for aid in ids]
        assert all(d is not None for d in docs)
        return [d for d in docs if d is not None]

    def close(self) -> None:
        self.producer.close()
        super().close()


@pytest.fixture(scope="module")
def rig(namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    pipe = Rig(namespace, tmp_path_factory.mktemp("stories-logs"))
    try:
        for name in WORKERS:
            pipe.start(name)
        pipe.wait_ready(WORKERS)
        yield pipe
    finally:
        pipe.stop_all()
        pipe.close()


def test_wire_copies_share_a_story_and_point_at_the_first(rig: Rig) -> None:
    first = enriched(QUAKE, "wire.example")
    rig.send(first)
    rig.docs([first.article_id])
    # A republication: another site, the same text with a word changed.
    copy = enriched(QUAKE.replace("Dozens of people", "Scores of people"), "daily.example")
    other = enriched(BUDGET, "local.example")
    rig.send(copy, other)
    d_first, d_copy, d_other = rig.docs([first.article_id, copy.article_id, other.article_id])
    assert d_copy["story_id"] == d_first["story_id"] == story_id_for(first.article_id)
    assert d_copy["duplicate_of"] == first.article_id and d_copy["copies"] == 2
    assert d_first["duplicate_of"] is None and d_first["copies"] == 1
    assert d_other["story_id"] not in (d_first["story_id"], None)

    # Every notice on articles.indexed.v2 is a valid v2 record with the ids as indexed.
    wanted = {first.article_id, copy.article_id}
    notices = {}

    def v2_seen() -> bool:
        for key, value in rig.read_topic("articles.indexed.v2"):
            notice = IndexedArticleV2.model_validate_json(value)
            assert key == notice.article_id.encode()
            notices[notice.article_id] = notice
        return wanted <= set(notices)

    wait_until(v2_seen, 30, "v2 notices")
    assert notices[copy.article_id].story_id == d_first["story_id"]
    assert notices[copy.article_id].duplicate_of == first.article_id
    assert str(notices[copy.article_id].url) == str(copy.url)
    # v1 is still published, unchanged.
    assert rig.key_counts("articles.indexed", wanted) == {aid: 1 for aid in wanted}


def test_a_bridge_merges_stories_in_the_index_and_a_replay_gives_the_same(rig: Rig) -> None:
    # First a bar no article reaches and no merging: two stories for one event.
    rig.restart_stories({"threshold": 0.99, "merge_threshold": 2.0, "merge_centroid": 2.0})
    a, b = enriched(FIRE_A, "one.example"), enriched(FIRE_B, "two.example")
    rig.send(a)
    rig.docs([a.article_id])
    rig.send(b)
    d_a, d_b = rig.docs([a.article_id, b.article_id])
    assert d_a["story_id"] != d_b["story_id"]
    # Then a report that joins one and bridges the other (copies off: it quotes both).
    rig.restart_stories({"merge_threshold": 0.3, "merge_centroid": 2.0, "dup_threshold": 1.1})
    bridge = enriched(FIRE_A + " " + FIRE_B, "three.example")
    rig.send(bridge)
    rig.docs([bridge.article_id])
    # The older story keeps its id (A's: founded by A, or by an earlier copy of its text).
    survivor = d_a["story_id"]
    ids = [a.article_id, b.article_id, bridge.article_id]
    wait_until(
        lambda: rig.stories(ids) == [survivor] * 3,
        60,
        f"the merge applied to the indexed articles\n{rig.logs()}",
    )
    merges = [MergeV1.model_validate_json(v) for _, v in rig.read_topic("identities.merged")]
    assert [(m.kind, m.old_id, m.new_id) for m in merges if m.old_id == d_b["story_id"]] == [
        ("story", d_b["story_id"], survivor)
    ]

    # A replay of the stage's input: the same articles again, in another order and
    # with another configuration: the remembered stories come back (through the merge).
    rig.restart_stories()
    rig.send(bridge, b, a)
    wait_until(
        lambda: rig.key_counts("articles.grouped", set(ids)) == dict.fromkeys(ids, 2),
        60,
        "the replay grouped",
    )
    # One key, one partition: the last record of each article is the replay's.
    latest = {
        json.loads(v)["article_id"]: json.loads(v) for _, v in rig.read_topic("articles.grouped")
    }
    assert {aid: latest[aid]["story_id"] for aid in ids} == dict.fromkeys(ids, survivor)
    assert rig.stories(ids) == [survivor] * 3


def test_an_entity_merge_rewrites_the_indexed_articles(rig: Rig) -> None:
    def person(name: str, entity_id: str) -> EntityV1:
        return EntityV1(canonical=name, id=entity_id, label="PERSON", group="people", count=1)

    article = enriched(QUAKE.replace("Iran", "Iran, said Trump"), "entity.example", [
        person("Trump", OLD_ENTITY),
    ])  # fmt: skip
    rig.send(article)
    [doc] = rig.docs([article.article_id])
    assert doc["entity_ids"] == [OLD_ENTITY] and doc["people"] == ["Trump"]
    merge = MergeV1(kind="entity", old_id=OLD_ENTITY, new_id=NEW_ENTITY, name="Donald Trump")
    rig.send_raw("identities.merged", OLD_ENTITY.encode(), merge.model_dump_json().encode())
    wait_until(
        lambda: rig.docs_now([article.article_id])[0]["entity_ids"] == [NEW_ENTITY],
        60,
        f"the entity merge applied\n{rig.logs()}",
    )
    [doc] = rig.docs_now([article.article_id])
    assert doc["people"] == ["Donald Trump"] and doc["people_ids"] == [NEW_ENTITY]
    assert [e["id"] for e in doc["entities"]] == [NEW_ENTITY]
    # An article still carrying the old id (in flight, or replayed) is redirected
    # by the indexer from the map the relabel stage recorded.
    late = enriched(QUAKE, "late.example", [person("Trump", OLD_ENTITY)])
    rig.send(late)
    [late_doc] = rig.docs([late.article_id])
    assert late_doc["entity_ids"] == [NEW_ENTITY] and late_doc["people"] == ["Donald Trump"]


def test_a_malformed_merge_is_dead_lettered(rig: Rig) -> None:
    bad = json.dumps({"kind": "story", "old_id": "not-a-story", "new_id": "b" * 32}).encode()
    rig.send_raw("identities.merged", b"not-a-story", bad)
    wait_until(
        lambda: [d for d in rig.dead_letters("relabel") if d.key == "not-a-story"],
        60,
        "the bad merge in identities.merged.dlq",
    )
    [letter] = [d for d in rig.dead_letters("relabel") if d.key == "not-a-story"]
    assert letter.stage == "relabel" and "identities.merged" in letter.reason
    assert rig.alive("relabel")
