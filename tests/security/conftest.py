"""Fixtures of the search security tests: an index holding ordinary articles
and hostile documents written straight to Elasticsearch, and the search app
in-process (httpx over ASGI, lifespan entered by hand) in its own namespace.

The response cache is off, so every request reaches Elasticsearch (a cached
answer would hide a failure); the rate limits are off except where a test is
about them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI
from redis.asyncio import Redis

from services.search.app import create_app
from shared.runtime.settings import SearchSettings
from tests.search.corpus import drop_namespace, index_corpus
from tests.search.hostile import hostile_documents, synthetic_corpus, write_raw

module_fixture = pytest_asyncio.fixture(scope="module", loop_scope="module")


@pytest.fixture(scope="module")
def search_settings(stack: None) -> SearchSettings:
    return SearchSettings(
        namespace=f"test-{uuid4().hex[:8]}-",
        cache_ttl_s=0,
        rate_limit_requests=0,
        max_concurrent_per_client=0,
    )


@module_fixture
async def search_index(search_settings: SearchSettings) -> AsyncIterator[str]:
    """The namespace, with ordinary and hostile documents indexed."""
    es = AsyncElasticsearch(search_settings.es_url, request_timeout=60)
    redis = Redis.from_url(search_settings.redis_dsn)
    try:
        await index_corpus(es, search_settings.namespace, synthetic_corpus())
        await write_raw(es, search_settings.namespace, hostile_documents())
        yield search_settings.namespace
    finally:
        await drop_namespace(es, redis, search_settings.namespace)
        await es.close()
        await redis.aclose()


async def app_client(
    app: FastAPI, client: tuple[str, int] = ("127.0.0.1", 40000)
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` in-process, seen by the app as coming from `client`."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://search") as http:
            yield http


@module_fixture
async def search_api(
    search_index: str, search_settings: SearchSettings
) -> AsyncIterator[httpx.AsyncClient]:
    async for http in app_client(create_app(search_settings)):
        yield http
