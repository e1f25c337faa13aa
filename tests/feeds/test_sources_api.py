"""Managing sources through the HTTP API and the CLI, on the real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from redis.asyncio import Redis
from typer.testing import CliRunner

from services.feeds.api import sources_router
from services.feeds.cli import sources_app
from services.feeds.registry import source_id
from shared.runtime.addresses import AddressPolicy
from tests.conftest import REDIS_URL, _delete_redis_namespace, new_namespace

pytestmark = pytest.mark.integration

KEY = "sources-test-key"
FEED = "https://news.example.org/rss.xml"


def check_key(key: str | None) -> None:
    if key != KEY:
        raise HTTPException(401, detail="missing or unknown API key")


@pytest.fixture
def ns(stack: None) -> Iterator[str]:
    namespace = new_namespace()
    yield namespace
    _delete_redis_namespace(namespace)


@pytest.fixture
async def api(ns: str) -> AsyncIterator[httpx.AsyncClient]:
    redis = Redis.from_url(REDIS_URL)
    app = FastAPI()
    # No allow-list: the sources here are public names (internal literal
    # addresses are tests/security/test_feeds_sources_api.py's business).
    app.include_router(sources_router(redis, ns, check_key, AddressPolicy()))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield client
    await redis.aclose()


async def test_register_list_pause_resume_remove(api: httpx.AsyncClient) -> None:
    body = {
        "url": FEED + "?utm_source=x",
        "name": "example.org",
        "interval_s": 300,
        "language": "en",
        "categories": ["world", "politics"],
    }
    assert (await api.post("/v1/sources", json=body)).status_code == 401
    created = await api.post("/v1/sources", json=body, headers={"X-API-Key": KEY})
    assert created.status_code == 201, created.text
    source = created.json()
    assert source["id"] == source_id(FEED)
    assert source["categories"] == ["world", "politics"]
    assert source["health"]["status"] == "pending"
    assert source["health"]["articles_24h"] == 0

    # The same feed (up to tracking parameters and scheme) is one source.
    again = await api.post(
        "/v1/sources",
        json={**body, "url": "http://news.example.org/rss.xml"},
        headers={"X-API-Key": KEY},
    )
    assert again.status_code == 409 and again.json()["detail"]["id"] == source["id"]

    # Reads need the key too (a source's health says what the poller reached).
    assert (await api.get("/v1/sources")).status_code == 401
    assert (await api.get(f"/v1/sources/{source['id']}")).status_code == 401
    listed = (await api.get("/v1/sources", headers={"X-API-Key": KEY})).json()
    assert [s["id"] for s in listed] == [source["id"]]
    one = await api.get(f"/v1/sources/{source['id']}", headers={"X-API-Key": KEY})
    assert one.status_code == 200 and one.json()["name"] == "example.org"

    paused = await api.post(f"/v1/sources/{source['id']}/pause", headers={"X-API-Key": KEY})
    assert paused.json()["paused"] is True and paused.json()["health"]["status"] == "paused"
    resumed = await api.post(f"/v1/sources/{source['id']}/resume", headers={"X-API-Key": KEY})
    assert resumed.json()["paused"] is False

    assert (await api.delete(f"/v1/sources/{source['id']}")).status_code == 401
    gone = await api.delete(f"/v1/sources/{source['id']}", headers={"X-API-Key": KEY})
    assert gone.status_code == 204
    gone_one = await api.get(f"/v1/sources/{source['id']}", headers={"X-API-Key": KEY})
    assert gone_one.status_code == 404
    assert (
        await api.delete(f"/v1/sources/{source['id']}", headers={"X-API-Key": KEY})
    ).status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [("url", "ftp://x.org/feed"), ("interval_s", 0), ("language", "English"), ("name", "")],
)
async def test_invalid_sources_are_422_with_the_field(
    api: httpx.AsyncClient, field: str, value: object
) -> None:
    body = {"url": FEED, "name": "n", field: value}
    response = await api.post("/v1/sources", json=body, headers={"X-API-Key": KEY})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field


def test_cli_add_list_pause_remove(ns: str) -> None:
    runner = CliRunner()
    env = {"NEWSFLOW_NAMESPACE": ns, "NEWSFLOW_REDIS_URL": REDIS_URL}
    added = runner.invoke(
        sources_app,
        ["add", FEED, "--name", "Example News", "--interval", "10m", "--category", "world"],
        env=env,
    )
    assert added.exit_code == 0, added.output
    sid = added.output.strip()
    assert sid == source_id(FEED)
    twice = runner.invoke(sources_app, ["add", FEED, "--name", "Other"], env=env)
    assert twice.exit_code == 1 and "already registered" in twice.output

    listed = runner.invoke(sources_app, ["list"], env=env)
    assert listed.exit_code == 0 and "Example News" in listed.output and "pending" in listed.output
    assert "10m" in listed.output

    assert runner.invoke(sources_app, ["pause", "Example News"], env=env).exit_code == 0
    as_json = runner.invoke(sources_app, ["list", "--json"], env=env)
    assert '"paused":true' in as_json.output
    assert runner.invoke(sources_app, ["resume", sid], env=env).exit_code == 0
    removed = runner.invoke(sources_app, ["remove", sid], env=env)
    assert removed.exit_code == 0 and "removed" in removed.output
    missing = runner.invoke(sources_app, ["remove", sid], env=env)
    assert missing.exit_code == 1 and "no source" in missing.output


def test_cli_refuses_bad_input(ns: str) -> None:
    runner = CliRunner()
    env = {"NEWSFLOW_NAMESPACE": ns, "NEWSFLOW_REDIS_URL": REDIS_URL}
    bad = runner.invoke(sources_app, ["add", "not a url", "--name", "x"], env=env)
    assert bad.exit_code == 1 and "url" in bad.output
