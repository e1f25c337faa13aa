"""`/v1/sources` and `newsflow sources add` (issue 11, finding 2): listings
need the API key (a source's last error once acted as a port scanner), and a
source naming an internal address literally is refused unless allowed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from ipaddress import ip_network

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from redis.asyncio import Redis
from typer.testing import CliRunner

from services.feeds.api import sources_router
from services.feeds.cli import sources_app
from services.feeds.registry import SourceIn, SourceRegistry
from shared.runtime.addresses import AddressPolicy
from tests.conftest import REDIS_URL, _delete_redis_namespace, new_namespace

pytestmark = pytest.mark.integration

KEY = "feeds-security-key"
AUTH = {"X-API-Key": KEY}

INTERNAL_URLS = [
    "http://127.0.0.1:9200/",
    "http://localhost:6379/",
    "http://LOCALHOST./feed",
    "http://[::1]/feed",
    "http://[::ffff:127.0.0.1]/feed",
    "http://2130706433/feed",
    "http://0177.0.0.1/feed",
    "http://0x7f.1/feed",
    "http://127.1/feed",
    "http://10.0.0.8/feed",
    "http://172.16.5.4/feed",
    "http://192.168.0.1/feed",
    "http://100.64.0.1/feed",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/feed",
    "http://[fd00::1]/feed",
    "http://0.0.0.0/feed",
]


def check_key(key: str | None) -> None:
    if key != KEY:
        raise HTTPException(401, detail="missing or unknown API key")


@pytest.fixture
def feeds_sec_ns(stack: None) -> Iterator[str]:
    namespace = new_namespace()
    yield namespace
    _delete_redis_namespace(namespace)


async def _client(ns: str, policy: AddressPolicy) -> AsyncIterator[httpx.AsyncClient]:
    redis = Redis.from_url(REDIS_URL)
    app = FastAPI()
    app.include_router(sources_router(redis, ns, check_key, policy))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await redis.aclose()


@pytest.fixture
async def feeds_sec_api(feeds_sec_ns: str) -> AsyncIterator[httpx.AsyncClient]:
    """The sources API with the default policy: no internal address."""
    async for client in _client(feeds_sec_ns, AddressPolicy()):
        yield client


async def test_listing_and_showing_sources_need_the_key(
    feeds_sec_api: httpx.AsyncClient, feeds_sec_ns: str
) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        source = await SourceRegistry(redis, feeds_sec_ns).add(
            SourceIn(url="https://news.example.org/rss.xml", name="example")
        )
    finally:
        await redis.aclose()
    for path in ("/v1/sources", f"/v1/sources/{source.id}", "/v1/sources/0123456789ab"):
        for headers in ({}, {"X-API-Key": "wrong"}):
            response = await feeds_sec_api.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert "news.example.org" not in response.text
    listed = await feeds_sec_api.get("/v1/sources", headers=AUTH)
    assert listed.status_code == 200 and [s["id"] for s in listed.json()] == [source.id]
    shown = await feeds_sec_api.get(f"/v1/sources/{source.id}", headers=AUTH)
    assert shown.status_code == 200 and "last_error" in shown.json()["health"]


@pytest.mark.parametrize("url", INTERNAL_URLS)
async def test_a_source_naming_an_internal_address_is_refused(
    feeds_sec_api: httpx.AsyncClient, url: str
) -> None:
    response = await feeds_sec_api.post(
        "/v1/sources", json={"url": url, "name": "internal"}, headers=AUTH
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "url"]
    assert "address not allowed" in error["msg"]
    listed = await feeds_sec_api.get("/v1/sources", headers=AUTH)
    assert listed.json() == []


async def test_names_are_left_to_the_poller_and_the_key_comes_first(
    feeds_sec_api: httpx.AsyncClient,
) -> None:
    # Without the key, no hint about addresses: 401 before any check.
    anonymous = await feeds_sec_api.post(
        "/v1/sources", json={"url": "http://127.0.0.1/", "name": "x"}
    )
    assert anonymous.status_code == 401
    # A name is checked at every connection, not here (DNS changes).
    named = await feeds_sec_api.post(
        "/v1/sources", json={"url": "https://news.example.org/rss.xml", "name": "x"}, headers=AUTH
    )
    assert named.status_code == 201, named.text


async def test_the_allow_list_lets_intranet_sources_in(feeds_sec_ns: str) -> None:
    policy = AddressPolicy((ip_network("10.20.0.0/16"), ip_network("127.0.0.0/8")))
    async for client in _client(feeds_sec_ns, policy):
        for url, status in (
            ("http://10.20.3.4/rss.xml", 201),
            ("http://localhost:8080/rss.xml", 201),
            ("http://10.21.0.1/rss.xml", 422),
            ("http://[::1]/rss.xml", 422),
        ):
            response = await client.post(
                "/v1/sources", json={"url": url, "name": url}, headers=AUTH
            )
            assert response.status_code == status, (url, response.text)


def test_the_cli_refuses_internal_addresses_unless_allowed(feeds_sec_ns: str) -> None:
    runner = CliRunner()
    env = {"NEWSFLOW_NAMESPACE": feeds_sec_ns, "NEWSFLOW_REDIS_URL": REDIS_URL}
    for url in ("http://127.0.0.1:9200/", "http://2130706433/", "http://[::1]/"):
        refused = runner.invoke(
            sources_app,
            ["add", url, "--name", "x"],
            env={**env, "NEWSFLOW_POLLER_ALLOWED_NETWORKS": ""},
        )
        assert refused.exit_code == 1 and "address not allowed" in refused.output, url
    allowed = runner.invoke(
        sources_app,
        ["add", "http://127.0.0.1:9200/", "--name", "x"],
        env={**env, "NEWSFLOW_POLLER_ALLOWED_NETWORKS": "127.0.0.0/8"},
    )
    assert allowed.exit_code == 0, allowed.output
