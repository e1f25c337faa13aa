"""The topic contracts: bad messages are refused with a clear error, the
committed JSON Schemas are current, and every published example is accepted
by the stage that consumes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.contracts.export import examples, stale_files
from shared.contracts.models import CleanArticleV1, DeadLetterV1, RawArticleV1
from shared.contracts.topics import BY_NAME, TOPICS

REPO = Path(__file__).resolve().parents[2]
VALID_ID = "0123456789abcdef0123456789abcdef"


def test_raw_article_needs_html_or_text() -> None:
    with pytest.raises(ValidationError, match="one of 'html' or 'text' must be given"):
        RawArticleV1(article_id=VALID_ID, source="example.org", text="   ")


def test_bad_article_id_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        RawArticleV1(article_id="not-an-id", source="example.org", text="Hello")
    assert info.value.errors()[0]["loc"] == ("article_id",)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RawArticleV1.model_validate(
            {"article_id": VALID_ID, "source": "s", "text": "t", "body": "typo"}
        )


def test_wrong_schema_version_is_refused() -> None:
    data = json.loads(examples()["articles.raw"].model_dump_json())
    data["schema_version"] = 2
    with pytest.raises(ValidationError, match="schema_version"):
        RawArticleV1.model_validate(data)


def test_wrong_types_are_refused() -> None:
    data = json.loads(examples()["articles.clean"].model_dump_json())
    data["word_count"] = "many"
    with pytest.raises(ValidationError, match="word_count"):
        CleanArticleV1.model_validate(data)


def test_dead_letter_keeps_binary_payload_exact() -> None:
    payload = b"\xff\xfe\x00binary"
    letter = DeadLetterV1.from_bytes(
        stage="cleaning",
        reason="not JSON",
        error_type="X",
        topic="articles.raw",
        partition=0,
        offset=7,
        key=None,
        value=payload,
    )
    assert letter.payload_encoding == "base64"
    assert letter.payload_bytes() == payload
    text = DeadLetterV1.from_bytes(
        stage="cleaning",
        reason="r",
        error_type="X",
        topic="articles.raw",
        partition=0,
        offset=8,
        key=b"k",
        value=b'{"a": 1}',
    )
    assert text.payload == '{"a": 1}' and text.key == "k"


def test_every_topic_has_an_example_that_validates() -> None:
    for topic, example in examples().items():
        model = BY_NAME[topic].value_model
        assert model.model_validate_json(example.model_dump_json()) == example


def test_committed_schemas_are_current() -> None:
    stale = stale_files(REPO / "contracts")
    assert stale == [], f"run `make schemas` and commit: {stale}"


def test_registry_defaults() -> None:
    assert {t.name for t in TOPICS} >= {
        "articles.raw",
        "articles.clean",
        "articles.enriched",
        "articles.indexed",
    }
    # Merges must apply in the order they were made: one partition.
    ordered = {"identities.merged", "identities.merged.dlq"}
    # Topics no Newsflow stage reads have no DLQ: their readers are outside.
    outside = {"articles.indexed.v2"}
    for t in TOPICS:
        assert t.partitions == (1 if t.name in ordered else 6)
        if not t.name.endswith(".dlq") and t.name not in outside:
            assert t.dlq == f"{t.name}.dlq", t.name
        if t.name in outside:
            assert t.dlq is None
