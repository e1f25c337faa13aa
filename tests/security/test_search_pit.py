"""Finding 4: point-in-time contexts had no cap (200 anonymous cursor
requests opened 200 of them).

A cursor chain reuses one point in time; the number a process keeps open is
capped (beyond it, pages continue on the live index at the same position);
a finished walk closes its point in time.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import orjson
import pytest
from elasticsearch import AsyncElasticsearch, NotFoundError

from services.search.app import create_app
from shared.runtime.settings import SearchSettings
from tests.security.conftest import app_client

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CAP = 3


def _pit(token: str | None) -> str | None:
    if not token:
        return None
    payload: dict[str, Any] = orjson.loads(
        base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    )
    pit = payload.get("p")
    return pit if isinstance(pit, str) else None


async def _page(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await http.get("/v1/search", params={"facets": False, "sort": "newest", **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _still_open(es: AsyncElasticsearch, pit: str) -> bool:
    try:
        await es.search(pit={"id": pit, "keep_alive": "10s"}, size=0)
    except NotFoundError:
        return False
    return True


async def test_anonymous_cursor_requests_open_at_most_the_cap(
    search_index: str, search_settings: SearchSettings
) -> None:
    settings = search_settings.model_copy(update={"max_open_pits": CAP})
    async for http in app_client(create_app(settings)):
        first = await _page(http, size=2)
        cursor = first["next_cursor"]
        pages = await asyncio.gather(*(_page(http, size=2, cursor=cursor) for _ in range(30)))
        pits = {_pit(p["next_cursor"]) for p in pages} - {None}
        assert 1 <= len(pits) <= CAP, len(pits)
        # Every page is still right: the one after the first page.
        expected = (await _page(http, size=4))["hits"][2:4]
        assert all(p["hits"] == expected for p in pages)

        # Walks that end free their slot: finish one walk per point in time,
        # and a new walk gets one again.
        for pit in pits:
            body = next(p for p in pages if _pit(p["next_cursor"]) == pit)
            while cursor := body["next_cursor"]:
                body = await _page(http, size=50, cursor=cursor)
        again = await _page(http, size=2, cursor=first["next_cursor"])
        assert _pit(again["next_cursor"]) not in (None, *pits)
        await _walk_to_the_end(http, again)


async def _walk_to_the_end(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    while cursor := body["next_cursor"]:
        body = await _page(http, size=50, cursor=cursor)


async def test_a_chain_reuses_one_point_in_time_and_closes_it_at_the_end(
    search_index: str, search_settings: SearchSettings
) -> None:
    settings = search_settings.model_copy(update={"max_open_pits": CAP})
    es = AsyncElasticsearch(settings.es_url)
    try:
        async for http in app_client(create_app(settings)):
            # Every article (group=none): `total` counts articles, and a grouped
            # walk would count stories.
            body = await _page(http, size=10, group="none")
            pits, total, seen = [], body["total"], len(body["hits"])
            while cursor := body["next_cursor"]:
                body = await _page(http, size=10, cursor=cursor, group="none")
                seen += len(body["hits"])
                if body["next_cursor"]:
                    pits.append(_pit(body["next_cursor"]))
            assert seen == total
            assert len(pits) >= 2 and len(set(pits)) == 1 and pits[0]
            assert not await _still_open(es, pits[0]), "the finished walk left its PIT open"
    finally:
        await es.close()
