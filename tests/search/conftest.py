"""Fixtures of the search tests that run on the judged corpus (the samples,
cleaned, plus tests/search/fixtures/supplement.json): indexed through the
indexer's own path into a namespace of the module, searched through the
app in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio
from elasticsearch import AsyncElasticsearch
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from redis.asyncio import Redis

from services.search.app import create_app
from shared.contracts.index import alias_name, ensure_index, to_document
from shared.contracts.models import EnrichedArticleV1
from shared.runtime.settings import SearchSettings
from tests.search.browser import CHROMIUM, CHROMIUM_ARGS
from tests.search.corpus import drop_namespace
from tests.search.samples import judged_corpus

module_fixture = pytest_asyncio.fixture(scope="module", loop_scope="module")


@pytest.fixture(scope="module")
def samples() -> dict[str, EnrichedArticleV1]:
    """The judged corpus by key (cleaned once per test process)."""
    return judged_corpus()


@pytest.fixture(scope="module")
def samples_settings(stack: None) -> SearchSettings:
    return SearchSettings(
        namespace=f"test-{uuid4().hex[:8]}-",
        cache_ttl_s=0,
        rate_limit_requests=0,
        max_concurrent_per_client=0,
    )


async def index_articles(
    es: AsyncElasticsearch, namespace: str, articles: list[EnrichedArticleV1]
) -> None:
    await ensure_index(es, namespace)
    operations: list[dict[str, Any]] = []
    for article in articles:
        document = to_document(article)
        document["indexed_at"] = datetime.now(UTC).isoformat()
        operations += [
            {"index": {"_index": alias_name(namespace), "_id": article.article_id}},
            document,
        ]
    response = await es.bulk(operations=operations, refresh="wait_for")
    assert not response["errors"], [i for i in response["items"] if i["index"].get("error")][:2]


@module_fixture
async def samples_api(
    samples: dict[str, EnrichedArticleV1], samples_settings: SearchSettings
) -> AsyncIterator[httpx.AsyncClient]:
    es = AsyncElasticsearch(samples_settings.es_url, request_timeout=60)
    redis = Redis.from_url(samples_settings.redis_dsn)
    app = create_app(samples_settings)
    try:
        await index_articles(es, samples_settings.namespace, list(samples.values()))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://search") as client:
                yield client
    finally:
        await drop_namespace(es, redis, samples_settings.namespace)
        await es.close()
        await redis.aclose()


# ----------------------------------------------------------------- browser
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page that fails the test on any script error or console error
    (a CSP violation would be one)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    page.on("console", on_console)
    yield page
    context.close()
    assert not problems, problems
