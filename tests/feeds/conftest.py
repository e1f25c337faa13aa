"""Fixtures of the feed tests: a local web site, and a poller wired to a
real Redis in a fresh namespace with a fake article sink (no Kafka needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from services.feeds.fetch import Fetcher
from services.feeds.poller import Poller
from services.feeds.registry import Source, SourceIn, SourceRegistry
from services.feeds.settings import PollerSettings
from services.ingestion.core import ArticleAccepted, ArticleIn, Unavailable
from shared.contracts.ids import article_id
from shared.runtime.netguard import Resolver
from tests.conftest import REDIS_URL, _delete_redis_namespace, new_namespace
from tests.feeds.server import FeedSite


class FakeSink:
    """Stands in for the Ingestor: same answers, same dedup by id."""

    def __init__(self) -> None:
        self.articles: list[ArticleIn] = []
        self.ids: set[str] = set()
        self.down = False

    async def accept(self, articles: list[ArticleIn], reprocess: bool) -> list[ArticleAccepted]:
        if self.down:
            raise Unavailable("Kafka unavailable, retry later")
        answers = []
        for article in articles:
            aid = article_id(str(article.url))
            duplicate = aid in self.ids
            self.ids.add(aid)
            if not duplicate:
                self.articles.append(article)
            answers.append(
                ArticleAccepted(article_id=aid, status="duplicate" if duplicate else "accepted")
            )
        return answers

    def by_path(self) -> dict[str, ArticleIn]:
        from urllib.parse import urlsplit

        return {urlsplit(str(a.url)).path: a for a in self.articles}


@dataclass
class Rig:
    site: FeedSite
    registry: SourceRegistry
    sink: FakeSink
    settings: PollerSettings
    fetcher: Fetcher
    poller: Poller
    others: list[Fetcher]

    async def add(
        self, path: str, name: str = "example.org", host: str = "127.0.0.1", **fields: Any
    ) -> Source:
        return await self.registry.add(SourceIn(url=self.site.url(path, host), name=name, **fields))

    def with_settings(self, **overrides: Any) -> Rig:
        """Another poller over the same site, Redis namespace and sink."""
        settings = self.settings.model_copy(update=overrides)
        fetcher = Fetcher(settings)
        self.others.append(fetcher)  # closed with the rig
        poller = Poller(settings, self.registry, self.sink, fetcher)
        return Rig(self.site, self.registry, self.sink, settings, fetcher, poller, self.others)


@pytest.fixture
def site() -> Iterator[FeedSite]:
    web = FeedSite()
    yield web
    web.close()


def poller_settings(ns: str, **overrides: Any) -> PollerSettings:
    values: dict[str, Any] = {
        "namespace": ns,
        "redis_url": REDIS_URL,
        "host_delay_s": 0.05,
        "min_interval_s": 0.01,
        "timeout_s": 1.0,
        "connect_timeout_s": 1.0,
        "backoff_max_s": 600.0,
        "tick_s": 0.1,
        # The test site is on 127.0.0.1 (and localhost): internal addresses
        # the poller refuses unless told otherwise, as here.
        "allowed_networks": ("127.0.0.0/8", "::1/128"),
    }
    values.update(overrides)
    return PollerSettings(**values)


@asynccontextmanager
async def make_rig(
    site: FeedSite, resolver: Resolver | None = None, **overrides: Any
) -> AsyncIterator[Rig]:
    """A poller over `site` in a fresh Redis namespace, settings overridden
    (validated) and DNS optionally replaced: the `rig` fixture, and the
    variants tests/security builds (no allow-list, fake public names)."""
    ns = new_namespace()
    redis = Redis.from_url(REDIS_URL)
    settings = poller_settings(ns, **overrides)
    fetcher = Fetcher(settings, resolver)
    registry = SourceRegistry(redis, ns)
    sink = FakeSink()
    made = Rig(
        site, registry, sink, settings, fetcher, Poller(settings, registry, sink, fetcher), []
    )
    try:
        yield made
    finally:
        for client in [fetcher, *made.others]:
            await client.aclose()
        await redis.aclose()
        _delete_redis_namespace(ns)


@pytest.fixture
async def rig(stack: None, site: FeedSite) -> AsyncIterator[Rig]:
    async with make_rig(site) as made:
        yield made
