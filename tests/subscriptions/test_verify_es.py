"""The matcher's verification on the real Elasticsearch: the combined
(named-queries) searches find exactly what one search per subscription
finds, identical queries are asked once, and a query Elasticsearch refuses
loses only its own matches."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch

from services.indexer.stage import bulk_body
from services.subscriptions.matching import ArticleIndex, restricted, subscription_query
from services.subscriptions.models import SubscriptionIn
from shared.contracts.index import alias_name, ensure_index
from tests.conftest import ES_URL
from tests.subscriptions.rig import enriched

pytestmark = pytest.mark.integration

ARTICLES = {
    "one": ("Election results in Paris", "The vote count ended late.", ["Ada Lovelace"]),
    "two": ("Football final tonight", "Paris wins the cup after extra time.", []),
    "three": ("Resultant forces", "A physics lesson on forces.", ["Ada Lovelace"]),
}
QUERIES: dict[str, dict[str, Any]] = {
    "a" * 16: {"q": "election results"},
    "b" * 16: {"q": "election results"},  # the same query as a: asked once
    "c" * 16: {"q": "paris"},
    "d" * 16: {"q": "result"},  # "results" by stemming, not "resultant" (no prefix)
    "e" * 16: {"people": ["Ada Lovelace"]},
    "f" * 16: {"q": '"extra time" | "vote count"'},
}


@pytest.fixture
async def index(stack: None) -> AsyncIterator[tuple[ArticleIndex, dict[str, str]]]:
    es = AsyncElasticsearch(ES_URL, request_timeout=60)
    ns = f"test-{uuid.uuid4().hex[:10]}-"
    await ensure_index(es, ns)
    articles = {
        name: enriched(title, body * 5, n=f"verify-{name}", people=people)
        for name, (title, body, people) in ARTICLES.items()
    }
    await es.bulk(operations=bulk_body(list(articles.values()), alias_name(ns)), refresh="wait_for")
    yield ArticleIndex(es, ns), {name: a.article_id for name, a in articles.items()}
    await es.options(ignore_status=404).indices.delete(index=f"{ns}articles-v*")
    await es.options(ignore_status=404).indices.delete_index_template(name=f"{ns}newsflow-articles")
    await es.close()


async def one_by_one(
    index: ArticleIndex, candidates: dict[str, list[str]], queries: dict[str, Any]
) -> list[tuple[str, str]]:
    found = []
    for sid, ids in sorted(candidates.items()):
        answer = await index.es.search(index=index.alias, body=restricted(queries[sid], ids))
        found += [(sid, hit["_id"]) for hit in answer["hits"]["hits"]]
    return sorted(found)


async def test_combined_searches_find_what_one_search_per_subscription_finds(
    index: tuple[ArticleIndex, dict[str, str]],
) -> None:
    articles, ids = index
    queries = {
        sid: subscription_query(SubscriptionIn.model_validate({"name": "n", **body}))
        for sid, body in QUERIES.items()
    }
    candidates = {sid: sorted(ids.values()) for sid in queries}
    candidates["c" * 16] = [ids["one"]]  # not a candidate for "two": not asked there
    expected = await one_by_one(articles, candidates, queries)
    for chunk in (1, 2, 100):
        assert sorted(await articles.verify(candidates, queries, chunk=chunk)) == expected
    assert set(expected) == {
        ("a" * 16, ids["one"]),
        ("b" * 16, ids["one"]),
        ("c" * 16, ids["one"]),
        ("d" * 16, ids["one"]),
        ("e" * 16, ids["one"]),
        ("e" * 16, ids["three"]),
        ("f" * 16, ids["one"]),
        ("f" * 16, ids["two"]),
    }
    assert await articles.verify({}, queries) == []


async def test_a_refused_query_loses_only_its_own_matches(
    index: tuple[ArticleIndex, dict[str, str]],
) -> None:
    articles, ids = index
    queries = {
        "a" * 16: subscription_query(SubscriptionIn.model_validate({"name": "n", "q": "paris"})),
        "z" * 16: {"range": {"published_at": {"gte": "not a date"}}},  # refused (400)
    }
    candidates = {sid: sorted(ids.values()) for sid in queries}
    found = await articles.verify(candidates, queries, chunk=10)
    assert sorted(found) == sorted([("a" * 16, ids["one"]), ("a" * 16, ids["two"])])
