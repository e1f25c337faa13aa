"""Upgrading a deployment to the new analysis (index version 2), as an
operator does it: deploy the code, then `newsflow reindex`.

An index of the previous version (its mapping as the v1 template made it:
standard analysis, keyword bylines, no per-language fields) is behind the
alias. The new indexer's `ensure_index` must let it take current documents
(no article dead-lettered during the upgrade); the reindex must then build
the next version from the current template and put every copied document in
the current shape, so the new analysis works on old articles too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch

from services.console.reindex import reindex
from services.search.query import text_query
from shared.contracts.index import (
    DERIVED_FIELDS,
    INDEX_VERSION,
    alias_name,
    ensure_index,
    index_name,
    template_name,
    to_document,
)
from shared.contracts.models import EnrichedArticleV1
from tests.conftest import ES_URL, new_namespace

pytestmark = pytest.mark.integration

TEXT: dict[str, Any] = {"type": "text", "fields": {"std": {"type": "text", "analyzer": "standard"}}}
KEYWORD = {"type": "keyword"}
# The previous version's mapping, as its template made it (its English
# analyser aside: standard here, so the test needs no dictionary).
V1_PROPERTIES: dict[str, Any] = {
    **{
        name: KEYWORD
        for name in (
            "article_id", "source", "site_name", "authors", "credit", "language", "input_format",
            "fingerprint", "ner_model", "people", "organisations", "places", "groups", "events",
            "dates", "entity_keys",
        )
    },
    "url": {"type": "keyword", "index": False},
    "title": {**TEXT, "fields": {**TEXT["fields"], "raw": {"type": "keyword"}}},
    "body": {**TEXT, "index_options": "offsets"},
    **{
        name: {"type": "date"}
        for name in (
            "published_at", "sort_date", "received_at", "cleaned_at", "enriched_at", "indexed_at"
        )
    },
    "word_count": {"type": "integer"},
    "entities": {"type": "object", "enabled": False},
}  # fmt: skip


def article(key: str, title: str, text: str, language: str) -> EnrichedArticleV1:
    now = datetime(2019, 11, 20, tzinfo=UTC)
    return EnrichedArticleV1(
        article_id=(key * 32)[:32],
        source="example.com",
        title=title,
        text=text,
        authors=["Claire Dubois"],
        language=language,
        published_at=now,
        received_at=now,
        word_count=len(text.split()),
        fingerprint="f" * 16,
        input_format="text",
        ner_model="test",
    )


OLD = [
    article("a", "Grève à la SNCF", "Les cheminots sont en grève.", "fr"),
    article("b", "Weizsäcker stabbed", "The son of Richard von Weizsäcker died.", "en"),
]
NEW = article("c", "Les élections", "Les électeurs votent dimanche.", "fr")


@pytest.fixture
def namespace(stack: None) -> Iterator[str]:
    ns = new_namespace()
    yield ns
    es = Elasticsearch(ES_URL)
    es.options(ignore_status=404).indices.delete(index=f"{ns}articles-v*")
    es.options(ignore_status=404).indices.delete_index_template(name=template_name(ns))
    es.close()


def v1_document(a: EnrichedArticleV1) -> dict[str, Any]:
    """The article as the older index stored it: only the fields it mapped."""
    document = {
        k: v
        for k, v in to_document(a).items()
        if k not in DERIVED_FIELDS and (k in V1_PROPERTIES or k == "indexed_at")
    }
    document["indexed_at"] = datetime.now(UTC).isoformat()
    return document


def hits(es: Elasticsearch, namespace: str, q: str) -> set[str]:
    found = es.search(index=alias_name(namespace), query=text_query(q, prefix_last=False))
    return {hit["_id"] for hit in found["hits"]["hits"]}


def test_an_older_index_keeps_taking_articles_then_reindex_upgrades_it(namespace: str) -> None:
    es = Elasticsearch(ES_URL, request_timeout=30)
    old_index = index_name(namespace, INDEX_VERSION - 1)
    es.indices.create(
        index=old_index,
        mappings={"dynamic": "strict", "properties": V1_PROPERTIES},
        aliases={alias_name(namespace): {"is_write_index": True}},
    )
    for a in OLD:
        es.index(index=alias_name(namespace), id=a.article_id, document=v1_document(a))

    # The new code starts: its indexer calls ensure_index and writes current documents.
    async def start_indexer() -> str:
        client = AsyncElasticsearch(ES_URL)
        try:
            return await ensure_index(client, namespace)
        finally:
            await client.close()

    assert asyncio.run(start_indexer()) == old_index  # no data moved, alias untouched
    current = to_document(NEW) | {"indexed_at": datetime.now(UTC).isoformat()}
    es.index(index=alias_name(namespace), id=NEW.article_id, document=current, refresh=True)
    # The old analysis still answers (no folding: the typed accent is needed).
    assert hits(es, namespace, "Weizsäcker") == {OLD[1].article_id}

    report = reindex(es, namespace, settle_s=0.2, say=lambda _: None)
    assert report.new == index_name(namespace, INDEX_VERSION)
    assert report.new_count == 3
    assert list(es.indices.get_alias(name=alias_name(namespace)).body) == [report.new]
    stored = es.get(index=alias_name(namespace), id=OLD[0].article_id)["_source"]
    assert stored["title_fr"] == OLD[0].title and stored["body_fr"] == OLD[0].text
    # The new analysis on the old articles: folding, French stemming.
    assert hits(es, namespace, "Weizsacker") == {OLD[1].article_id}
    assert hits(es, namespace, "greves") == {OLD[0].article_id}
    assert hits(es, namespace, "électeur") == {NEW.article_id}
    es.close()
