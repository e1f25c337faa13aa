"""Partial updates of indexed articles never undo each other, on the real
Elasticsearch and Redis: the relabel stage and the indexer's late redirects both
compute new values from a copy they read, and a change made by the other since
(seq_no moved: a 409) is read again and kept."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch
from redis.asyncio import Redis

from services.indexer.redirects import Redirects
from services.indexer.relabel import Relabeller
from services.indexer.relabeling import entity_update
from services.indexer.settings import IndexerSettings, RelabelSettings
from services.indexer.stage import BulkIndexer, documents
from shared.contracts.export import examples
from shared.contracts.index import alias_name
from shared.contracts.models import EnrichedArticleV1, EntityV1, MergeV1
from tests.conftest import (
    ES_URL,
    REDIS_URL,
    _delete_es_namespace,
    _delete_redis_namespace,
    new_namespace,
)

pytestmark = [pytest.mark.integration]

X, Y, A, B = ("ent_" + c * 16 for c in "1234")


@pytest.fixture
def namespace(stack: None) -> Iterator[str]:
    """Elasticsearch and Redis only: no topics needed."""
    ns = new_namespace()
    yield ns
    _delete_es_namespace(ns)
    _delete_redis_namespace(ns)


def person(name: str, entity_id: str) -> EntityV1:
    return EntityV1(canonical=name, id=entity_id, label="PERSON", group="people", count=1)


def article(*entities: EntityV1) -> EnrichedArticleV1:
    template = examples()["articles.enriched"]
    assert isinstance(template, EnrichedArticleV1)
    aid = uuid.uuid4().hex
    return EnrichedArticleV1.model_validate(
        {**template.model_dump(), "article_id": aid, "entities": list(entities)}
    )


async def stored(es: AsyncElasticsearch, namespace: str, article_id: str) -> dict[str, Any]:
    found = await es.get(index=alias_name(namespace), id=article_id)
    return dict(found["_source"])


async def change_behind_its_back(
    es: AsyncElasticsearch, namespace: str, article_id: str, old: str, new: str, name: str
) -> None:
    """Another writer relabels ``old`` -> ``new`` in the stored document."""
    source = await stored(es, namespace, article_id)
    update = entity_update(source, old, new, name)
    assert update is not None
    await es.update(index=alias_name(namespace), id=article_id, doc=update, refresh=True)


def test_relabel_keeps_a_change_made_after_its_search(namespace: str) -> None:
    async def run() -> None:
        settings = IndexerSettings(
            namespace=namespace, redis_url=REDIS_URL, elasticsearch_url=ES_URL
        )
        indexer = BulkIndexer(settings)
        relabel = Relabeller(
            RelabelSettings(namespace=namespace, redis_url=REDIS_URL, elasticsearch_url=ES_URL)
        )
        doc = article(person("Trump", X), person("Biden", A))
        await indexer._write(documents([doc]))
        await relabel.es.indices.refresh(index=relabel.alias)
        found = await relabel.es.search(
            index=relabel.alias,
            query={"term": {"entity_ids": X}},
            source_includes=["entities", "entity_ids"],
            seq_no_primary_term=True,
        )
        hits = found["hits"]["hits"]
        # The indexer's late redirect A -> B lands between relabel's search and its update.
        await change_behind_its_back(relabel.es, namespace, doc.article_id, A, B, "Joe Biden")
        merge = MergeV1(kind="entity", old_id=X, new_id=Y, name="Donald Trump")
        assert await relabel._update(merge, hits) == 1
        source = await stored(relabel.es, namespace, doc.article_id)
        assert sorted(source["entity_ids"]) == sorted([Y, B])  # both merges kept
        assert sorted(source["people"]) == ["Donald Trump", "Joe Biden"]
        await indexer.es.close()
        await relabel.es.close()
        await relabel.redirects.client.aclose()
        await indexer.redirects.client.aclose()

    asyncio.run(run())


def test_a_late_redirect_keeps_a_change_made_after_the_write(namespace: str) -> None:
    async def run() -> None:
        settings = IndexerSettings(
            namespace=namespace, redis_url=REDIS_URL, elasticsearch_url=ES_URL
        )
        indexer = BulkIndexer(settings)
        doc = article(person("Trump", X), person("Biden", A))
        docs = documents([doc])
        response = await indexer._write(docs)
        # After the write: relabel rewrites X -> Y in the stored document, and a
        # redirect A -> B appears, which the indexer's second lookup finds.
        await change_behind_its_back(indexer.es, namespace, doc.article_id, X, Y, "Donald Trump")
        redis = Redis.from_url(REDIS_URL)
        await Redirects(redis, namespace).record("entity", A, B, "Joe Biden")
        assert await indexer._late_redirects(docs, response) == 1
        source = await stored(indexer.es, namespace, doc.article_id)
        assert sorted(source["entity_ids"]) == sorted([Y, B])  # relabel's change kept
        assert sorted(docs[0]["entity_ids"]) == sorted([Y, B])  # the notice says so too
        await redis.aclose()
        await indexer.redirects.client.aclose()
        await indexer.es.close()

    asyncio.run(run())


def test_the_redirect_map_never_expires(namespace: str) -> None:
    async def run() -> None:
        redis = Redis.from_url(REDIS_URL)
        redirects = Redirects(redis, namespace)
        await redirects.record("story", "a" * 32, "b" * 32)
        assert await redis.ttl(redirects.key("story", "a" * 32)) == -1
        await redis.aclose()

    asyncio.run(run())
