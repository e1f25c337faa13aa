"""The pure parts of stories and relabelling in the pipeline: how a merge rewrites
a stored document, how the indexer applies redirects, and how the stories stage
maps its contracts (the servers are covered by tests/integration/test_stories_pipeline.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.indexer.redirects import Kind, Target, _follow
from services.indexer.relabeling import entity_fields, entity_update, relabel_entities, story_update
from services.indexer.stage import documents, ids_of, redirect
from services.stories.models import Assignment
from services.stories.stage import STORIES, article_in, grouped, merge_outputs
from shared.contracts.export import examples
from shared.contracts.index import to_document
from shared.contracts.models import EnrichedArticleV1, EntityV1, GroupedArticleV1, MergeV1

OLD, NEW = "ent_" + "1" * 16, "ent_" + "2" * 16
S_OLD, S_NEW = "a" * 32, "b" * 32


def enriched(**changes: Any) -> EnrichedArticleV1:
    article = examples()["articles.enriched"]
    assert isinstance(article, EnrichedArticleV1)
    return article.model_copy(update=changes)


def entity(name: str, entity_id: str | None, group: str = "people", **kw: Any) -> EntityV1:
    return EntityV1(
        canonical=name, id=entity_id, label="PERSON", group=group, count=kw.get("count", 1),
        surface_forms=kw.get("forms", [name]), offsets=kw.get("offsets", []),
    )  # fmt: skip


def test_entity_fields_are_those_of_to_document() -> None:
    article = enriched()
    assert article.entities, "the example has entities"
    doc = to_document(article)
    derived = entity_fields(doc["entities"])
    for field, value in derived.items():
        assert doc[field] == value, field


def test_an_entity_merge_rewrites_ids_names_facets_and_keys() -> None:
    doc = to_document(enriched(entities=[entity("Trump", OLD), entity("Joe Biden", None)]))
    update = entity_update(doc, OLD, NEW, "Donald Trump")
    assert update is not None
    assert update["people"] == ["Donald Trump", "Joe Biden"]
    assert update["entity_ids"] == [NEW] and update["people_ids"] == [NEW]
    assert any(k.startswith("donald trump\x1fpeople") for k in update["entity_keys"])
    assert not any(k.startswith("trump\x1f") for k in update["entity_keys"])
    # Idempotent: the rewritten document no longer mentions the old id.
    assert entity_update({**doc, **update}, OLD, NEW, "Donald Trump") is None


def test_two_entries_of_one_entity_become_one() -> None:
    entities = [
        entity("Trump", OLD, count=2, forms=["Trump"], offsets=[[10, 15]]).model_dump(),
        entity(
            "Donald Trump", NEW, count=1, forms=["Donald Trump"], offsets=[[0, 12]]
        ).model_dump(),
        entity("Trump", OLD, group="organisations").model_dump(),
    ]
    out = relabel_entities(entities, OLD, NEW)
    assert out is not None
    people = [e for e in out if e["group"] == "people"]
    assert len(people) == 1
    assert people[0]["canonical"] == "Donald Trump"  # no name given: the survivor's
    assert people[0]["count"] == 3
    assert people[0]["surface_forms"] == ["Trump", "Donald Trump"]
    assert people[0]["offsets"] == [[0, 12], [10, 15]]
    assert [e["id"] for e in out if e["group"] == "organisations"] == [NEW]
    assert relabel_entities(out, OLD, NEW) is None


def test_story_update_only_for_the_old_story() -> None:
    assert story_update({"story_id": S_OLD}, S_OLD, S_NEW) == {"story_id": S_NEW}
    assert story_update({"story_id": S_NEW}, S_OLD, S_NEW) is None
    assert story_update({}, S_OLD, S_NEW) is None


def test_the_indexer_applies_redirects_before_writing() -> None:
    article = grouped(
        enriched(entities=[entity("Trump", OLD)]),
        Assignment("x", S_OLD, None, 1),
        datetime(2024, 1, 1, tzinfo=UTC),
    )
    [doc] = documents([article])
    assert ids_of([doc]) == ([S_OLD], [OLD])
    changed = redirect(
        doc, {("story", S_OLD): Target(S_NEW), ("entity", OLD): Target(NEW, "Donald Trump")}
    )
    assert doc["story_id"] == S_NEW and doc["entity_ids"] == [NEW]
    assert doc["people"] == ["Donald Trump"]
    assert set(changed) >= {"story_id", "entities", "entity_ids", "people"}
    assert redirect(doc, {("story", S_OLD): Target(S_NEW)}) == {}


def test_redirect_chains_are_followed() -> None:
    found: dict[tuple[Kind, str], Target] = {
        ("story", "a"): Target("b"),
        ("story", "b"): Target("c"),
        ("entity", "x"): Target("y", "Y"),
        ("entity", "y"): Target("z"),
    }
    assert _follow(found, ("story", "a")) == Target("c")
    assert _follow(found, ("entity", "x")) == Target("z", "Y")
    loop: dict[tuple[Kind, str], Target] = {
        ("story", "a"): Target("b"),
        ("story", "b"): Target("a"),
    }
    assert _follow(loop, ("story", "a")).new_id in {"a", "b"}  # bounded, no hang


def test_stories_stage_maps_its_contracts() -> None:
    article = enriched(
        entities=[
            entity("Kim Jong-un", None),
            entity("KCNA", None, group="organisations"),
            entity("Russia", "Q159", group="places"),
            entity("Monday", None, group="dates"),
        ]
    )
    seen = article_in(article)
    assert seen.article_id == article.article_id and seen.text == article.text
    assert seen.people == ("Kim Jong-un",) and seen.organisations == ("KCNA",)
    assert seen.places == ("Russia",)
    out = grouped(article, Assignment(article.article_id, S_NEW, "c" * 32, 3), seen.received_at)  # type: ignore[arg-type]
    assert isinstance(out, GroupedArticleV1)
    assert (out.story_id, out.duplicate_of, out.copies) == (S_NEW, "c" * 32, 3)
    assert out.model_dump(exclude={"story_id", "duplicate_of", "copies", "grouped_at"}) == (
        article.model_dump()
    )
    assert STORIES.done_status == "grouped"
    assert "identities.merged" in STORIES.topics("")


def test_merges_become_records_keyed_by_the_old_id() -> None:
    outs = merge_outputs([(S_OLD, S_NEW), (S_NEW, S_NEW), ("bad", S_NEW)], "ns-identities.merged")
    assert len(outs) == 1
    [out] = outs
    assert out.key == S_OLD and out.topic == "ns-identities.merged"
    assert isinstance(out.value, MergeV1)
    assert (out.value.kind, out.value.old_id, out.value.new_id) == ("story", S_OLD, S_NEW)
