"""robots.txt the way Google's and Scrapy's crawlers read it (RFC 9309):
``*`` and ``$`` wildcards, the longest matching rule wins, the most specific
user-agent group applies, and Crawl-delay still slows the host down.
``urllib.robotparser`` got the first three wrong (issue 11, Low)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.feeds.fetch import Fetcher, robots_from_response
from tests.feeds.conftest import poller_settings
from tests.feeds.server import FeedSite, Route

AGENT = "NewsflowBot"
ROBOTS = b"""
User-agent: *
Disallow: /*?print=
Disallow: /news/
Allow: /news/public/
Disallow: /*.pdf$
Disallow: /drafts
Allow: /drafts/published-
Disallow: /search
Allow: /search$
Crawl-delay: 4
"""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/a/story.html", True),
        ("/a/story.html?print=1", False),  # Disallow: /*?print=
        ("/news/2024/story?print=yes", False),
        ("/a/story.html?page=2&print=1", True),  # "?print=" is not in it
        ("/news/", False),
        ("/news/2024/story.html", False),
        ("/news/public/", True),  # the longer Allow wins over Disallow: /news/
        ("/news/public/2024/story.html", True),
        ("/files/report.pdf", False),  # Disallow: /*.pdf$
        ("/files/report.pdf?download=1", True),  # $ anchors the end
        ("/files/report.pdfx", True),
        ("/drafts/secret", False),
        ("/drafts/published-story", True),
        ("/search", True),  # Allow: /search$ is longer than Disallow: /search
        ("/search?q=x", False),
        ("/robots.txt", True),
    ],
)
def test_wildcards_and_the_longest_match(path: str, allowed: bool) -> None:
    rules = robots_from_response(200, ROBOTS)
    assert rules.can_fetch(AGENT, f"https://x.org{path}") is allowed


def test_the_most_specific_group_applies_and_equal_lengths_favour_allow() -> None:
    body = (
        b"User-agent: *\nDisallow: /\n\n"
        b"User-agent: newsflowbot\nDisallow: /page\nAllow: /page\n"
        b"Disallow: /*.php$\n\n"
        b"User-agent: bot\nAllow: /\n"
    )
    rules = robots_from_response(200, body)
    # Our group, matched case-insensitively, and not "bot" inside "newsflowbot".
    assert rules.can_fetch(AGENT, "https://x.org/anything")
    assert rules.can_fetch(AGENT, "https://x.org/page")  # Allow and Disallow tie: allowed
    assert not rules.can_fetch(AGENT, "https://x.org/index.php")
    assert not rules.can_fetch("OtherBot", "https://x.org/anything")


def test_crawl_delay_is_read_per_group_and_bad_values_are_ignored() -> None:
    assert robots_from_response(200, ROBOTS).crawl_delay(AGENT) == 4.0
    body = b"User-agent: NewsflowBot\nCrawl-delay: 1.5\n\nUser-agent: *\nCrawl-delay: 30\n"
    assert robots_from_response(200, body).crawl_delay(AGENT) == 1.5
    for value in (b"soon", b"-3", b"inf", b"nan"):
        rules = robots_from_response(200, b"User-agent: *\nCrawl-delay: " + value + b"\n")
        assert rules.crawl_delay(AGENT) is None, value


def test_a_robots_txt_past_the_size_cap_is_read_up_to_it() -> None:
    filler = b"# " + b"x" * 600_000 + b"\n"
    rules = robots_from_response(200, b"User-agent: *\nDisallow: /a\n" + filler + b"Disallow: /b\n")
    assert not rules.can_fetch(AGENT, "https://x.org/a")
    assert rules.can_fetch(AGENT, "https://x.org/b")  # past 512 KiB: not read


@pytest.fixture
def robots_site() -> Iterator[FeedSite]:
    site = FeedSite()
    yield site
    site.close()


async def test_the_fetcher_honours_crawl_delay_and_wildcards(robots_site: FeedSite) -> None:
    robots_site.set("/robots.txt", Route(ROBOTS, content_type="text/plain"))
    fetcher = Fetcher(poller_settings("", host_delay_s=0.5, max_crawl_delay_s=10))
    try:
        assert await fetcher.permission(robots_site.url("/news/public/1.html")) == "allowed"
        assert await fetcher.permission(robots_site.url("/a/1.html?print=1")) == "disallowed"
        # Crawl-delay 4 raised the host's pause from 0.5 s.
        assert fetcher.gate.delay_of("127.0.0.1") == 4.0
    finally:
        await fetcher.aclose()
    assert await robots_site.served(1) == ["/robots.txt"]
