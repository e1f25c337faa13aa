"""Finding 1 (search side): one impossible date took search down for everyone.

Any date parameter is answered 200 or 422 (422 outside 1900-01-01 .. now + 2
days, reversed, or unreadable), and an article stored with an impossible
publication date (written straight to Elasticsearch) breaks neither faceted
search nor the landing page, whose histogram stays small and inside the window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

TODAY = datetime.now(UTC).date()


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2019-01-01", "to": "9999-12-31"},
        {"from": "0001-01-01"},
        {"to": "0001-01-01"},
        {"from": "9999-12-31T23:59:59-23:59"},
        {"from": "9999-12-31T23:59:59+23:59"},
        {"to": "1899-12-31"},
        {"from": "1899-12-31T23:59:59Z"},
        {"to": (TODAY + timedelta(days=3)).isoformat()},
        {"from": "2024-02-01", "to": "2024-01-01"},
        {"from": "2024-01-01T10:00:01Z", "to": "2024-01-01T10:00:00Z"},
        {"from": "2024-13-01"},
        {"from": "2024-02-30"},
        {"from": "yesterday"},
        {"to": "2024-01-01T25:00"},
        {"from": "1" * 400},
        {"from": "-2024-01-01"},
        {"from": "+12024-01-01"},
        {"from": "2024-01-01T00:00:00+99:00"},
    ],
)
async def test_dates_outside_the_window_or_unreadable_are_422(
    search_api: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await search_api.get("/v1/search", params=params)
    assert response.status_code == 422, response.text
    reason = response.json()["reason"]
    assert reason.startswith(("invalid from", "invalid to", "invalid request")), reason


async def test_the_window_is_named_in_the_reason(search_api: httpx.AsyncClient) -> None:
    response = await search_api.get("/v1/search", params={"to": "9999-12-31"})
    assert response.status_code == 422
    assert "1900-01-01" in response.json()["reason"]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "1900-01-01"},
        {"to": (TODAY + timedelta(days=1)).isoformat()},
        {"from": "1900-01-01", "to": (TODAY + timedelta(days=2)).isoformat()},
        # Offsets Python reads but Elasticsearch would not (beyond +-18:00).
        {"from": "2024-01-01T00:00:00+20:00"},
        {"from": "2024-01-01T00:00:00-19:30", "to": "2024-06-01T00:00:00+19:30"},
        {"from": "2024-03-01T10:30:00.123456789Z"},
        {"from": "2024-03-01", "to": "2024-03-01"},
    ],
)
async def test_dates_inside_the_window_are_answered(
    search_api: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await search_api.get("/v1/search", params=params)
    assert response.status_code == 200, response.text
    assert len(response.json()["histogram"]["buckets"]) <= 120


def _histogram_sane(body: dict[str, Any]) -> None:
    histogram = body["histogram"]
    buckets = histogram["buckets"]
    assert 0 < len(buckets) <= 120, len(buckets)
    assert buckets[0]["start"] >= "1900-01-01"
    assert buckets[-1]["start"] <= (TODAY + timedelta(days=2)).isoformat()


@pytest.mark.parametrize("q", ["", "zzhostile", "market"])
@pytest.mark.parametrize("sort", ["relevance", "newest"])
async def test_impossible_stored_dates_break_nothing(
    search_api: httpx.AsyncClient, q: str, sort: str
) -> None:
    response = await search_api.get("/v1/search", params={"q": q, "sort": sort, "size": 100})
    assert response.status_code == 200, response.text
    _histogram_sane(response.json())


async def test_landing_page_and_its_first_search(search_api: httpx.AsyncClient) -> None:
    assert (await search_api.get("/")).status_code == 200
    # What the UI asks for first: every facet, the histogram, 20 hits.
    response = await search_api.get("/v1/search", params={"facet_size": 10})
    assert response.status_code == 200, response.text
    _histogram_sane(response.json())


async def test_histogram_over_a_whole_century_stays_small(search_api: httpx.AsyncClient) -> None:
    response = await search_api.get("/v1/search", params={"from": "1900-01-01"})
    assert response.status_code == 200, response.text
    assert len(response.json()["histogram"]["buckets"]) <= 100
