"""Reading feeds: RSS, Atom, news sitemaps and sitemap indexes, and the
malformed things the web serves instead."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
import typer

from services.feeds.cli import parse_interval
from services.feeds.parse import FeedParseError, clean_hint, language_code, parse_feed
from tests.feeds.server import Item, atom, news_sitemap, rss, sitemap_index

BASE = "https://news.example.com/feed.xml"
WHEN = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


def test_rss_entries_carry_title_author_date_and_absolute_links() -> None:
    body = rss(
        [
            Item("/world/1?utm_source=rss", "Talks &amp; <b>deals</b>", WHEN, "Jane Roe"),
            Item("https://news.example.com/world/2", "Second", None, None),
        ],
        language="en-GB",
    )
    feed = parse_feed(body, BASE, "application/rss+xml")
    assert feed.kind == "rss"
    assert feed.title == "Test feed"
    assert feed.language == "en"
    first, second = feed.entries
    assert first.url == "https://news.example.com/world/1?utm_source=rss"
    assert first.title == "Talks & deals"
    assert first.author == "Jane Roe"
    assert first.published_at == WHEN
    assert second.published_at is None and second.author is None


def test_rss_author_email_is_dropped_but_its_name_kept() -> None:
    body = (
        b"<rss version='2.0'><channel><title>t</title>"
        b"<item><title>a</title><link>http://x.org/a</link>"
        b"<author>jd@example.com (John Doe)</author></item>"
        b"<item><title>b</title><link>http://x.org/b</link>"
        b"<author>only@example.com</author></item></channel></rss>"
    )
    first, second = parse_feed(body, "http://x.org/rss").entries
    assert first.author == "John Doe"
    assert second.author is None


def test_atom_published_is_the_date_and_updated_only_orders() -> None:
    feed = parse_feed(
        atom([Item("https://a.org/1", "One", WHEN, "Ann"), Item("https://a.org/2", "Two")]),
        "https://a.org/atom",
    )
    assert feed.kind == "atom"
    one, two = feed.entries
    assert (one.title, one.author, one.published_at) == ("One", "Ann", WHEN)
    # Atom's <updated> is not a publication date: never sent as one.
    assert two.published_at is None
    assert two.updated_at == datetime(2024, 1, 2, tzinfo=UTC)


def test_news_sitemap() -> None:
    body = news_sitemap([Item("https://s.org/a", "A &amp; B", WHEN)], language="fr")
    feed = parse_feed(body, "https://s.org/news-sitemap.xml")
    assert feed.kind == "sitemap"
    (entry,) = feed.entries
    assert entry.url == "https://s.org/a"
    assert entry.title == "A & B"
    assert entry.published_at == WHEN
    assert entry.language == "fr"


def test_plain_sitemap_without_news_tags_and_gzipped() -> None:
    body = (
        b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        b"<url><loc>https://s.org/x</loc><lastmod>2024-05-01</lastmod></url>"
        b"<url><loc>javascript:alert(1)</loc></url></urlset>"
    )
    feed = parse_feed(gzip.compress(body), "https://s.org/sitemap.xml.gz")
    (entry,) = feed.entries
    assert entry.url == "https://s.org/x"
    assert entry.title is None and entry.published_at is None
    assert entry.updated_at == datetime(2024, 5, 1, tzinfo=UTC)


def test_sitemap_index_lists_children_newest_first() -> None:
    body = sitemap_index(
        [("https://s.org/2024-01.xml", "2024-01-31"), ("https://s.org/2024-03.xml", "2024-03-31")]
    )
    feed = parse_feed(body, "https://s.org/index.xml")
    assert feed.kind == "sitemap-index"
    assert feed.sitemaps == ["https://s.org/2024-03.xml", "https://s.org/2024-01.xml"]


@pytest.mark.parametrize(
    "body",
    [b"<html><body><p>Just a page</p></body></html>", b"", b"\x00\x01 binary", b"not xml at all"],
)
def test_what_is_not_a_feed_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(FeedParseError):
        parse_feed(body, BASE)


def test_sitemap_with_entities_is_refused() -> None:
    body = (
        b"<?xml version='1.0'?><!DOCTYPE urlset [<!ENTITY a 'aaaaaaaaaa'>]>"
        b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        b"<url><loc>https://s.org/&a;</loc></url></urlset>"
    )
    with pytest.raises(FeedParseError, match="entities"):
        parse_feed(body, BASE)


def test_slightly_broken_rss_still_yields_its_entries() -> None:
    # An unescaped ampersand: feedparser recovers, as readers do.
    body = (
        b"<rss version='2.0'><channel><title>Q & A</title>"
        b"<item><title>Fish & chips</title><link>http://x.org/f?a=1&b=2</link></item>"
        b"</channel></rss>"
    )
    (entry,) = parse_feed(body, "http://x.org/rss").entries
    assert entry.url.startswith("http://x.org/f?a=1")
    assert entry.title and "chips" in entry.title


def test_hint_helpers() -> None:
    assert clean_hint("  <i>Hello</i>&nbsp;world \n") == "Hello world"
    assert clean_hint("") is None and clean_hint(None) is None
    assert clean_hint("x" * 5000) == "x" * 2000
    assert language_code("en-US") == "en"
    assert language_code("fra") == "fra"
    assert language_code("english") is None


def test_interval_parsing() -> None:
    assert [parse_interval(v) for v in ("90", "90s", "15m", "2h", "1d", "1.5h")] == [
        90,
        90,
        900,
        7200,
        86400,
        5400,
    ]
    with pytest.raises(typer.BadParameter, match="duration"):
        parse_interval("soon")
