"""The search API against real Elasticsearch and Redis.

One namespace per module: the fixture corpus (tests/search/corpus.py) is
indexed through the indexer's code path into ``test-<uuid>-articles``, the
app runs in-process (httpx over ASGI, its lifespan entered by hand), and the
index, template and cache keys are deleted at the end. Expected numbers are
computed from the corpus objects, never copied from a previous run.
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
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
from fastapi import FastAPI
from redis.asyncio import Redis

from services.search.app import create_app
from services.search.models import FACET_NAMES
from shared.contracts.models import EnrichedArticleV1
from shared.runtime.settings import SearchSettings
from tests.search.corpus import (
    HOSTILE_WORD,
    build_corpus,
    drop_namespace,
    facet_counts,
    facet_values,
    index_corpus,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

module_fixture = pytest_asyncio.fixture(scope="module", loop_scope="module")


@pytest.fixture(scope="module")
def corpus() -> list[EnrichedArticleV1]:
    return build_corpus()


@pytest.fixture(scope="module")
def settings() -> SearchSettings:
    return SearchSettings(namespace=f"test-{uuid4().hex[:8]}-", cache_ttl_s=5)


@module_fixture
async def indexed(settings: SearchSettings, corpus: list[EnrichedArticleV1]) -> AsyncIterator[str]:
    es = AsyncElasticsearch(settings.es_url)
    redis = Redis.from_url(settings.redis_dsn)
    try:
        await index_corpus(es, settings.namespace, corpus)
        yield settings.namespace
    finally:
        await drop_namespace(es, redis, settings.namespace)
        await es.close()
        await redis.aclose()


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://search") as client:
            yield client


@module_fixture
async def api(indexed: str, settings: SearchSettings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(create_app(settings)):
        yield client


async def search(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await api.get("/v1/search", params={"facet_size": 100, "size": 100, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> set[str]:
    return {hit["id"] for hit in body["hits"]}


def facet(body: dict[str, Any], name: str) -> dict[str, int]:
    """Counts of a facet; a selected value with no match is listed with 0
    (so the UI can show it), which a Counter of the corpus would not have."""
    return {b["name"] or b["value"]: b["count"] for b in body["facets"][name] if b["count"]}


def matching(corpus: list[EnrichedArticleV1], **filters: list[str]) -> list[EnrichedArticleV1]:
    """Articles passing facet filters: any value within a facet, every facet."""
    return [
        a
        for a in corpus
        if all(set(facet_values(a, name)) & set(values) for name, values in filters.items())
    ]


# ----------------------------------------------------------------- full text
async def test_phrase_matches_only_adjacent_words(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    both = await search(api, q="narwhal quokka")
    phrase = await search(api, q='"narwhal quokka"')
    expected = {a.article_id for a in corpus if "narwhal quokka" in a.text}
    assert expected
    assert ids(phrase) == expected
    assert phrase["total"] == len(expected)
    # Both words, not adjacent, match without quotes only.
    assert ids(phrase) < ids(both)


async def test_exclusion(api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]) -> None:
    body = await search(api, q="quokka -narwhal")
    expected = {
        a.article_id
        for a in corpus
        if "quokka" in a.text.lower() and "narwhal" not in a.text.lower()
    }
    assert expected
    assert ids(body) == expected


async def test_title_outweighs_body(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    # A word in one article's title that more other articles have in their body.
    def words(text: str) -> set[str]:
        return {w for w in re.findall(r"[a-z]{6,}", text.lower())}

    word, titled = next(
        (w, a)
        for a in corpus
        for w in sorted(words(a.title or ""))
        if sum(w in words(b.text) and w not in words(b.title or "") for b in corpus) >= 3
    )
    body = await search(api, q=word)
    assert body["hits"][0]["id"] == titled.article_id, word


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "-",
        "~",
        "a~99",
        '""',
        "|||",
        '(((a* b~2 "x',
        "\\",
        "title:foo AND",
        "<script>",
        "\x00\x1f",
        "é" * 400,
    ],
)
async def test_odd_input_never_errors(api: httpx.AsyncClient, q: str) -> None:
    response = await api.get("/v1/search", params={"q": q})
    assert response.status_code == 200, response.text


async def test_a_bare_wildcard_is_refused_with_a_reason(api: httpx.AsyncClient) -> None:
    # It would expand to every word of the index (tests/security has more).
    response = await api.get("/v1/search", params={"q": "*"})
    assert response.status_code == 422
    assert "wildcard" in response.json()["reason"]


async def test_highlights_are_escaped_with_only_mark_tags(api: httpx.AsyncClient) -> None:
    body = await search(api, q=HOSTILE_WORD)
    [hit] = body["hits"]
    assert "<script>" in hit["title"]  # the raw field is the stored text
    fragments = [hit["title_html"], *hit["snippets"]]
    assert "<mark>zanzibarite</mark>" in hit["title_html"]
    for fragment in fragments:
        stripped = fragment.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in stripped and ">" not in stripped, fragment
    assert any("&lt;script&gt;" in f for f in fragments)


# ----------------------------------------------------------------- facets
async def test_facet_counts_match_the_corpus(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    body = await search(api)
    assert body["total"] == len(corpus)
    for name in FACET_NAMES:
        expected = facet_counts(corpus, name)
        assert facet(body, name) == dict(expected), name
    # Single-valued facets partition the results.
    assert sum(facet(body, "source").values()) == body["total"]
    with_language = sum(1 for a in corpus if a.language)
    assert sum(facet(body, "language").values()) == with_language


async def test_multi_select_is_or_within_and_across_facets(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    top_sources = [s for s, _ in facet_counts(corpus, "source").most_common(2)]
    language = "en"
    one = await search(api, source=top_sources[:1])
    two = await search(api, source=top_sources)
    both_facets = await search(api, source=top_sources, language=[language])

    assert one["total"] == len(matching(corpus, source=top_sources[:1]))
    assert two["total"] == len(matching(corpus, source=top_sources)) > one["total"]
    expected = matching(corpus, source=top_sources, language=[language])
    assert {h["id"] for h in both_facets["hits"]} == {a.article_id for a in expected}

    # Each facet is counted without its own filter but with the others.
    assert facet(both_facets, "source") == dict(
        facet_counts(matching(corpus, language=[language]), "source")
    )
    assert facet(both_facets, "language") == dict(
        facet_counts(matching(corpus, source=top_sources), "language")
    )
    assert facet(both_facets, "places") == dict(facet_counts(expected, "places"))
    selected = {b["value"] for b in both_facets["facets"]["source"] if b["selected"]}
    assert selected == set(top_sources)


async def test_entity_filters_combine(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    places = [p for p, _ in facet_counts(corpus, "places").most_common(2)]
    in_places = matching(corpus, places=places)
    organisation = facet_counts(in_places, "organisations").most_common(1)[0][0]
    body = await search(api, places=places, organisations=[organisation])
    expected = matching(corpus, places=places, organisations=[organisation])
    assert ids(body) == {a.article_id for a in expected}
    assert facet(body, "organisations") == dict(facet_counts(in_places, "organisations"))
    assert 0 < body["total"] < len(in_places)


async def test_selected_value_outside_the_top_is_still_listed(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    rare = min(facet_counts(corpus, "places").items(), key=lambda kv: (kv[1], kv[0]))[0]
    body = await search(api, places=[rare], facet_size=1)
    values = {b["value"]: b for b in body["facets"]["places"]}
    assert values[rare]["selected"] and values[rare]["count"] >= 1


# ----------------------------------------------------------------- dates
async def test_date_range_excludes_undated_and_out_of_range(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    # `to` is a day: the whole of it is included.
    start, end = datetime(2023, 6, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)
    body = await search(api, **{"from": "2023-06-01", "to": "2024-03-31"})
    expected = {a.article_id for a in corpus if a.published_at and start <= a.published_at < end}
    assert ids(body) == expected
    histogram = body["histogram"]
    assert sum(b["count"] for b in histogram["buckets"]) == body["total"]
    assert histogram["undated"] == 0
    # The chart spans the results, at the finest interval that keeps it
    # under 60 bars (some 10 months: weeks).
    dated = sorted(
        a.published_at.date().isoformat()
        for a in corpus
        if a.article_id in expected and a.published_at
    )
    assert histogram["buckets"][0]["start"] <= dated[0] < histogram["buckets"][0]["end"]
    assert histogram["buckets"][-1]["start"] <= dated[-1] < histogram["buckets"][-1]["end"]
    assert histogram["interval"] == "week" and len(histogram["buckets"]) <= 60


async def test_histogram_of_results_close_together_is_drawn_finer(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    # Two articles 17 days apart in a corpus of two years: by day, not in one
    # bar of a monthly axis.
    dated = [(a.published_at, a) for a in corpus if a.published_at]
    (first_at, first), (second_at, second) = sorted(dated, key=lambda pair: pair[0])[:2]
    phrases = [f'"{a.title.replace(chr(34), " ")}"' for a in (first, second) if a.title]
    body = await search(api, q=" | ".join(phrases), sort="newest")
    assert ids(body) == {first.article_id, second.article_id}
    histogram = body["histogram"]
    assert histogram["interval"] == "day"
    assert histogram["buckets"][0]["start"] == first_at.date().isoformat()
    assert histogram["buckets"][-1]["start"] == second_at.date().isoformat()


async def test_histogram_and_undated_cover_every_hit(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    body = await search(api)
    histogram = body["histogram"]
    undated = sum(1 for a in corpus if a.published_at is None)
    assert undated and histogram["undated"] == undated
    assert sum(b["count"] for b in histogram["buckets"]) + undated == body["total"]
    assert histogram["interval"] in ("week", "month")


# Tomorrow: beyond the corpus, inside the date window (tests/security covers beyond it).
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()


@pytest.mark.parametrize("dates", [{"from": TOMORROW}, {"to": "2001-01-01"}])
async def test_range_beyond_the_corpus_is_empty_not_an_error(
    api: httpx.AsyncClient, dates: dict[str, str]
) -> None:
    body = await search(api, **dates)
    assert body["total"] == 0
    assert sum(b["count"] for b in body["histogram"]["buckets"]) == 0


async def test_from_after_to_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/search", params={"from": "2024-02-01", "to": "2024-01-01"})
    assert response.status_code == 422
    assert "from" in response.json()["reason"]


async def test_sort_newest_puts_undated_last(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    body = await search(api, sort="newest")
    dates = [h["published_at"] for h in body["hits"]]
    dated = [d for d in dates if d is not None]
    assert dated == sorted(dated, reverse=True)
    assert dates[len(dated) :] == [None] * (len(dates) - len(dated))
    newest = max(a.published_at for a in corpus if a.published_at)
    assert datetime.fromisoformat(dates[0]) == newest


# ----------------------------------------------------------------- paging
async def _walk(api: httpx.AsyncClient, **params: Any) -> tuple[list[str], int, int]:
    """All hits by following next_cursor; returns ids, total and pages."""
    first = await search(api, size=7, facets=False, **params)
    seen, total, pages = [h["id"] for h in first["hits"]], first["total"], 1
    cursor = first["next_cursor"]
    while cursor:
        body = await search(api, size=7, facets=False, cursor=cursor, **params)
        assert body["total"] == total and body["page"] is None
        seen += [h["id"] for h in body["hits"]]
        cursor, pages = body["next_cursor"], pages + 1
    return seen, total, pages


@pytest.mark.parametrize("params", [{"sort": "newest"}, {"q": "the", "sort": "relevance"}])
async def test_cursor_visits_every_hit_once(api: httpx.AsyncClient, params: dict[str, Any]) -> None:
    seen, total, pages = await _walk(api, **params)
    assert pages > 2
    assert len(seen) == len(set(seen)) == total
    everything = await search(api, **params)
    assert set(seen) == ids(everything)
    assert seen == [h["id"] for h in everything["hits"]]  # same order as one big page


async def test_cursor_survives_an_expired_point_in_time(
    api: httpx.AsyncClient, settings: SearchSettings
) -> None:
    first = await search(api, size=10, facets=False, sort="newest")
    second = await search(api, size=10, facets=False, sort="newest", cursor=first["next_cursor"])
    token = second["next_cursor"]
    payload = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert payload["p"], "the cursor should carry a point in time after its first use"
    es = AsyncElasticsearch(settings.es_url)
    await es.close_point_in_time(id=payload["p"])
    await es.close()
    third = await search(api, size=10, facets=False, sort="newest", cursor=token)
    everything = await search(api, sort="newest")
    expected = [h["id"] for h in everything["hits"]][20:30]
    assert [h["id"] for h in third["hits"]] == expected


async def test_cursor_of_another_search_is_refused(api: httpx.AsyncClient) -> None:
    first = await search(api, q="quokka", size=2)
    response = await api.get("/v1/search", params={"q": "narwhal", "cursor": first["next_cursor"]})
    assert response.status_code == 422
    assert "another search" in response.json()["reason"]
    garbage = await api.get("/v1/search", params={"cursor": "not-a-cursor!"})
    assert garbage.status_code == 422


async def test_page_numbers_stop_at_the_result_window(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/search", params={"page": 101, "size": 100})
    assert response.status_code == 422
    assert "next_cursor" in response.json()["reason"]


# ----------------------------------------------------------------- articles
async def test_article_whole_with_entities(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    article = max(corpus, key=lambda a: len(a.entities))
    response = await api.get(f"/v1/articles/{article.article_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["text"] == article.text
    assert body["title"] == article.title
    assert {e["name"] for e in body["entities"]} == {e.canonical for e in article.entities}
    counts = [e["count"] for e in body["entities"]]
    assert counts == sorted(counts, reverse=True)


async def test_unknown_article_is_404_json(api: httpx.AsyncClient) -> None:
    response = await api.get(f"/v1/articles/{'0' * 32}")
    assert response.status_code == 404
    assert response.json()["reason"].startswith("no article")
    similar = await api.get(f"/v1/articles/{'0' * 32}/similar")
    assert similar.status_code == 404
    malformed = await api.get("/v1/articles/not-an-id")
    assert malformed.status_code == 422


async def test_similar_finds_the_syndicated_copy(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    copies = [a for a in corpus if a.source == "wire.example"]
    assert copies
    for copy in copies:
        seed = next(a for a in corpus if a.title and copy.title == f"{a.title} (wire copy)")
        response = await api.get(f"/v1/articles/{seed.article_id}/similar", params={"size": 3})
        assert response.status_code == 200
        items = response.json()["items"]
        assert items[0]["id"] == copy.article_id
        assert seed.article_id not in {i["id"] for i in items}


# ----------------------------------------------------------------- suggest
async def test_suggest_ranks_by_article_frequency(
    api: httpx.AsyncClient, corpus: list[EnrichedArticleV1]
) -> None:
    frequency: Counter[str] = Counter()
    for name in ("people", "organisations", "places"):
        frequency.update(facet_counts(corpus, name))
    response = await api.get("/v1/entities/suggest", params={"q": "n", "size": 50})
    assert response.status_code == 200
    items = response.json()["items"]
    expected = {
        name: count
        for name, count in frequency.items()
        if any(word.lower().startswith("n") for word in name.split())
    }
    assert {i["name"]: i["count"] for i in items} == expected
    counts = [i["count"] for i in items]
    assert counts == sorted(counts, reverse=True)


async def test_suggest_matches_any_word_start(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/entities/suggest", params={"q": "YORK"})
    items = response.json()["items"]
    assert [i["name"] for i in items] == ["New York"]
    assert items[0]["facet"] == "places"
    hostile = await api.get("/v1/entities/suggest", params={"q": "<b onmouse"})
    assert hostile.status_code == 200
    assert len(hostile.json()["items"]) == 1


@pytest.mark.parametrize("q", [".*", "[a-z]+", "(", "\\", "a|b", "~@#&<>\"'"])
async def test_suggest_treats_input_as_text(api: httpx.AsyncClient, q: str) -> None:
    response = await api.get("/v1/entities/suggest", params={"q": q})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


# ----------------------------------------------------------------- cache
async def test_second_identical_request_is_a_cache_hit(api: httpx.AsyncClient) -> None:
    params = {"q": f"quokka {uuid4().hex[:6]} | quokka", "people": ["B", "A"]}
    first = await api.get("/v1/search", params=params)
    # Same search, written differently: normalised to the same key.
    second = await api.get(
        "/v1/search", params={"q": f"  {params['q']} ", "people": ["A", "B", "A"]}
    )
    assert first.headers["X-Cache"] == "MISS"
    assert second.headers["X-Cache"] == "HIT"
    assert first.json() == second.json()


async def test_cache_entries_expire_within_the_bound(
    indexed: str, settings: SearchSettings
) -> None:
    short = settings.model_copy(update={"cache_ttl_s": 0.5})
    async for client in _client(create_app(short)):
        params = {"q": f"narwhal {uuid4().hex[:6]} | narwhal"}
        assert (await client.get("/v1/search", params=params)).headers["X-Cache"] == "MISS"
        assert (await client.get("/v1/search", params=params)).headers["X-Cache"] == "HIT"
        await asyncio.sleep(0.6)
        assert (await client.get("/v1/search", params=params)).headers["X-Cache"] == "MISS"


async def test_ttl_zero_means_no_cache(indexed: str, settings: SearchSettings) -> None:
    off = settings.model_copy(update={"cache_ttl_s": 0})
    async for client in _client(create_app(off)):
        for _ in range(2):
            response = await client.get("/v1/search", params={"q": "quokka"})
            assert response.headers["X-Cache"] == "BYPASS"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_redis_outage_degrades_to_no_cache(
    indexed: str, settings: SearchSettings, caplog: pytest.LogCaptureFixture
) -> None:
    down = SearchSettings(
        namespace=settings.namespace,
        cache_ttl_s=5,
        redis_url=f"redis://127.0.0.1:{_closed_port()}/0",
    )
    async for client in _client(create_app(down)):
        for _ in range(3):
            response = await client.get("/v1/search", params={"q": "quokka"})
            assert response.status_code == 200
            assert response.headers["X-Cache"] in ("MISS", "BYPASS")
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"].startswith("unreachable")
    assert any("cache unavailable" in r.getMessage() for r in caplog.records)


async def test_a_deployment_with_nothing_indexed_answers_empty() -> None:
    empty = SearchSettings(namespace=f"test-{uuid4().hex[:8]}-", cache_ttl_s=0)
    async for client in _client(create_app(empty)):
        body = (await client.get("/v1/search", params={"q": "anything"})).json()
        assert body["total"] == 0 and body["hits"] == []
        suggest = await client.get("/v1/entities/suggest", params={"q": "a"})
        assert suggest.json()["items"] == []
        assert (await client.get(f"/v1/articles/{'a' * 32}")).status_code == 404


async def test_elasticsearch_outage_is_a_503_with_a_reason(settings: SearchSettings) -> None:
    down = SearchSettings(
        namespace=settings.namespace,
        elasticsearch_url=f"http://127.0.0.1:{_closed_port()}",
    )
    async for client in _client(create_app(down)):
        response = await client.get("/v1/search", params={"q": "quokka"})
        assert response.status_code == 503
        assert "unavailable" in response.json()["reason"]
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["elasticsearch"].startswith("unreachable")
        assert (await client.get("/healthz")).status_code == 200


# ----------------------------------------------------------------- limits, health
async def test_limits_answer_422_with_a_reason(
    api: httpx.AsyncClient, settings: SearchSettings
) -> None:
    too_long = await api.get("/v1/search", params={"q": "a" * (settings.max_query_chars + 1)})
    too_big = await api.get("/v1/search", params={"size": settings.max_page_size + 1})
    for response, field in ((too_long, "q"), (too_big, "size")):
        assert response.status_code == 422
        assert response.json()["reason"].startswith(f"invalid {field}")


async def test_health_readiness_and_openapi(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"elasticsearch": "ok", "redis": "ok"}
    spec = (await api.get("/openapi.json")).json()
    assert {"/v1/search", "/v1/articles/{article_id}", "/v1/entities/suggest"} <= set(spec["paths"])
    params = {p["name"]: p for p in spec["paths"]["/v1/search"]["get"]["parameters"]}
    assert params["q"]["schema"]["maxLength"] > 0
    assert {"from", "to", "cursor", *FACET_NAMES} <= set(params)


async def test_ui_is_served_with_a_strict_policy(api: httpx.AsyncClient) -> None:
    response = await api.get("/")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert (await api.get("/static/app.js")).status_code == 200
