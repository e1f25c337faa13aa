"""Search never answers 5xx, whatever is stored and whatever is asked.

The index holds the hostile documents of tests/search/hostile.py (huge title
and body, missing fields, numbers and lists where text is expected, dates at
the edges of what Elasticsearch stores, bidi controls, HTML, NUL) beside
ordinary articles; every query of HOSTILE_QUERIES is asked with each sort and
the largest page, and every document is fetched, asked for similar articles
and autocompleted.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.search import cursor as cursors
from services.search.models import SearchRequest
from tests.search.hostile import HOSTILE_MARK, HOSTILE_QUERIES, hostile_documents

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

OK = (200, 404, 422)


@pytest.mark.parametrize("q", HOSTILE_QUERIES)
@pytest.mark.parametrize("extra", [{}, {"sort": "newest", "size": 100, "facet_size": 100}])
async def test_no_query_gets_a_5xx(
    search_api: httpx.AsyncClient, q: str, extra: dict[str, Any]
) -> None:
    response = await search_api.get("/v1/search", params={"q": q, **extra})
    assert response.status_code in OK, (q[:60], response.status_code, response.text[:300])


async def test_every_hostile_document_is_found_and_shown(search_api: httpx.AsyncClient) -> None:
    # Every article (group=none): written around the indexer, the hostile
    # documents have no story id, and grouped they would be one story.
    params: dict[str, str | int] = {"q": HOSTILE_MARK, "size": 100, "group": "none"}
    response = await search_api.get("/v1/search", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    found = {hit["id"] for hit in body["hits"]}
    assert len(found) >= 10, found
    for hit in body["hits"]:
        # Shown as strings of bounded size, whatever type was stored.
        assert hit["title"] is None or isinstance(hit["title"], str)
        assert isinstance(hit["source"], str)
        assert all(isinstance(a, str) for a in hit["authors"])
        assert len(response.content) < 2_000_000


@pytest.mark.parametrize("doc_id", sorted(hostile_documents()))
async def test_article_and_similar_never_5xx(search_api: httpx.AsyncClient, doc_id: str) -> None:
    for path in (f"/v1/articles/{doc_id}", f"/v1/articles/{doc_id}/similar"):
        response = await search_api.get(path)
        assert response.status_code in OK, (path, response.text[:300])


@pytest.mark.parametrize("q", ["zz", "zz-one", "<img", "\u202e", "a", "\x00", "a" * 500])
async def test_suggest_never_5xx(search_api: httpx.AsyncClient, q: str) -> None:
    response = await search_api.get("/v1/entities/suggest", params={"q": q, "size": 50})
    assert response.status_code in OK, (q, response.text[:300])


def _forged(after: list[Any], pit: str | None = None, seen: int = 0) -> str:
    # The cursor is not signed: anyone can make one for the default search.
    identity = cursors.identity_of(SearchRequest())
    return cursors.encode(cursors.Cursor(identity=identity, after=after, seen=seen, pit=pit))


@pytest.mark.parametrize(
    "cursor",
    [
        "e30",  # {}
        "A" * 16_000,
        "%%%",
        _forged([{}]),
        _forged([1e308, "x", None, [], {}]),
        _forged(["not a date", 1, "id"]),
        _forged([1, 1, "id"], pit="x"),
        _forged([1, 1, "id"], pit="A" * 4_000),
        _forged([1, 1, "id"], seen=2**62),
    ],
)
async def test_forged_cursors_never_5xx(search_api: httpx.AsyncClient, cursor: str) -> None:
    response = await search_api.get("/v1/search", params={"cursor": cursor})
    assert response.status_code in OK, response.text
