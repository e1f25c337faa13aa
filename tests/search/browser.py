"""Browser test plumbing: the app served by uvicorn in a thread, Debian's
Chromium driven by Playwright, and page helpers (shared by test_ui*.py)."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import uuid4

import uvicorn
from elasticsearch import AsyncElasticsearch
from playwright.sync_api import Page
from redis.asyncio import Redis

from services.search.app import create_app
from shared.runtime.settings import SearchSettings
from tests.search.corpus import drop_namespace

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedApp:
    """uvicorn in a thread, on a free port, for the browser to reach."""

    def __init__(self, settings: SearchSettings) -> None:
        self.port = _free_port()
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_indexed(
    index: Callable[[AsyncElasticsearch, str], Coroutine[Any, Any, None]],
    **settings: Any,
) -> Iterator[str]:
    """Index a corpus into a fresh namespace with `index(es, namespace)`,
    serve the app for it, yield its URL; everything is deleted at the end."""
    config = SearchSettings(namespace=f"test-{uuid4().hex[:8]}-", cache_ttl_s=2, **settings)

    async def with_clients(action: str) -> None:
        es = AsyncElasticsearch(config.es_url, request_timeout=60)
        redis = Redis.from_url(config.redis_dsn)
        try:
            if action == "index":
                await index(es, config.namespace)
            else:
                await drop_namespace(es, redis, config.namespace)
        finally:
            await es.close()
            await redis.aclose()

    # In a thread of its own: sync Playwright keeps an event loop running in
    # this one, where asyncio.run() is not allowed.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, with_clients("index")).result()
        try:
            with ServedApp(config) as served:
                yield served.url
        finally:
            pool.submit(asyncio.run, with_clients("drop")).result()


def shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"search-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")
    return path


def summary_total(page: Page) -> int:
    text = page.locator("#summary strong").inner_text()
    return int(re.sub(r"\D", "", text))


def facet_counts_on_page(page: Page, facet: str) -> dict[str, int]:
    items = page.locator(f'.facet[data-facet="{facet}"] .facet-item label')
    counts = {}
    for i in range(items.count()):
        label = items.nth(i)
        value = label.locator(".facet-value").text_content() or ""
        counts[value] = int(re.sub(r"\D", "", label.locator(".facet-count").text_content() or "0"))
    return counts


# Every EventSource a page makes, to see which are open (readyState 2: closed);
# add it with ``page.context.add_init_script(TRACK_STREAMS)`` before the page loads.
TRACK_STREAMS = """
(() => {
  const Original = window.EventSource;
  window.__streams = [];
  window.EventSource = class extends Original {
    constructor(...args) { super(...args); window.__streams.push(this); }
  };
})();
"""


def open_streams(page: Page) -> list[str]:
    """URLs of the page's EventSources still open (needs ``TRACK_STREAMS``)."""
    return list(
        page.evaluate("() => window.__streams.filter(s => s.readyState !== 2).map(s => s.url)")
    )
