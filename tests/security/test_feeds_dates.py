"""Impossible dates from feeds (issue 11, finding 1, the feed side): an RSS
``<pubDate>``, an Atom date or a sitemap ``<news:publication_date>`` outside
1900-01-01 … now + 2 days becomes unknown, with one warning per feed; the
article itself still goes down the pipeline."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from services.feeds.parse import parse_feed
from services.feeds.registry import SourceIn
from tests.feeds.conftest import Rig, make_rig
from tests.feeds.server import FeedSite, Route, html_page

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
GOOD = "Wed, 01 May 2024 08:00:00 GMT"
ROBOTS = b"User-agent: *\nAllow: /\n"


def rss_with_dates(*dates: str, base: str = "http://x.org") -> bytes:
    items = "".join(
        f"<item><title>t{i}</title><link>{base}/a/{i}.html</link><pubDate>{d}</pubDate></item>"
        for i, d in enumerate(dates)
    )
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
        f"<link>http://x.org/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def dates_of(body: bytes) -> list[datetime | None]:
    return [e.published_at for e in parse_feed(body, "http://x.org/feed", now=NOW).entries]


def test_rss_pubdates_outside_the_window_become_unknown(caplog: pytest.LogCaptureFixture) -> None:
    body = rss_with_dates(
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Mon, 01 Jan 0001 00:00:00 GMT",
        "Wed, 01 Jan 1800 00:00:00 GMT",
        "Sun, 05 May 2024 12:00:00 GMT",  # now + 4 days
        GOOD,
        "Thu, 02 May 2024 12:00:00 GMT",  # now + 1 day: embargoed copy, believed
        "Mon, 01 Jan 1900 00:00:00 GMT",  # the first day believed
    )
    with caplog.at_level(logging.WARNING, logger="services.feeds.parse"):
        found = dates_of(body)
    assert found == [
        None,
        None,
        None,
        None,
        datetime(2024, 5, 1, 8, tzinfo=UTC),
        datetime(2024, 5, 2, 12, tzinfo=UTC),
        datetime(1900, 1, 1, tzinfo=UTC),
    ]
    # One warning for the feed, saying how many and showing one.
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.dropped == 4  # type: ignore[attr-defined]
    assert warning.example.startswith("9999-12-31")  # type: ignore[attr-defined]
    assert warning.url == "http://x.org/feed"  # type: ignore[attr-defined]


def test_rss_dc_date_and_atom_dates_are_judged_too() -> None:
    dc = (
        b"<?xml version='1.0'?><rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        b"<channel><title>T</title><link>http://x.org/</link><description>d</description>"
        b"<item><link>http://x.org/a</link><dc:date>9999-12-31T23:59:59Z</dc:date></item>"
        b"</channel></rss>"
    )
    (entry,) = parse_feed(dc, "http://x.org/feed", now=NOW).entries
    assert (entry.published_at, entry.updated_at) == (None, None)
    atom = (
        b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>T</title>"
        b"<id>urn:t</id><updated>2024-01-01T00:00:00Z</updated>"
        b"<entry><title>a</title><id>urn:a</id><link href='http://x.org/a'/>"
        b"<published>9999-12-31T23:59:59Z</published><updated>0001-01-01T00:00:00Z</updated>"
        b"</entry><entry><title>b</title><id>urn:b</id><link href='http://x.org/b'/>"
        b"<published>2024-04-30T10:00:00Z</published><updated>2024-04-30T11:00:00Z</updated>"
        b"</entry></feed>"
    )
    bad, good = parse_feed(atom, "http://x.org/feed", now=NOW).entries
    assert (bad.published_at, bad.updated_at) == (None, None)
    assert good.published_at == datetime(2024, 4, 30, 10, tzinfo=UTC)
    assert good.updated_at == datetime(2024, 4, 30, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-23:59",  # the one that answered 502 at search
        "0001-01-01",
        "0001-01-01T00:00:00+23:59",
        "1899-12-31T23:59:59Z",
        "2024-05-10",
    ],
)
def test_sitemap_publication_dates_outside_the_window_become_unknown(value: str) -> None:
    body = (
        "<?xml version='1.0' encoding='UTF-8'?>"
        "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
        "xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>"
        f"<url><loc>http://x.org/a</loc><lastmod>{value}</lastmod><news:news>"
        "<news:publication><news:name>T</news:name><news:language>en</news:language>"
        f"</news:publication><news:publication_date>{value}</news:publication_date>"
        "<news:title>A</news:title></news:news></url>"
        "<url><loc>http://x.org/b</loc><news:news><news:publication_date>2024-04-30T10:00:00Z"
        "</news:publication_date></news:news></url></urlset>"
    ).encode()
    bad, good = parse_feed(body, "http://x.org/sitemap.xml", now=NOW).entries
    assert (bad.published_at, bad.updated_at, bad.title) == (None, None, "A")
    assert good.published_at == datetime(2024, 4, 30, 10, tzinfo=UTC)


def test_a_sitemap_index_dated_9999_does_not_jump_the_queue() -> None:
    body = (
        b"<?xml version='1.0'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        b"<sitemap><loc>http://x.org/old.xml</loc><lastmod>9999-12-31</lastmod></sitemap>"
        b"<sitemap><loc>http://x.org/new.xml</loc><lastmod>2024-04-30</lastmod></sitemap>"
        b"</sitemapindex>"
    )
    parsed = parse_feed(body, "http://x.org/index.xml", now=NOW)
    assert parsed.sitemaps == ["http://x.org/new.xml", "http://x.org/old.xml"]


# ---------------------------------------------------------------- through the poller
@pytest.fixture
def feeds_dates_site() -> Iterator[FeedSite]:
    site = FeedSite()
    yield site
    site.close()


@pytest.fixture
async def feeds_dates_rig(stack: None, feeds_dates_site: FeedSite) -> AsyncIterator[Rig]:
    async with make_rig(feeds_dates_site) as made:
        yield made


@pytest.mark.integration
async def test_an_article_dated_9999_is_sent_with_an_unknown_date(feeds_dates_rig: Rig) -> None:
    rig = feeds_dates_rig
    site = rig.site
    site.set("/robots.txt", Route(ROBOTS, content_type="text/plain"))
    site.set("/a/0.html", Route(html_page("From the far future")))
    site.set("/a/1.html", Route(html_page("From today")))
    today = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    body = rss_with_dates(
        "Fri, 31 Dec 9999 23:59:59 GMT",
        today.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        base=site.url(""),
    )
    site.set("/rss.xml", Route(body, content_type="application/rss+xml"))
    source = await rig.registry.add(SourceIn(url=site.url("/rss.xml"), name="dates.example"))
    report = await rig.poller.poll(source)
    assert (report.status, report.sent, report.page_errors) == ("200", 2, 0)
    sent = rig.sink.by_path()
    assert sent["/a/0.html"].published_at is None
    assert sent["/a/1.html"].published_at == today
