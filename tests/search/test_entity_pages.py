"""Entities by identity, through the API on the real stack: facet values are
entity ids with display names (the registry's, else the documents'),
filters take ids (and names, from older links), ``/v1/entities/{id}`` draws
an entity's page, autocomplete answers with entities. Hostile ids and
parameters are refused with a reason, never a 500.

The corpus is tests/search/corpus.py (gazetteer entities with ids); the
registry holds a few of them (tests/search/entity_registry.py).
"""

from __future__ import annotations

import itertools
import socket
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio
from elasticsearch import AsyncElasticsearch
from redis.asyncio import Redis

from services.search.app import create_app
from shared.contracts.models import EnrichedArticleV1
from shared.runtime.settings import SearchSettings
from tests.search.corpus import (
    build_corpus,
    drop_namespace,
    facet_counts,
    gazetteer_id,
    index_corpus,
)
from tests.search.entity_registry import LONE_TRUMP, TRUMP, TRUMP_NAME, US, seed_registry

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

module_fixture = pytest_asyncio.fixture(scope="module", loop_scope="module")


@pytest.fixture(scope="module")
def corpus() -> list[EnrichedArticleV1]:
    return build_corpus()


def settings_for(namespace: str, **extra: Any) -> SearchSettings:
    return SearchSettings(
        namespace=namespace,
        cache_ttl_s=0,
        rate_limit_requests=0,
        max_concurrent_per_client=0,
        **extra,
    )


@module_fixture
async def api(stack: None, corpus: list[EnrichedArticleV1]) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(f"test-{uuid4().hex[:8]}-")
    es = AsyncElasticsearch(settings.es_url, request_timeout=60)
    redis = Redis.from_url(settings.redis_dsn)
    app = create_app(settings)
    try:
        await index_corpus(es, settings.namespace, corpus)
        seed_registry(settings.redis_dsn, settings.namespace)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://search") as client:
                yield client
    finally:
        await drop_namespace(es, redis, settings.namespace)
        await es.close()
        await redis.aclose()


