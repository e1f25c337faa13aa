"""Following feeds end to end on the real stack: the poller process reads an
RSS feed, an Atom feed and a news sitemap from a local web site, and their
articles travel through the cleaning, entities and indexer workers (separate
processes, over Kafka) into Elasticsearch, with the feeds' metadata; a broken
feed backs off and shows its error while the others keep flowing."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from shared.contracts.ids import article_id
from tests.conftest import ES_URL, REPO, Service, free_port, service_env, wait_until
from tests.feeds.server import (
    FeedSite,
    Item,
    Route,
    atom,
    eval_pages,
    html_page,
    news_sitemap,
    rss,
)

pytestmark = pytest.mark.integration

API_KEY = "feeds-key-" + uuid.uuid4().hex[:8]
T0 = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
ROBOTS = b"User-agent: *\nDisallow: /private/\n"


@dataclass
class Story:
    """An article the site publishes and a feed lists."""

    path: str  # where the page is served
    title: str  # the feed's title for it (the page says otherwise)
    published: datetime
    author: str | None = None
    listed_as: str | None = None  # the link in the feed, if not the page's URL

    def item(self, site: FeedSite) -> Item:
        return Item(site.url(self.listed_as or self.path), self.title, self.published, self.author)


@dataclass
class Feeds:
    ns: str
    site: FeedSite
    api: httpx.Client
    es: Elasticsearch
    env: dict[str, str]
    services: list[Service]
    poller_web: str
    sources: dict[str, str] = field(default_factory=dict)  # name -> id
    stories: dict[str, list[Story]] = field(default_factory=dict)  # feed name -> stories

    def doc(self, path: str) -> dict[str, Any] | None:
        aid = article_id(self.site.url(path))
        found = self.es.options(ignore_status=(404, 503)).search(
            index=f"{self.ns}articles", query={"ids": {"values": [aid]}}
        )
        hits = found.get("hits", {}).get("hits", [])
        return hits[0]["_source"] if hits else None

    def wait_indexed(self, path: str, timeout: float) -> dict[str, Any]:
        try:
            return wait_until(lambda: self.doc(path), timeout, f"{path} indexed")  # type: ignore[return-value]
        except AssertionError as exc:
            logs = "\n".join(f"--- {s.name}\n{s.log_tail(12)}" for s in self.services)
            raise AssertionError(f"{exc}\n{logs}") from None

    def source(self, name: str) -> dict[str, Any]:
        response = self.api.get(f"/v1/sources/{self.sources[name]}")
        assert response.status_code == 200, response.text
        return response.json()

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "services.console.cli", *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


def publish(site: FeedSite, stories: dict[str, list[Story]], etag: str = '"1"') -> None:
    """Serve the feeds listing these stories."""
    site.set(
        "/feeds/rss.xml",
        Route(
            rss([s.item(site) for s in stories["rss"]]),
            content_type="application/rss+xml",
            etag=etag,
        ),
    )
    site.set(
        "/feeds/atom.xml",
        Route(
            atom([s.item(site) for s in stories["atom"]]),
            content_type="application/atom+xml",
            last_modified="Wed, 01 May 2024 08:00:00 GMT",
        ),
    )
    # No validators on the sitemap: each poll is a 200, known URLs stop refetches.
    site.set(
        "/feeds/news-sitemap.xml",
        Route(
            news_sitemap([s.item(site) for s in stories["sitemap"]]), content_type="application/xml"
        ),
    )


@pytest.fixture(scope="module")
def feeds(namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Feeds]:
    site = FeedSite()
    real = eval_pages(3)
    for i, page in enumerate(real):
        site.set(f"/news/e{i}.html", Route(page))
    for i in range(3):
        site.set(f"/news/s{i}.html", Route(html_page(f"A summit number {i} in Berlin")))
    site.set("/private/p.html", Route(html_page("Not for robots")))
    site.set("/robots.txt", Route(ROBOTS, content_type="text/plain"))
    site.set(
        "/feeds/broken.xml", Route(b"down for maintenance", status=500, content_type="text/plain")
    )
    hour = timedelta(hours=1)
    stories = {
        "rss": [
            Story(
                "/news/e0.html",
                "Feed title of e0",
                T0,
                None,
                "/news/e0.html?utm_source=rss&utm_medium=feed",
            ),
            Story("/news/s0.html", "Feed title of s0", T0 + hour, "Feed Author Zero"),
            Story("/private/p.html", "Private", T0 + 2 * hour),
        ],
        "atom": [
            Story("/news/e1.html", "Feed title of e1", T0 + 3 * hour),
            Story("/news/s1.html", "Feed title of s1", T0 + 4 * hour, "Feed Author One"),
        ],
        "sitemap": [Story("/news/e2.html", "Feed title of e2", T0 + 5 * hour)],
    }
    publish(site, stories)

    logs = tmp_path_factory.mktemp("feeds-logs")
    port = free_port()
    env = service_env(
        namespace,
        NEWSFLOW_INGESTION_API_KEYS=API_KEY,
        NEWSFLOW_POLLER_MIN_INTERVAL_S="1",
        NEWSFLOW_POLLER_TICK_S="0.2",
        NEWSFLOW_POLLER_HOST_DELAY_S="0.05",
        NEWSFLOW_POLLER_TIMEOUT_S="3",
        NEWSFLOW_POLLER_BACKOFF_MAX_S="60",
        # The site is on 127.0.0.1 and localhost: internal addresses, which the
        # poller (and source registration, API and CLI) refuse unless allowed.
        NEWSFLOW_POLLER_ALLOWED_NETWORKS="127.0.0.0/8,::1/128",
    )
    services = [Service("ingestion", ["api", "ingestion", "--port", str(port)], env, logs)]
    for stage in ("cleaning", "entities", "stories", "indexer"):
        services.append(
            Service(stage, ["worker", stage, "--web-port", str(free_port())], env, logs)
        )
    poller_port = free_port()
    services.append(Service("poller", ["poller", "--web-port", str(poller_port)], env, logs))
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", timeout=30, headers={"X-API-Key": API_KEY}
    )
    made = Feeds(
        namespace,
        site,
        api,
        Elasticsearch(ES_URL),
        env,
        services,
        f"http://127.0.0.1:{poller_port}",
        stories=stories,
    )
    try:
        wait_until(lambda: api.get("/healthz").status_code == 200, 60, "the ingestion API")
        yield made
    finally:
        for service in services:
            service.stop()
        api.close()
        made.es.close()
        site.close()


def test_feed_entries_become_searchable_with_the_feeds_metadata(feeds: Feeds) -> None:
    site = feeds.site
    # The poller says when it is ready: Kafka connected, and it holds the lease.
    wait_until(
        lambda: httpx.get(f"{feeds.poller_web}/readyz").status_code == 200, 60, "the poller ready"
    )
    assert httpx.get(f"{feeds.poller_web}/healthz").json() == {"status": "ok"}
    # One source through the CLI, the others through the API.
    out = feeds.cli(
        "sources",
        "add",
        site.url("/feeds/rss.xml"),
        "--name",
        "rss.example",
        "--interval",
        "1s",
        "--language",
        "en",
        "--category",
        "world",
    )
    feeds.sources["rss"] = out.strip()
    for name, path, host in (
        ("atom", "/feeds/atom.xml", "127.0.0.1"),
        ("sitemap", "/feeds/news-sitemap.xml", "127.0.0.1"),
        ("broken", "/feeds/broken.xml", "localhost"),
    ):
        response = feeds.api.post(
            "/v1/sources",
            json={"url": site.url(path, host), "name": f"{name}.example", "interval_s": 1},
        )
        assert response.status_code == 201, response.text
        feeds.sources[name] = response.json()["id"]

    started = time.monotonic()
    for name in ("rss", "atom", "sitemap"):
        for story in feeds.stories[name]:
            if story.path.startswith("/private/"):
                continue
            doc = feeds.wait_indexed(story.path, timeout=120)
            # The feed's metadata won over what the page says about itself.
            assert doc["title"] == story.title
            assert datetime.fromisoformat(doc["published_at"]) == story.published
            assert doc["source"] == f"{name}.example"
            # The link as the feed gave it (the id ignores its tracking parameters).
            assert doc["url"] == site.url(story.listed_as or story.path)
            assert doc["body"] and doc["word_count"] > 50
            if story.author:
                assert doc["authors"] == [story.author]
    print(f"feeds: first articles searchable in {time.monotonic() - started:.1f}s")
    assert feeds.doc("/news/e0.html")["language"] == "en"  # type: ignore[index]
    # Robots.txt said no: the page was never requested, let alone indexed.
    assert site.hits_for("/private/") == []
    assert feeds.doc("/private/p.html") is None

    health = feeds.source("rss")["health"]
    assert health["status"] == "ok" and health["articles_24h"] == 2
    assert health["kind"] == "rss" and health["last_success_at"]
    assert feeds.source("rss")["categories"] == ["world"]


def test_a_second_poll_fetches_nothing_new(feeds: Feeds) -> None:
    site = feeds.site
    seen = {
        name: len(site.hits_for(f"/feeds/{f}"))
        for name, f in (("rss", "rss.xml"), ("atom", "atom.xml"), ("sitemap", "news-sitemap.xml"))
    }
    wait_until(
        lambda: all(
            len(site.hits_for(f"/feeds/{f}")) >= seen[n] + 2
            for n, f in (("rss", "rss.xml"), ("atom", "atom.xml"), ("sitemap", "news-sitemap.xml"))
        ),
        20,
        "two more polls of every feed",
    )
    assert site.hits_for("/feeds/rss.xml")[-1].status == 304  # ETag
    assert site.hits_for("/feeds/atom.xml")[-1].status == 304  # Last-Modified
    assert site.hits_for("/feeds/news-sitemap.xml")[-1].status == 200  # no validators
    for path in (
        "/news/e0.html",
        "/news/e1.html",
        "/news/e2.html",
        "/news/s0.html",
        "/news/s1.html",
    ):
        assert len(site.hits_for(path)) == 1, path
    assert feeds.source("rss")["health"]["last_status"] == "304"


def test_a_tracking_variant_is_not_fetched_twice(feeds: Feeds) -> None:
    site = feeds.site
    stories = feeds.stories
    stories["rss"] = [
        Story(
            "/news/e0.html",
            "Feed title of e0",
            T0,
            None,
            "/news/e0.html?utm_source=newsletter&utm_campaign=may#comments",
        ),
        Story("/news/s2.html", "Feed title of s2", T0 + 6 * timedelta(hours=1), "Feed Author Two"),
        *stories["rss"][1:],
    ]
    publish(site, stories, etag='"2"')
    doc = feeds.wait_indexed("/news/s2.html", timeout=30)
    assert doc["authors"] == ["Feed Author Two"]
    assert len(site.hits_for("/news/e0.html")) == 1
    assert len(site.hits_for("/news/s2.html")) == 1


def test_a_failing_source_backs_off_and_shows_its_error(feeds: Feeds) -> None:
    site = feeds.site
    broken = feeds.source("broken")["health"]
    assert broken["status"] == "failing"
    assert "HTTP 500" in broken["last_error"] and broken["consecutive_failures"] >= 2
    # Exponential backoff: each wait longer than the one before (1 s interval:
    # about 2 s, 4 s, 8 s), while the other feeds were polled every second.
    wait_until(
        lambda: len(site.hits_for("/feeds/broken.xml")) >= 4, 30, "four attempts at the broken feed"
    )
    starts = [h.started for h in site.hits_for("/feeds/broken.xml")]
    waits = [b - a for a, b in itertools.pairwise(starts)]
    assert all(later > earlier * 1.4 for earlier, later in itertools.pairwise(waits)), waits
    assert waits[0] >= 1.7
    assert len(site.hits_for("/feeds/rss.xml")) > 2 * len(starts)
    assert feeds.source("rss")["health"]["status"] == "ok"
    listing = feeds.cli("sources", "list")
    assert "broken.example" in listing and "failing" in listing and "HTTP 500" in listing


def test_paused_and_removed_sources_are_not_polled(feeds: Feeds) -> None:
    atom_id, sitemap_id = feeds.sources["atom"], feeds.sources["sitemap"]
    paused = feeds.api.post(f"/v1/sources/{atom_id}/pause")
    assert paused.status_code == 200 and paused.json()["health"]["status"] == "paused"
    assert feeds.api.delete(f"/v1/sources/{sitemap_id}").status_code == 204
    time.sleep(0.5)  # a poll in flight may finish

    def polls() -> tuple[int, int]:
        return (
            len(feeds.site.hits_for("/feeds/atom.xml")),
            len(feeds.site.hits_for("/feeds/news-sitemap.xml")),
        )

    before = polls()
    time.sleep(2.5)  # the interval is 1 s
    assert polls() == before
    assert feeds.api.get(f"/v1/sources/{sitemap_id}").status_code == 404
    assert feeds.source("atom")["health"]["status"] == "paused"


def test_the_poller_stops_cleanly_on_sigterm(feeds: Feeds) -> None:
    poller = next(s for s in feeds.services if s.name == "poller")
    assert poller.stop(timeout=30) == 0, poller.log_tail()
