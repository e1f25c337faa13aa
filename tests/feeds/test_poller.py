"""The poller against a local web site and the real Redis (articles go to a
fake sink, so no Kafka): what it fetches, what it sends, and what it
refuses to do."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from services.feeds.fetch import Fetcher
from services.feeds.poller import Poller
from tests.feeds.conftest import Rig
from tests.feeds.server import (
    Item,
    Route,
    atom,
    gaps,
    html_page,
    news_sitemap,
    overlapping,
    rss,
    sitemap_index,
)

pytestmark = pytest.mark.integration

RSS = "application/rss+xml"
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
WHEN = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def serve_pages(rig: Rig, *paths: str) -> None:
    for path in paths:
        rig.site.set(path, Route(html_page(f"Story at {path}")))


def item(rig: Rig, path: str, n: int = 0, **kwargs: object) -> Item:
    return Item(rig.site.url(path), f"Title {path}", WHEN - timedelta(hours=n), **kwargs)  # type: ignore[arg-type]


async def test_new_entries_are_fetched_once_and_sent_with_the_feeds_hints(rig: Rig) -> None:
    site = rig.site
    site.set("/robots.txt", Route(ROBOTS, content_type="text/plain"))
    serve_pages(rig, "/a/1.html", "/a/2.html", "/a/3.html", "/private/secret.html")
    items = [
        Item(
            site.url("/a/1.html?utm_source=rss&utm_campaign=feed"), "First title", WHEN, "Ann Lee"
        ),
        Item(site.url("/a/2.html#comments"), "Second title", WHEN - timedelta(hours=1)),
        Item(site.url("/private/secret.html"), "Secret", WHEN),
    ]
    site.set("/rss.xml", Route(rss(items), content_type=RSS, etag='"v1"'))
    source = await rig.add("/rss.xml", language="fr")

    first = await rig.poller.poll(source)
    assert (first.status, first.new_entries, first.sent, first.disallowed) == ("200", 3, 2, 1)
    sent = rig.sink.by_path()
    assert set(sent) == {"/a/1.html", "/a/2.html"}
    one = sent["/a/1.html"]
    assert (one.title, one.author, one.published_at) == ("First title", "Ann Lee", WHEN)
    assert one.source == "example.org" and one.language == "fr"
    assert one.html and "Story at /a/1.html" in one.html
    assert str(sent["/a/2.html"].url).endswith("/a/2.html")  # fragment dropped

    # Unchanged feed: a conditional request, answered 304, and nothing fetched.
    second = await rig.poller.poll(source)
    assert (second.status, second.sent) == ("304", 0)
    assert site.hits_for("/rss.xml")[-1].headers.get("If-None-Match") == '"v1"'

    # The feed changes: a new entry, and the first one again with other tracking.
    items += [
        Item(site.url("/a/1.html?utm_medium=email#top"), "First title again", WHEN),
        Item(site.url("/a/3.html"), "Third", WHEN + timedelta(hours=1)),
    ]
    site.set("/rss.xml", Route(rss(items), content_type=RSS, etag='"v2"'))
    third = await rig.poller.poll(source)
    assert (third.status, third.new_entries, third.sent) == ("200", 1, 1)
    # A request is logged just after its answer is sent: give the log its moment.
    for _ in range(100):
        if site.hits_for("/a/3.html"):
            break
        await asyncio.sleep(0.02)
    assert [len(site.hits_for(p)) for p in ("/a/1.html", "/a/2.html", "/a/3.html")] == [1, 1, 1]
    assert site.hits_for("/private/") == []

    state = await rig.registry.state(source.id)
    assert state.failures == 0 and state.last_success_at and state.etag == '"v2"'
    assert state.kind == "rss" and state.feed_title == "Test feed"
    assert (await rig.registry.sent_last_24h([source.id]))[source.id] == 3


async def test_last_modified_is_used_when_there_is_no_etag(rig: Rig) -> None:
    serve_pages(rig, "/a/1.html")
    stamp = "Wed, 01 May 2024 08:00:00 GMT"
    rig.site.set(
        "/rss.xml", Route(rss([item(rig, "/a/1.html")]), content_type=RSS, last_modified=stamp)
    )
    source = await rig.add("/rss.xml")
    assert (await rig.poller.poll(source)).sent == 1
    assert (await rig.poller.poll(source)).status == "304"
    assert rig.site.hits_for("/rss.xml")[-1].headers.get("If-Modified-Since") == stamp


async def test_atom_news_sitemap_and_sitemap_index(rig: Rig) -> None:
    serve_pages(rig, "/atom/1.html", "/news/1.html", "/news/2.html", "/old/1.html")
    rig.site.set(
        "/atom.xml",
        Route(
            atom([item(rig, "/atom/1.html", author="Bo Ek")]), content_type="application/atom+xml"
        ),
    )
    # No validators on the sitemaps: every poll is a 200, and known URLs stop refetches.
    rig.site.set(
        "/news.xml",
        Route(
            news_sitemap([item(rig, "/news/1.html"), item(rig, "/news/2.html", 1)]),
            content_type="application/xml",
        ),
    )
    rig.site.set(
        "/old.xml", Route(news_sitemap([item(rig, "/old/1.html")]), content_type="application/xml")
    )
    rig.site.set(
        "/index.xml",
        Route(
            sitemap_index(
                [
                    (rig.site.url("/old.xml"), "2024-01-01"),
                    (rig.site.url("/news.xml"), "2024-05-01"),
                ]
            ),
            content_type="application/xml",
        ),
    )
    feed = await rig.add("/atom.xml", name="atom.example")
    index = await rig.add("/index.xml", name="index.example")
    small = rig.with_settings(max_child_sitemaps=1)

    assert (await small.poller.poll(feed)).sent == 1
    assert (await small.poller.poll(index)).sent == 2  # the newest child sitemap only
    assert rig.site.hits_for("/old.xml") == []
    sent = rig.sink.by_path()
    assert sent["/atom/1.html"].author == "Bo Ek"
    assert sent["/news/1.html"].title == "Title /news/1.html"
    assert sent["/news/1.html"].language == "en"
    assert (await rig.registry.state(index.id)).kind == "sitemap-index"

    again = await small.poller.poll(index)
    assert (again.status, again.new_entries, again.sent) == ("200", 0, 0)
    assert len(rig.site.hits_for("/news/1.html")) == 1


async def test_one_request_at_a_time_per_host_with_a_pause(rig: Rig) -> None:
    paths = [f"/p/{i}.html" for i in range(6)]
    for path in paths:
        rig.site.set(path, Route(html_page(path), delay_s=0.05))
    rig.site.set(
        "/rss.xml", Route(rss([item(rig, p, i) for i, p in enumerate(paths[:3])]), content_type=RSS)
    )
    rig.site.set(
        "/rss2.xml",
        Route(rss([item(rig, p, i) for i, p in enumerate(paths[3:])]), content_type=RSS),
    )
    polite = rig.with_settings(host_delay_s=0.2)
    one = await polite.add("/rss.xml", name="one")
    two = await polite.add("/rss2.xml", name="two")
    # Two sources of one host polled at once still share the host's gate.
    reports = await asyncio.gather(polite.poller.poll(one), polite.poller.poll(two))
    assert sum(r.sent for r in reports) == 6
    hits = [h for h in rig.site.hits if h.host.startswith("127.0.0.1")]
    assert len(hits) == 9  # robots.txt, two feeds, six pages
    assert overlapping(hits) == []
    assert min(gaps(hits)) >= 0.19


async def test_a_failing_source_backs_off_then_recovers(rig: Rig) -> None:
    rig.site.set("/broken.xml", Route(b"oops", status=500, content_type="text/plain"))
    source = await rig.add("/broken.xml", interval_s=60)
    delays = []
    for failures in (1, 2, 3):
        started = time.time()
        report = await rig.poller.poll(source)
        state = await rig.registry.state(source.id)
        assert report.status == "error" and state.failures == failures
        assert state.last_error and "HTTP 500" in state.last_error
        assert state.last_status == "500"
        assert state.next_poll_at is not None
        delays.append(state.next_poll_at - started)
    # 2x, 4x, 8x the interval, give or take the 10% jitter.
    for delay, factor in zip(delays, (2, 4, 8), strict=True):
        assert 60 * factor * 0.89 <= delay <= 60 * factor * 1.11 + 1, delays

    serve_pages(rig, "/a/1.html")
    rig.site.set("/broken.xml", Route(rss([item(rig, "/a/1.html")]), content_type=RSS))
    assert (await rig.poller.poll(source)).sent == 1
    state = await rig.registry.state(source.id)
    assert state.failures == 0 and state.last_success_at is not None
    assert state.last_error_at is not None  # the last error stays visible, with its time


async def test_retry_after_and_timeouts(rig: Rig) -> None:
    rig.site.set("/busy.xml", Route(b"", status=503, headers={"Retry-After": "900"}))
    rig.site.set("/slow.xml", Route(rss([]), content_type=RSS, delay_s=1.5))
    busy = await rig.add("/busy.xml", interval_s=60)
    slow = await rig.add("/slow.xml", interval_s=60, host="localhost")
    started = time.time()
    await rig.poller.poll(busy)
    busy_state = await rig.registry.state(busy.id)
    assert busy_state.next_poll_at is not None and busy_state.next_poll_at - started >= 900
    report = await rig.poller.poll(slow)
    assert report.status == "error" and report.error and "timed out" in report.error


async def test_robots_txt_can_forbid_the_feed_itself(rig: Rig) -> None:
    rig.site.set(
        "/robots.txt", Route(b"User-agent: NewsflowBot\nDisallow: /\n", content_type="text/plain")
    )
    rig.site.set("/rss.xml", Route(rss([]), content_type=RSS))
    source = await rig.add("/rss.xml")
    report = await rig.poller.poll(source)
    assert report.status == "error" and report.error and "robots.txt" in report.error
    assert rig.site.hits_for("/rss.xml") == []


async def test_an_unreachable_robots_txt_means_wait(rig: Rig) -> None:
    rig.site.set("/robots.txt", Route(b"", status=503))
    rig.site.set("/rss.xml", Route(rss([]), content_type=RSS))
    source = await rig.add("/rss.xml")
    assert (await rig.poller.poll(source)).status == "error"
    assert rig.site.hits_for("/rss.xml") == []


async def test_pages_wait_while_their_hosts_robots_txt_is_unreachable(rig: Rig) -> None:
    # The feed is on 127.0.0.1; its article on localhost, whose robots.txt fails.
    rig.site.set("/robots.txt", Route(b"", status=500), host="localhost")
    serve_pages(rig, "/a/1.html")
    page = Item(rig.site.url("/a/1.html", "localhost"), "Title", WHEN)
    rig.site.set("/rss.xml", Route(rss([page]), content_type=RSS, etag='"r"'))
    fresh_robots = rig.with_settings(robots_ttl_s=0)
    source = await fresh_robots.add("/rss.xml")
    first = await fresh_robots.poller.poll(source)
    assert (first.status, first.sent, first.deferred, first.disallowed) == ("200", 0, 1, 0)
    # Not a verdict: once robots.txt is readable, the page is fetched.
    rig.site.set("/robots.txt", Route(b"User-agent: *\nAllow: /\n"), host="localhost")
    second = await fresh_robots.poller.poll(source)
    assert (second.status, second.sent) == ("200", 1)


async def test_redirects_are_followed_hop_by_hop_under_robots(rig: Rig) -> None:
    rig.site.set("/robots.txt", Route(ROBOTS, content_type="text/plain"))
    serve_pages(rig, "/a/1.html", "/private/1.html")
    rig.site.set("/go/1", Route(b"", status=301, headers={"Location": "/a/1.html"}))
    rig.site.set("/go/2", Route(b"", status=302, headers={"Location": "/private/1.html"}))
    rig.site.set("/rss.xml", Route(rss([item(rig, "/go/1"), item(rig, "/go/2")]), content_type=RSS))
    source = await rig.add("/rss.xml")
    report = await rig.poller.poll(source)
    assert (report.sent, report.page_errors) == (1, 1)
    (article,) = rig.sink.articles
    assert str(article.url) == rig.site.url("/a/1.html")  # the article's own address
    assert rig.site.hits_for("/private/") == []


async def test_page_errors_permanent_temporary_and_not_html(rig: Rig) -> None:
    serve_pages(rig, "/ok.html")
    rig.site.set("/flaky.html", Route(b"", status=500))
    rig.site.set("/doc.pdf", Route(b"%PDF-1.4", content_type="application/pdf"))
    # /gone.html is not served: 404.
    entries = [item(rig, p) for p in ("/ok.html", "/flaky.html", "/doc.pdf", "/gone.html")]
    rig.site.set("/rss.xml", Route(rss(entries), content_type=RSS, etag='"e"'))
    source = await rig.add("/rss.xml")
    first = await rig.poller.poll(source)
    assert (first.sent, first.page_errors) == (1, 3)
    # The flaky page is retried at the next polls (the feed is fetched in full:
    # its ETag was not kept while an entry was pending), then given up.
    for _ in range(rig.settings.page_max_attempts - 1):
        report = await rig.poller.poll(source)
        assert report.status == "200"
    assert len(rig.site.hits_for("/flaky.html")) == rig.settings.page_max_attempts
    assert [len(rig.site.hits_for(p)) for p in ("/ok.html", "/doc.pdf", "/gone.html")] == [1, 1, 1]
    assert (await rig.poller.poll(source)).status == "304"


async def test_a_host_asking_for_quiet_gets_it(rig: Rig) -> None:
    rig.site.set("/a/1.html", Route(b"", status=429, headers={"Retry-After": "3600"}))
    serve_pages(rig, "/a/2.html", "/a/3.html")
    entries = [item(rig, "/a/1.html", 0), item(rig, "/a/2.html", 1), item(rig, "/a/3.html", 2)]
    rig.site.set("/rss.xml", Route(rss(entries), content_type=RSS))
    source = await rig.add("/rss.xml")
    report = await rig.poller.poll(source)
    assert (report.sent, report.deferred) == (0, 2)
    assert rig.site.hits_for("/a/2.html") == [] and rig.site.hits_for("/a/3.html") == []


async def test_a_backlog_is_spread_over_polls(rig: Rig) -> None:
    paths = [f"/a/{i}.html" for i in range(5)]
    serve_pages(rig, *paths)
    rig.site.set(
        "/rss.xml",
        Route(rss([item(rig, p, i) for i, p in enumerate(paths)]), content_type=RSS, etag='"x"'),
    )
    capped = rig.with_settings(max_entries_per_poll=2)
    source = await capped.add("/rss.xml")
    assert [(await capped.poller.poll(source)).sent for _ in range(3)] == [2, 2, 1]
    # Freshest first.
    assert [str(a.url).rsplit("/", 1)[1] for a in rig.sink.articles[:2]] == ["0.html", "1.html"]
    assert (await capped.poller.poll(source)).status == "304"


async def test_an_article_in_two_feeds_is_fetched_once(rig: Rig) -> None:
    serve_pages(rig, "/a/1.html")
    rig.site.set("/one.xml", Route(rss([item(rig, "/a/1.html")]), content_type=RSS))
    rig.site.set(
        "/two.xml",
        Route(
            atom([Item(rig.site.url("/a/1.html?utm_source=atom"), "Same", WHEN)]),
            content_type="application/atom+xml",
        ),
    )
    one = await rig.add("/one.xml", name="one")
    two = await rig.add("/two.xml", name="two")
    assert (await rig.poller.poll(one)).sent == 1
    report = await rig.poller.poll(two)
    assert (report.new_entries, report.fetched_elsewhere, report.sent) == (1, 1, 0)
    assert len(rig.site.hits_for("/a/1.html")) == 1
    # Still a new entry for the second source's health.
    assert (await rig.registry.state(two.id)).last_new_at is not None


async def test_kafka_down_postpones_without_blaming_the_source(rig: Rig) -> None:
    serve_pages(rig, "/a/1.html")
    rig.site.set("/rss.xml", Route(rss([item(rig, "/a/1.html")]), content_type=RSS, etag='"k"'))
    source = await rig.add("/rss.xml")
    rig.sink.down = True
    report = await rig.poller.poll(source)
    assert report.error and "pipeline unavailable" in report.error
    state = await rig.registry.state(source.id)
    assert state.failures == 0 and state.etag is None
    rig.sink.down = False
    assert (await rig.poller.poll(source)).sent == 1


async def test_the_scheduler_polls_due_sources_and_one_poller_holds_the_lease(rig: Rig) -> None:
    serve_pages(rig, "/a/1.html", "/a/2.html")
    rig.site.set(
        "/rss.xml",
        Route(rss([item(rig, "/a/1.html"), item(rig, "/a/2.html", 1)]), content_type=RSS),
    )
    rig.site.set("/broken.xml", Route(b"", status=500))
    good = await rig.add("/rss.xml", name="good", interval_s=3600)
    bad = await rig.add("/broken.xml", name="bad", interval_s=3600, host="localhost")
    paused = await rig.add("/paused.xml", name="paused")
    await rig.registry.set_paused(paused.id, True)
    other = Poller(rig.settings, rig.registry, rig.sink, Fetcher(rig.settings))
    stop = asyncio.Event()
    runs = [asyncio.create_task(rig.poller.run(stop)), asyncio.create_task(other.run(stop))]
    deadline = time.monotonic() + 10
    while len(rig.sink.articles) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*runs)
    await other.fetcher.aclose()
    assert len(rig.sink.articles) == 2
    # Two pollers, one lease: each feed was read once, not twice.
    assert len(rig.site.hits_for("/rss.xml")) == 1
    assert len(rig.site.hits_for("/broken.xml")) == 1
    assert rig.site.hits_for("/paused.xml") == []
    assert (await rig.registry.state(bad.id)).failures == 1
    assert (await rig.registry.state(good.id)).failures == 0
