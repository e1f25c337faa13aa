"""Stories in search, on real Elasticsearch and Redis: results collapsed by
story (and not, with group=none), pages of stories, the story page
(/v1/stories/{id}), "similar articles" preferring the story, exports
carrying story ids.

The corpus is seeded straight into Elasticsearch through
``shared.contracts.index.to_document`` on ``GroupedArticleV1`` values (what
the indexer writes for the stories stage's output), plus ungrouped
``EnrichedArticleV1`` articles (each a story of its own). Expected numbers
come from the corpus objects below.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import orjson
import pytest
import pytest_asyncio
from elasticsearch import AsyncElasticsearch
from redis.asyncio import Redis

from services.search.app import create_app
from shared.contracts.index import alias_name
from shared.contracts.models import EnrichedArticleV1, EntityV1, GroupedArticleV1
from shared.runtime.settings import SearchSettings
from tests.search.conftest import index_articles
from tests.search.corpus import drop_namespace, make_article

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
module_fixture = pytest_asyncio.fixture(scope="module", loop_scope="module")

T0 = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
WORD = "heliotrope"  # in every article of the corpus, and nowhere else
METH = "a1" * 16
DUVET = "b2" * 16
METH_WIRE = (
    f"South Dakota launched a {WORD} anti-meth campaign with the slogan Meth. We're on it. "
    "Governor Kristi Noem defended the 449,000 dollar campaign on Monday, saying the "
    "slogan was meant to get people talking about the methamphetamine crisis in the state."
)


def _article(key: str, source: str, title: str, text: str, hours: int) -> EnrichedArticleV1:
    # Entities by hand for the two names of the meth story (the corpus
    # gazetteer knows neither).
    entities = [
        EntityV1(canonical=name, label=label, group=group, count=text.count(name))
        for name, label, group in (
            ("Kristi Noem", "PERSON", "people"),
            ("South Dakota", "GPE", "places"),
        )
        if name in text
    ]
    return make_article(
        key=key,
        url=f"https://{source}/{key}",
        source=source,
        title=title,
        text=text,
        published_at=T0 + timedelta(hours=hours),
        language="en",
        extra_entities=entities,
    )


def _grouped(
    article: EnrichedArticleV1, story: str, duplicate_of: str | None = None, copies: int = 1
) -> GroupedArticleV1:
    return GroupedArticleV1(
        **article.model_dump(),
        story_id=story,
        duplicate_of=duplicate_of,
        copies=copies,
        grouped_at=article.received_at,
    )


def build_stories() -> dict[str, EnrichedArticleV1]:
    """The meth story: four articles from three sources, two of them wire
    copies of the first; the duvet story: three articles from three
    sources; five articles outside any story."""
    wire = _article("meth-wire", "apnews.com", "South Dakota's meth campaign", METH_WIRE, 0)
    corpus: dict[str, EnrichedArticleV1] = {
        "meth-wire": _grouped(wire, METH, copies=1),
        "meth-copy-1": _grouped(
            _article("meth-copy-1", "kotatv.com", "Meth. We're on it: SD ad", METH_WIRE, 2),
            METH,
            duplicate_of=wire.article_id,
            copies=2,
        ),
        "meth-copy-2": _grouped(
            _article("meth-copy-2", "kotatv.com", "Noem defends meth ads", METH_WIRE, 3),
            METH,
            duplicate_of=wire.article_id,
            copies=3,
        ),
        "meth-take": _grouped(
            _article(
                "meth-take",
                "argusleader.com",
                "Why 'Meth. We're on it' went viral",
                f"The {WORD} ad agency behind South Dakota's meth campaign says the jokes "
                "online were the point; Kristi Noem agreed.",
                30,
            ),
            METH,
        ),
    }
    for i, source in enumerate(("bbc.co.uk", "theguardian.com", "independent.co.uk")):
        key = f"duvet-{i}"
        text = (
            f"A {WORD} study says turning a duvet cover inside out is the easiest way to "
            f"put it on; readers of {source} were unconvinced."
        )
        corpus[key] = _grouped(_article(key, source, f"Duvet hack {i}", text, 50 + i), DUVET)
    for i in range(5):
        key = f"single-{i}"
        text = f"An unrelated {WORD} report number {i} about harbour works and bridges."
        corpus[key] = _article(key, f"local{i}.example", f"Harbour works {i}", text, 100 + i)
    return corpus


@pytest.fixture(scope="module")
def stories() -> dict[str, EnrichedArticleV1]:
    return build_stories()


@pytest.fixture(scope="module")
def settings() -> SearchSettings:
    return SearchSettings(
        namespace=f"test-{uuid4().hex[:8]}-",
        cache_ttl_s=0,
        rate_limit_requests=0,
        max_concurrent_per_client=0,
    )


@module_fixture
async def api(
    stories: dict[str, EnrichedArticleV1], settings: SearchSettings
) -> AsyncIterator[httpx.AsyncClient]:
    es = AsyncElasticsearch(settings.es_url, request_timeout=60)
    redis = Redis.from_url(settings.redis_dsn)
    app = create_app(settings)
    try:
        await index_articles(es, settings.namespace, list(stories.values()))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://search") as client:
                yield client
    finally:
        await drop_namespace(es, redis, settings.namespace)
        await es.close()
        await redis.aclose()


async def search(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await api.get(
        "/v1/search", params={"q": WORD, "sort": "oldest", "facet_size": 50, **params}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def story_of(article: EnrichedArticleV1) -> str:
    return article.story_id if isinstance(article, GroupedArticleV1) else article.article_id


# ----------------------------------------------------------------- grouped results
async def test_results_are_grouped_by_story_by_default(
    api: httpx.AsyncClient, stories: dict[str, EnrichedArticleV1]
) -> None:
    body = await search(api)
    expected_stories = {story_of(a) for a in stories.values()}
    assert body["query"]["group"] == "story"
    assert body["total"] == len(stories)  # articles
    assert body["stories"] == len(expected_stories) == 2 + 5
    assert [h["story_id"] for h in body["hits"]].count(METH) == 1
    assert {h["story_id"] for h in body["hits"]} == expected_stories
    meth = next(h for h in body["hits"] if h["story_id"] == METH)
    # Oldest first: the wire story leads its group; the others come behind it.
    assert meth["id"] == stories["meth-wire"].article_id
    assert meth["story"]["id"] == METH
    assert meth["story"]["articles"] == 4
    assert meth["story"]["sources"] == 3
    others = meth["story"]["others"]
    assert [o["id"] for o in others] == [
        stories[k].article_id for k in ("meth-copy-1", "meth-copy-2", "meth-take")
    ]
    assert others[0]["duplicate_of"] == stories["meth-wire"].article_id
    single = next(h for h in body["hits"] if h["id"] == stories["single-0"].article_id)
    assert single["story"] == {
        "id": single["id"],
        "articles": 1,
        "sources": 1,
        "others": [],
    }
    # Facets and histogram still count articles.
    sources = {b["value"]: b["count"] for b in body["facets"]["source"]}
    assert sources == dict(Counter(a.source for a in stories.values()))
    assert sum(b["count"] for b in body["histogram"]["buckets"]) == len(stories)


async def test_group_none_lists_every_article(
    api: httpx.AsyncClient, stories: dict[str, EnrichedArticleV1]
) -> None:
    body = await search(api, group="none")
    assert body["query"]["group"] == "none"
    assert body["total"] == len(stories) == len(body["hits"])
    assert body["stories"] is None
    assert all(hit["story"] is None for hit in body["hits"])
    by_id = {hit["id"]: hit for hit in body["hits"]}
    copy = by_id[stories["meth-copy-2"].article_id]
    assert copy["story_id"] == METH
    assert copy["duplicate_of"] == stories["meth-wire"].article_id
    assert by_id[stories["single-1"].article_id]["story_id"] == stories["single-1"].article_id


async def test_group_counts_follow_the_filters(
    api: httpx.AsyncClient, stories: dict[str, EnrichedArticleV1]
) -> None:
    body = await search(api, source=["kotatv.com", "argusleader.com"])
    assert body["total"] == 3 and body["stories"] == 1
    (hit,) = body["hits"]
    assert hit["id"] == stories["meth-copy-1"].article_id
    assert (hit["story"]["articles"], hit["story"]["sources"]) == (3, 2)
    # The source facet still counts every source's articles (its own filter aside).
    assert {b["value"]: b["count"] for b in body["facets"]["source"]}["apnews.com"] == 1


async def test_pages_and_cursors_count_stories(
    api: httpx.AsyncClient, stories: dict[str, EnrichedArticleV1]
) -> None:
    every = {story_of(a) for a in stories.values()}
    paged: list[str] = []
    for page in (1, 2, 3, 4):
        body = await search(api, size=2, page=page, facets="false")
        assert body["stories"] == len(every) and body["total"] == len(stories)
        paged += [hit["story_id"] for hit in body["hits"]]
    assert sorted(paged) == sorted(every)  # each story once, none lost

    walked: list[str] = []
    body = await search(api, size=3, facets="false")
    pages = 1
    walked += [hit["story_id"] for hit in body["hits"]]
    while body["next_cursor"]:
        body = await search(api, size=3, facets="false", cursor=body["next_cursor"])
        assert body["page"] is None and body["stories"] == len(every)
        walked += [hit["story_id"] for hit in body["hits"]]
        pages += 1
    assert walked == paged and pages == 3

    # A grouped walk's cursor is not one of the ungrouped search.
    first = await search(api, size=3)
    refused = await api.get(
        "/v1/search",
        params={"q": WORD, "sort": "oldest", "group": "none", "cursor": first["next_cursor"]},
    )
    assert refused.status_code == 422
    assert "another search" in refused.json()["reason"]


async def test_ungrouped_cursor_walks_every_article(
    api: httpx.AsyncClient, stories: dict[str, EnrichedArticleV1]
) -> None:
    seen: list[str] = []
    body = await search(api, size=4, group="none", facets="false")
    seen += [hit["id"] for hit in body["hits"]]
    while body["next_cursor"]:
        body = await search(api, size=4, group="none", facets="false", cursor=body["next_cursor"])
        seen += [hit["id"] for hit in body["hits"]]
    assert sorted(seen) == sorted(a.article_id for a in stories.values())


async def test_group_parameter_is_validated(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/search", params={"q": WORD, "group": "source"})
    assert response.status_code == 422
    assert response.json()["reason"].startswith("invalid group")


# ----------------------------------------------------------------- story page
async def test_story_page(api: httpx.AsyncClient, stories: dict[str, EnrichedArticleV1]) -> None:
    response = await api.get(f"/v1/stories/{METH}")
    assert response.status_code == 200, response.text
    story = response.json()
    keys = ("meth-wire", "meth-copy-1", "meth-copy-2", "meth-take")
    # The wire text, republished twice, is the story's centre: its first copy names it.
    assert story["title"] == stories["meth-wire"].title
    assert story["central_article_id"] == stories["meth-wire"].article_id
    assert story["articles"] == 4 and story["source_count"] == 3
    assert story["sources"] == [
        {"source": "kotatv.com", "count": 2},
        {"source": "apnews.com", "count": 1},
        {"source": "argusleader.com", "count": 1},
    ]
    assert [item["id"] for item in story["timeline"]] == [stories[k].article_id for k in keys]
    assert [item["duplicate_of"] for item in story["timeline"]] == [
        None,
        stories["meth-wire"].article_id,
        stories["meth-wire"].article_id,
        None,
    ]
    assert story["timeline"][0]["url"] == "https://apnews.com/meth-wire"
    assert story["timeline"][2]["copies"] == 3
    assert story["first_seen"].startswith("2024-05-06T08:00")
    assert story["last_seen"].startswith("2024-05-07T14:00")
    assert not story["timeline_truncated"]
    assert story["entities"]["people"] == [{"name": "Kristi Noem", "count": 4}]
    assert story["entities"]["places"] == [{"name": "South Dakota", "count": 4}]
    assert "organisations" not in story["entities"]  # groups without any are left out


async def test_story_of_one_article(
    api: httpx.AsyncClient, stories: dict[str, EnrichedArticleV1]
) -> None:
    single = stories["single-3"]
    story = (await api.get(f"/v1/stories/{single.article_id}")).json()
    assert story["articles"] == 1 and story["title"] == single.title
    assert [item["id"] for item in story["timeline"]] == [single.article_id]


@pytest.mark.parametrize(
    "story_id",
    [
        "A1" * 16,  # upper case
        "a1" * 15,  # 30 characters
        "a1" * 17,
        "zz" * 16,
        "a1" * 15 + "%00%00",
        "a1' OR '1'='1",
        "..%2F..%2Fetc%2Fpasswd",
        "%F0%9F%92%A9" * 8,
    ],
)
async def test_malformed_story_ids_are_422(api: httpx.AsyncClient, story_id: str) -> None:
    response = await api.get(f"/v1/stories/{story_id}")
    assert response.status_code in (404, 422), response.text
    if response.status_code == 422:
        assert response.json()["reason"].startswith("invalid story_id")
    else:  # a path the router does not know at all
        assert "reason" in response.json()


async def test_unknown_story_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get(f"/v1/stories/{'c3' * 16}")
    assert response.status_code == 404
    assert response.json() == {"reason": f"no story with id {'c3' * 16}"}


async def test_story_page_while_elasticsearch_is_down(settings: SearchSettings) -> None:
    down = SearchSettings(namespace=settings.namespace, elasticsearch_url="http://127.0.0.1:9")
    app = create_app(down)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://search") as client:
            response = await client.get(f"/v1/stories/{METH}")
    assert response.status_code == 503
    assert "unavailable" in response.json()["reason"]


# ----------------------------------------------------------------- similar, export
async def test_similar_articles_prefer_the_story(
    api: httpx.AsyncClient, stories: dict[str, EnrichedArticleV1]
) -> None:
    seed = stories["meth-take"]
    response = await api.get(f"/v1/articles/{seed.article_id}/similar", params={"size": 5})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    same = [stories[k].article_id for k in ("meth-wire", "meth-copy-1", "meth-copy-2")]
    assert sorted(item["id"] for item in items[:3]) == sorted(same)
    assert all(item["same_story"] for item in items[:3])
    assert not any(item["same_story"] for item in items[3:])
    assert all(0.0 <= item["score"] <= 1.0 for item in items)


async def test_export_is_ungrouped_and_carries_stories(
    api: httpx.AsyncClient, stories: dict[str, EnrichedArticleV1]
) -> None:
    response = await api.get("/v1/search/export", params={"q": WORD, "format": "ndjson"})
    assert response.status_code == 200
    rows = [orjson.loads(line) for line in response.content.splitlines()]
    assert len(rows) == len(stories) == int(response.headers["X-Total-Count"])
    by_id = {row["id"]: row for row in rows}
    for article in stories.values():
        assert by_id[article.article_id]["story_id"] == story_of(article)
    copy = by_id[stories["meth-copy-1"].article_id]
    assert copy["duplicate_of"] == stories["meth-wire"].article_id

    table = await api.get("/v1/search/export", params={"q": WORD, "format": "csv"})
    reader = csv.DictReader(io.StringIO(table.text.lstrip("\ufeff")))
    lines = list(reader)
    assert {"story_id", "duplicate_of"} <= set(reader.fieldnames or ())
    assert Counter(line["story_id"] for line in lines)[METH] == 4


async def test_a_document_with_several_story_ids_does_not_break_search(
    settings: SearchSettings, stories: dict[str, EnrichedArticleV1]
) -> None:
    """Written around the indexer, a list of story ids makes Elasticsearch
    refuse every collapse over it: the search answers ungrouped instead."""
    own = SearchSettings(namespace=f"test-{uuid4().hex[:8]}-", cache_ttl_s=0)
    es = AsyncElasticsearch(own.es_url, request_timeout=60)
    redis = Redis.from_url(own.redis_dsn)
    app = create_app(own)
    try:
        await index_articles(es, own.namespace, list(stories.values()))
        await es.index(
            index=alias_name(own.namespace),
            id="f" * 32,
            document={"article_id": "f" * 32, "title": WORD, "story_id": [METH, DUVET]},
            refresh="wait_for",
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://search") as client:
                response = await client.get("/v1/search", params={"q": WORD, "size": 50})
                assert response.status_code == 200, response.text
                body = response.json()
                assert body["total"] == len(body["hits"]) == len(stories) + 1
                assert body["stories"] is None
                story = await client.get(f"/v1/stories/{METH}")
                assert story.status_code == 200
                assert story.json()["articles"] == 5
    finally:
        await drop_namespace(es, redis, own.namespace)
        await es.close()
        await redis.aclose()
