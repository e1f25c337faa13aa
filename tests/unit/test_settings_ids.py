from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.entities.settings import EntitySettings
from services.ingestion.settings import IngestionSettings
from shared.contracts.ids import article_id, canonical_url
from shared.runtime.settings import SearchSettings


def test_bad_setting_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_ELASTICSEARCH_URL", "ftp://nowhere")
    with pytest.raises(ValidationError, match=r"elasticsearch_url|NEWSFLOW_ELASTICSEARCH_URL"):
        SearchSettings()


def test_negative_batch_size_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_ENTITIES_BATCH_SIZE", "-3")
    with pytest.raises(ValidationError, match="batch_size"):
        EntitySettings()


def test_service_specific_prefix_and_common_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_ENTITIES_BATCH_SIZE", "7")
    monkeypatch.setenv("NEWSFLOW_KAFKA_BOOTSTRAP", "broker-a:9092,broker-b:9092")
    settings = EntitySettings()
    assert settings.batch_size == 7
    assert settings.kafka_broker_url == "kafka://broker-a:9092;kafka://broker-b:9092"


def test_ingestion_requires_an_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_INGESTION_API_KEYS", raising=False)
    with pytest.raises(ValidationError, match="api_keys"):
        IngestionSettings()
    monkeypatch.setenv("NEWSFLOW_INGESTION_API_KEYS", "one, two")
    keys = [k.get_secret_value() for k in IngestionSettings().api_keys]
    assert keys == ["one", "two"]


def test_canonical_url_drops_tracking_and_noise() -> None:
    assert canonical_url("HTTP://WWW.Example.com:80/a//b/?utm_source=x&b=2&a=1#top") == (
        "https://example.com/a/b?a=1&b=2"
    )


def test_article_id_is_deterministic() -> None:
    assert article_id("https://example.com/x?utm_medium=rss") == article_id("http://example.com/x")
    assert article_id(None, "Hello   World") == article_id(None, "hello world")
    assert article_id("https://example.com/x") != article_id("https://example.com/y")
    with pytest.raises(ValueError):
        article_id(None, "  ")