async def get(api: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def with_entity(corpus: list[EnrichedArticleV1], entity_id: str) -> list[EnrichedArticleV1]:
    return [a for a in corpus if any(e.id == entity_id for e in a.entities)]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shown_name(name: str) -> str:
    """The name the API shows for a corpus name (the registry's if it has one)."""
    return TRUMP_NAME if gazetteer_id(name) == TRUMP else name


# ----------------------------------------------------------------- facets
async def test_facet_values_are_ids_with_names(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    body = await get(api, "/v1/search", facet_size=100, size=1)
    for facet in ("people", "organisations", "places"):
        buckets = body["facets"][facet]
        assert buckets, facet
        for bucket in buckets:
            assert bucket["value"] == bucket["id"]
            assert bucket["id"].startswith(("ent_", "Q"))
        expected = {
            gazetteer_id(n): (shown_name(n), c) for n, c in facet_counts(corpus, facet).items()
        }
        assert {b["id"]: (b["name"], b["count"]) for b in buckets} == expected
    # Other facets keep plain values.
    assert all(b["id"] is None and b["name"] is None for b in body["facets"]["source"])


async def test_filter_by_id_and_by_name_find_the_same_articles(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    expected = {a.article_id for a in with_entity(corpus, TRUMP)}
    by_id = await get(api, "/v1/search", people=TRUMP, size=100, group="none")
    by_name = await get(api, "/v1/search", people="Donald Trump", size=100, group="none")
    assert {h["id"] for h in by_id["hits"]} == expected == {h["id"] for h in by_name["hits"]}
    # The chosen value is listed, selected, with its name either way.
    chosen = [b for b in by_id["facets"]["people"] if b["selected"]]
    assert [(b["value"], b["name"], b["count"]) for b in chosen] == [
        (TRUMP, TRUMP_NAME, len(expected))
    ]
    legacy = [b for b in by_name["facets"]["people"] if b["selected"]]
    assert [(b["value"], b["id"], b["count"]) for b in legacy] == [
        ("Donald Trump", None, len(expected))
    ]
    # An id and a name in one facet: either (OR), like any two values.
    biden = gazetteer_id("Joe Biden")
    both = await get(api, "/v1/search", people=[TRUMP, "Joe Biden"], size=100, group="none")
    either = expected | {a.article_id for a in with_entity(corpus, biden)}
    assert {h["id"] for h in both["hits"]} == either


async def test_hits_carry_entity_ids_with_names(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    body = await get(api, "/v1/search", people=TRUMP, size=5, group="none")
    by_id = {a.article_id: a for a in corpus}
    for hit in body["hits"]:
        refs = {(e["id"], e["name"], e["group"]) for e in hit["entities"]}
        assert (TRUMP, TRUMP_NAME, "people") in refs
        article = by_id[hit["id"]]
        for entity_id, name, group in refs:
            stored = next(e for e in article.entities if e.id == entity_id)
            assert (shown_name(stored.canonical), stored.group) == (name, group)


async def test_facet_value_search_answers_ids(api: httpx.AsyncClient) -> None:
    found = await get(api, "/v1/search/facets/people", prefix="don")
    assert [(i["value"], i["name"]) for i in found["items"]] == [(TRUMP, TRUMP_NAME)]
    found = await get(api, "/v1/search/facets/places", prefix="STATES")
    assert [(i["id"], i["name"]) for i in found["items"]] == [(US, "United States")]
    top = await get(api, "/v1/search/facets/people", limit=50, people=TRUMP)
    assert all(i["value"] == i["id"] and i["name"] for i in top["items"])
    assert [i["value"] for i in top["items"] if i["selected"]] == [TRUMP]


# ----------------------------------------------------------------- autocomplete
async def test_autocomplete_returns_entities(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    body = await get(api, "/v1/entities/suggest", q="dona")
    assert body["items"] == [
        {
            "id": TRUMP,
            "name": TRUMP_NAME,
            "group": "people",
            "facet": "people",
            "count": len(with_entity(corpus, TRUMP)),
        }
    ]
    places = await get(api, "/v1/entities/suggest", q="united")
    assert [(i["id"], i["name"], i["facet"]) for i in places["items"]] == [
        (US, "United States", "places")
    ]


# ----------------------------------------------------------------- entity pages
def co_occurring(corpus: list[EnrichedArticleV1], entity_id: str) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for article in with_entity(corpus, entity_id):
        counts.update({(e.id or "", e.group) for e in article.entities if e.id != entity_id})
    return counts


async def test_entity_page(api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]) -> None:
    articles = with_entity(corpus, TRUMP)
    page = await get(api, f"/v1/entities/{TRUMP}", latest=3)
    assert (page["id"], page["name"], page["type"], page["known"]) == (
        TRUMP,
        TRUMP_NAME,
        "people",
        True,
    )
    # Its other names, most used first (the merged lone "Trump" among them).
    assert page["aliases"] == ["Donald Trump", "Trump", "President Trump"]
    assert page["external_id"] is None and page["external_url"] is None
    assert page["articles"] == len(articles)
    # Mentions over time: every article in one bucket (sort_date: published,
    # else received), buckets back to back.
    buckets = page["histogram"]["buckets"]
    assert sum(b["count"] for b in buckets) == len(articles)
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(buckets))
    assert len(buckets) <= 60
    # Named alongside: every co-occurring entity with its shared count.
    related = {(r["id"], r["type"]): r["count"] for r in page["related"]}
    assert related == dict(co_occurring(corpus, TRUMP))
    names = {r["id"]: r["name"] for r in page["related"]}
    assert all(
        names[gazetteer_id(e.canonical)] == e.canonical
        for a in articles
        for e in a.entities
        if e.id != TRUMP
    )
    counts = [r["count"] for r in page["related"]]
    assert counts == sorted(counts, reverse=True)
    # Sources, and the latest articles, newest first.
    assert {s["source"]: s["count"] for s in page["sources"]} == dict(
        Counter(a.source for a in articles)
    )
    newest = sorted(
        articles, key=lambda a: (a.published_at or a.received_at).astimezone(UTC), reverse=True
    )
    assert [a["id"] for a in page["latest"]] == [a.article_id for a in newest[:3]]
    first = next(a for a in articles if a.article_id == page["latest"][0]["id"])
    assert page["latest"][0]["title"] == first.title
    assert page["latest"][0]["source"] == first.source


async def test_territory_page_links_wikidata(api: httpx.AsyncClient) -> None:
    page = await get(api, f"/v1/entities/{US}")
    assert (page["name"], page["type"], page["external_id"]) == ("United States", "places", US)
    assert page["external_url"] == "https://www.wikidata.org/wiki/Q30"
    assert page["aliases"] == ["U.S."]


async def test_page_of_an_entity_the_registry_lacks(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    biden = gazetteer_id("Joe Biden")
    page = await get(api, f"/v1/entities/{biden}")
    assert (page["name"], page["type"], page["known"]) == ("Joe Biden", "people", False)
    assert page["articles"] == len(with_entity(corpus, biden))


async def test_merged_id_redirects_to_its_survivor(api: httpx.AsyncClient) -> None:
    response = await api.get(f"/v1/entities/{LONE_TRUMP}", params={"latest": 2})
    assert response.status_code == 308
    assert response.headers["location"].endswith(f"/v1/entities/{TRUMP}?latest=2")


async def test_unknown_and_malformed_ids(api: httpx.AsyncClient) -> None:
    unknown = await api.get("/v1/entities/ent_0123456789abcdef")
    assert unknown.status_code == 404
    assert unknown.json()["reason"] == "no entity with id ent_0123456789abcdef"
    malformed = await api.get("/v1/entities/Donald%20Trump")
    assert malformed.status_code == 422
    assert "entity_id" in malformed.json()["reason"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/entities/Q" + "9" * 30,
        "/v1/entities/ent_" + "G" * 16,
        "/v1/entities/ent_0123456789abcdef0",
        "/v1/entities/%00",
        "/v1/entities/..%2F..%2Fetc%2Fpasswd",
        "/v1/entities/Q30%20OR%201",
        "/v1/entities/%3Cscript%3E",
        "/v1/entities/" + "x" * 5000,
        "/v1/entities/Q30?latest=0",
        "/v1/entities/Q30?latest=10000",
        "/v1/entities/Q30?related=-1",
        "/v1/entities/Q30?latest=abc",
        "/v1/search?people=" + "Q" + "9" * 30,
        "/v1/search?people=.*&places=%00&organisations=" + "a" * 3000,
        "/v1/search?people=ent_" + "f" * 16 + "&people=Q1",
        "/v1/search/facets/people?prefix=%5C%5C(",
        "/v1/search/facets/places?prefix=" + "%E2%80%AE" * 20,
        "/v1/entities/suggest?q=%1F%1F",
        "/v1/entities/suggest?q=" + "\\" * 50,
    ],
)
async def test_hostile_ids_and_parameters_never_fail(api: httpx.AsyncClient, path: str) -> None:
    response = await api.get(path)
    assert response.status_code in (200, 404, 422), response.text
    assert response.headers["content-type"].startswith("application/json")
    if response.status_code != 200:
        assert response.json()["reason"]


async def test_entity_page_without_servers_says_why(stack: None) -> None:
    """Elasticsearch unreachable: 503 with a reason, like the rest of the API
    (the registry unreachable too: the page would have been drawn without it)."""
    settings = settings_for(
        f"test-{uuid4().hex[:8]}-",
        elasticsearch_url=f"http://127.0.0.1:{closed_port()}",
        redis_url=f"redis://127.0.0.1:{closed_port()}/0",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://search") as client:
            response = await client.get(f"/v1/entities/{US}")
            search = await client.get("/v1/search", params={"people": TRUMP})
    assert response.status_code == 503, response.text
    assert response.json()["reason"] == "search backend unavailable; try again shortly"
    assert search.status_code == 503


async def test_registry_down_still_names_from_the_articles(
    stack: None, corpus: list[EnrichedArticleV1]
) -> None:
    """Redis unreachable: names come from the documents; nothing fails."""
    namespace = f"test-{uuid4().hex[:8]}-"
    es = AsyncElasticsearch(settings_for(namespace).es_url, request_timeout=60)
    try:
        await index_corpus(es, namespace, corpus)
        app = create_app(settings_for(namespace, redis_url=f"redis://127.0.0.1:{closed_port()}/0"))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://search") as client:
                search = await get(client, "/v1/search", size=1, people=TRUMP)
                page = await get(client, f"/v1/entities/{TRUMP}")
        chosen = [b for b in search["facets"]["people"] if b["selected"]]
        assert [(b["id"], b["name"]) for b in chosen] == [(TRUMP, "Donald Trump")]
        assert (page["name"], page["known"]) == ("Donald Trump", False)
    finally:
        await drop_namespace(es, None, namespace)
        await es.close()
