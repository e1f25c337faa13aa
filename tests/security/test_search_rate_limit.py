"""Finding 3 (second half): search has a per-client rate limit, kept in Redis.

Past the limit a client gets 429 with Retry-After; other clients and the
health, readiness and static routes are not affected; with Redis down, search
keeps answering (the limit fails open, and says so in the log).
"""

from __future__ import annotations

import asyncio
import socket
from uuid import uuid4

import pytest

from services.search.app import create_app
from shared.runtime.settings import SearchSettings
from tests.security.conftest import app_client

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

LIMIT = 5


def _limited(settings: SearchSettings, **extra: object) -> SearchSettings:
    # Own namespace per test: the counters of one test never reach another.
    return settings.model_copy(
        update={
            "namespace": f"{settings.namespace}rl{uuid4().hex[:6]}-",
            "rate_limit_requests": LIMIT,
            "rate_limit_window_s": 60,
            **extra,
        }
    )


async def test_past_the_limit_a_client_gets_429_with_retry_after(
    search_index: str, search_settings: SearchSettings
) -> None:
    settings = _limited(search_settings)
    async for http in app_client(create_app(settings), client=("203.0.113.7", 5000)):
        statuses = [
            (await http.get("/v1/search", params={"q": f"market {i}"})).status_code
            for i in range(LIMIT)
        ]
        assert statuses == [200] * LIMIT
        refused = await http.get("/v1/search", params={"q": "market"})
        assert refused.status_code == 429, refused.text
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= 60
        assert "rate limit" in refused.json()["reason"]
        # The other read routes share the budget.
        assert (await http.get("/v1/entities/suggest", params={"q": "a"})).status_code == 429
        # Health, readiness, the page and its files are never limited.
        for path in ("/healthz", "/readyz", "/static/app.js", "/static/style.css"):
            assert (await http.get(path)).status_code == 200, path
    # Another address has its own budget (same app settings, same Redis keys).
    async for other in app_client(create_app(settings), client=("203.0.113.8", 5000)):
        assert (await other.get("/v1/search", params={"q": "market"})).status_code == 200


@pytest.mark.parametrize("params", [{"q": "market"}, {"size": "-1"}], ids=["valid", "invalid"])
async def test_a_count_sent_alongside_the_search_still_refuses(
    search_index: str, search_settings: SearchSettings, params: dict[str, str]
) -> None:
    # A client this process saw at half its budget or less has its count sent
    # alongside its search (ratelimit.search_budget). When another process
    # took the rest meanwhile, the request is still refused; an invalid one
    # too, rather than told what is wrong with it.
    settings = _limited(search_settings)
    address = ("203.0.113.9", 5000)
    async for first in app_client(create_app(settings), client=address):
        for i in range(2):  # counted first, then alongside: 2 <= LIMIT / 2
            assert (await first.get("/v1/search", params={"q": f"a {i}"})).status_code == 200
        async for second in app_client(create_app(settings), client=address):
            for i in range(LIMIT - 2):
                response = await second.get("/v1/search", params={"q": f"b {i}"})
                assert response.status_code == 200
        refused = await first.get("/v1/search", params=params)
        assert refused.status_code == 429, refused.text
        assert "rate limit" in refused.json()["reason"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_redis_down_fails_open_and_logs(
    search_index: str, search_settings: SearchSettings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _limited(search_settings, redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    async for http in app_client(create_app(settings)):
        for i in range(LIMIT * 2):
            response = await http.get("/v1/search", params={"q": f"market {i}"})
            assert response.status_code == 200, response.text
    assert any("rate limit" in r.getMessage() for r in caplog.records)


async def test_one_client_cannot_run_many_searches_at_once(
    search_index: str, search_settings: SearchSettings
) -> None:
    # "8 at once slowed every search": one address gets a few at a time.
    settings = _limited(search_settings, rate_limit_requests=0, max_concurrent_per_client=2)
    async for http in app_client(create_app(settings)):
        params: dict[str, str | int] = {"q": "market~2|energy~2|climate~2", "size": 100}
        responses = await asyncio.gather(*(http.get("/v1/search", params=params) for _ in range(8)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(200) >= 2 and statuses.count(429) >= 1, statuses
        assert set(statuses) == {200, 429}
        assert all(r.headers["Retry-After"] == "1" for r in responses if r.status_code == 429)
        # Once they are answered, the next one is.
        assert (await http.get("/v1/search", params=params)).status_code == 200


async def test_zero_turns_the_limit_off(search_index: str, search_settings: SearchSettings) -> None:
    settings = _limited(search_settings, rate_limit_requests=0, max_concurrent_per_client=0)
    async for http in app_client(create_app(settings)):
        for _ in range(LIMIT * 2):
            assert (await http.get("/v1/search", params={"q": "x"})).status_code == 200
