"""Finding 3: one anonymous query tied up Elasticsearch.

Queries whose cost has no bound (many fuzzy or prefix words, a leading
wildcard) are refused with a 422 that says why; what is accepted is bounded
in the body sent to Elasticsearch (checked in tests/search/test_query.py) and
answered (the latency of the worst accepted queries is in
bench/search_worst_case.py, not asserted here).
"""

from __future__ import annotations

import httpx
import pytest

from shared.runtime.settings import SearchSettings
from tests.search.hostile import fuzzy_bomb

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


async def test_the_reported_fuzzy_query_is_refused_with_a_reason(
    search_api: httpx.AsyncClient,
) -> None:
    q = fuzzy_bomb(100)
    assert len(q) == 499
    response = await search_api.get("/v1/search", params={"q": q, "size": 100})
    assert response.status_code == 422, response.text
    reason = response.json()["reason"]
    assert reason.startswith("invalid q") and "fuzzy" in reason, reason


@pytest.mark.parametrize("q", ["a* b* c* d* e* f* g* h* i* j*", "ab~1 cd~1 ef* gh* ij~ kl* mn~2"])
async def test_too_many_expanding_words_are_refused(
    search_api: httpx.AsyncClient, search_settings: SearchSettings, q: str
) -> None:
    assert len(q.split()) > search_settings.max_expanding_terms
    response = await search_api.get("/v1/search", params={"q": q})
    assert response.status_code == 422, response.text
    assert str(search_settings.max_expanding_terms) in response.json()["reason"]


@pytest.mark.parametrize("q", ["*a", "market *ket", "*", "**"])
async def test_a_leading_wildcard_is_refused(search_api: httpx.AsyncClient, q: str) -> None:
    response = await search_api.get("/v1/search", params={"q": q})
    assert response.status_code == 422, response.text
    assert "wildcard" in response.json()["reason"]


@pytest.mark.parametrize(
    "q", ["market~2|energy~1|climate~", "mark* | elec*", '"river storm"~3', "a~99", "x*"]
)
async def test_bounded_expanding_words_are_answered(search_api: httpx.AsyncClient, q: str) -> None:
    response = await search_api.get("/v1/search", params={"q": q, "size": 100})
    assert response.status_code == 200, response.text


async def test_suggest_prefix_is_bounded(search_api: httpx.AsyncClient) -> None:
    response = await search_api.get("/v1/entities/suggest", params={"q": "a" * 500})
    assert response.status_code in (200, 422), response.text
