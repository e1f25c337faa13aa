"""The feed poller reading internal addresses (issue 11, finding 2), against
real local web servers.

Two sites share one port: an "internal" one on 127.0.0.1 (an admin page
with a password, what must never be read) and a stand-in for the public
internet on 127.0.0.2. The tests' DNS (a resolver injected into the
Fetcher) gives public-looking names to 127.0.0.2, and the allow-list opens
127.0.0.2/32 only: to the poller, 127.0.0.2 is the internet and 127.0.0.1
is what it always is. Since both sites listen on the same port, a
connection to the wrong address would land on the internal site (its hits
are asserted empty), not merely fail.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from services.feeds.fetch import AddressNotAllowed, Fetcher
from services.feeds.registry import SourceIn
from services.feeds.settings import PollerSettings
from tests.feeds.conftest import Rig, make_rig, poller_settings
from tests.feeds.server import FeedSite, Item, Route, html_page, rss

SECRET = b"<html><body><h1>Internal admin</h1><p>password: hunter2</p></body></html>"
PUBLIC_NAME = "news.example.test"
# "The internet" of these tests; 127.0.0.1 stays internal.
INTERNET = ("127.0.0.2/32",)
RSS = "application/rss+xml"


@dataclass
class Sites:
    internal: FeedSite
    public: FeedSite

    @property
    def port(self) -> int:
        return self.internal.port

    def internal_url(self, host: str, path: str = "/admin") -> str:
        return f"http://{host}:{self.port}{path}"

    def public_url(self, path: str) -> str:
        return f"http://{PUBLIC_NAME}:{self.port}{path}"


@pytest.fixture
def feeds_ssrf_sites() -> Iterator[Sites]:
    internal = FeedSite()
    public = FeedSite("127.0.0.2", internal.port)
    for site in (internal, public):
        site.set("/robots.txt", Route(b"User-agent: *\nAllow: /\n", content_type="text/plain"))
    internal.set("/admin", Route(SECRET))
    internal.set("/rss.xml", Route(rss([]), content_type=RSS))
    public.set("/ok.html", Route(html_page("A public story")))
    yield Sites(internal, public)
    public.close()
    internal.close()


async def fake_dns(host: str, port: int) -> list[str]:
    """Public-looking names for 127.0.0.2; localhost as the system has it;
    anything else does not exist."""
    if host == PUBLIC_NAME:
        return ["127.0.0.2"]
    if host == "localhost":
        return ["127.0.0.1"]
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def settings(*allowed: str) -> PollerSettings:
    return poller_settings("", allowed_networks=allowed, host_delay_s=0.0)


@pytest.fixture
async def feeds_ssrf_fetcher() -> AsyncIterator[Fetcher]:
    """The poller's fetcher with the allow-list off but for "the internet"."""
    fetcher = Fetcher(settings(*INTERNET), fake_dns)
    yield fetcher
    await fetcher.aclose()


# Every notation of 127.0.0.1 (and ::1) a feed or a source can write.
INTERNAL_HOSTS = [
    "127.0.0.1",
    "localhost",
    "2130706433",
    "0177.0.0.1",
    "0x7f.1",
    "0x7f000001",
    "127.1",
    "127.0.0.1.",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "0.0.0.0",
    "10.0.0.1",
    "169.254.169.254",
]


@pytest.mark.parametrize("host", INTERNAL_HOSTS)
async def test_an_internal_address_is_refused_on_the_first_request(
    feeds_ssrf_sites: Sites, feeds_ssrf_fetcher: Fetcher, host: str
) -> None:
    url = feeds_ssrf_sites.internal_url(host)
    with pytest.raises(AddressNotAllowed) as refused:
        await feeds_ssrf_fetcher.fetch_page(url)
    assert refused.value.reason in ("address not allowed", "invalid URL")
    with pytest.raises(AddressNotAllowed):
        await feeds_ssrf_fetcher.fetch_feed(url)
    # Not even its robots.txt was asked for.
    assert feeds_ssrf_sites.internal.hits == []


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]"]
)
async def test_a_redirect_to_an_internal_address_is_refused(
    feeds_ssrf_sites: Sites, feeds_ssrf_fetcher: Fetcher, host: str
) -> None:
    sites = feeds_ssrf_sites
    sites.public.set("/go", Route(b"", status=302, headers={"Location": sites.internal_url(host)}))
    # The setup works: the public site is readable through its name...
    assert (await feeds_ssrf_fetcher.fetch_page(sites.public_url("/ok.html"))).status == 200
    # ...but what it redirects to is not.
    with pytest.raises(AddressNotAllowed):
        await feeds_ssrf_fetcher.fetch_page(sites.public_url("/go"))
    assert (await sites.public.served(3))[-1] == "/go"
    assert sites.internal.hits == []


async def test_a_robots_txt_redirecting_inside_closes_the_host(
    feeds_ssrf_sites: Sites, feeds_ssrf_fetcher: Fetcher
) -> None:
    sites = feeds_ssrf_sites
    sites.internal.set("/robots.txt", Route(b"User-agent: *\nAllow: /\n"))
    target = sites.internal_url("127.0.0.1", "/robots.txt")
    sites.public.set("/robots.txt", Route(b"", status=301, headers={"Location": target}))
    assert await feeds_ssrf_fetcher.permission(sites.public_url("/ok.html")) == "refused"
    with pytest.raises(AddressNotAllowed):
        await feeds_ssrf_fetcher.fetch_page(sites.public_url("/ok.html"))
    assert await sites.public.served(1) == ["/robots.txt"]
    assert sites.internal.hits == []


async def test_the_allow_list_lets_local_servers_through(feeds_ssrf_sites: Sites) -> None:
    sites = feeds_ssrf_sites
    sites.public.set(
        "/go", Route(b"", status=302, headers={"Location": sites.internal_url("127.1")})
    )
    fetcher = Fetcher(settings(*INTERNET, "127.0.0.1/32"), fake_dns)
    try:
        page = await fetcher.fetch_page(sites.public_url("/go"))
        direct = await fetcher.fetch_page(sites.internal_url("localhost"))
    finally:
        await fetcher.aclose()
    assert page.body == SECRET and direct.body == SECRET
    assert page.url == sites.internal_url("127.1")


async def test_a_dns_answer_that_changes_cannot_reach_an_internal_address(
    feeds_ssrf_sites: Sites,
) -> None:
    sites = feeds_ssrf_sites
    sites.public.set("/admin", Route(html_page("The public page at /admin")))
    lookups: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        # Public for the first lookup (the check, for a naive client), then
        # 127.0.0.1 (its connection), where the same path is the admin page.
        lookups.append(host)
        return ["127.0.0.2"] if len(lookups) == 1 else ["127.0.0.1"]

    fetcher = Fetcher(settings(*INTERNET), rebinding)
    try:
        # robots.txt, then the page on the same kept-alive connection: one
        # lookup, and every byte from the address that was checked.
        page = await fetcher.fetch_page(sites.public_url("/admin"))
    finally:
        await fetcher.aclose()
    assert b"The public page" in page.body and lookups == [PUBLIC_NAME]
    assert sites.internal.hits == []
    assert await sites.public.served(2) == ["/robots.txt", "/admin"]
    # Connected to 127.0.0.2, but asked for the name.
    assert {hit.host for hit in sites.public.hits} == {f"{PUBLIC_NAME}:{sites.port}"}


async def test_a_new_connection_per_request_is_checked_each_time(feeds_ssrf_sites: Sites) -> None:
    sites = feeds_ssrf_sites
    # The public site closes every connection, so the page needs a new one.
    sites.public.set(
        "/robots.txt",
        Route(
            b"User-agent: *\nAllow: /\n", content_type="text/plain", headers={"Connection": "close"}
        ),
    )
    answers = iter([["127.0.0.2"], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    fetcher = Fetcher(settings(*INTERNET), rebinding)
    try:
        with pytest.raises(AddressNotAllowed):
            await fetcher.fetch_page(sites.public_url("/admin"))
    finally:
        await fetcher.aclose()
    assert await sites.public.served(1) == ["/robots.txt"]
    assert sites.internal.hits == []


# ---------------------------------------------------------------- through the poller
@pytest.fixture
async def feeds_ssrf_rig(stack: None, feeds_ssrf_sites: Sites) -> AsyncIterator[Rig]:
    """A poller (real Redis, fake sink) whose allow-list is "the internet" only."""
    async with make_rig(
        feeds_ssrf_sites.public, fake_dns, allowed_networks=INTERNET, host_delay_s=0.0
    ) as made:
        yield made


@pytest.mark.integration
async def test_a_source_at_an_internal_address_fails_without_a_port_scanner_oracle(
    feeds_ssrf_sites: Sites, feeds_ssrf_rig: Rig
) -> None:
    rig = feeds_ssrf_rig
    # Registered straight in Redis: the API's 422 is not the only line of defence.
    open_port = await rig.registry.add(
        SourceIn(url=feeds_ssrf_sites.internal_url("127.0.0.1", "/rss.xml"), name="open")
    )
    closed_port = await rig.registry.add(SourceIn(url="http://127.0.0.1:9/rss.xml", name="closed"))
    errors = []
    for source in (open_port, closed_port):
        report = await rig.poller.poll(source)
        state = await rig.registry.state(source.id)
        assert report.status == "error" and state.last_status == "error"
        errors.append(state.last_error)
    # An open port and a closed one read the same; nothing was connected to.
    assert errors == [
        f"address not allowed ({feeds_ssrf_sites.internal_url('127.0.0.1', '/rss.xml')})",
        "address not allowed (http://127.0.0.1:9/rss.xml)",
    ]
    assert feeds_ssrf_sites.internal.hits == []


@pytest.mark.integration
async def test_a_hostile_feed_cannot_make_the_poller_read_inside(
    feeds_ssrf_sites: Sites, feeds_ssrf_rig: Rig
) -> None:
    sites = feeds_ssrf_sites
    rig = feeds_ssrf_rig
    hosts = ["127.0.0.1", "localhost", "2130706433", "0177.0.0.1", "0x7f.1", "[::1]"]
    sites.public.set(
        "/go", Route(b"", status=301, headers={"Location": sites.internal_url("127.1")})
    )
    entries = [
        Item(sites.internal_url(h, f"/admin?{i}"), f"Admin {i}") for i, h in enumerate(hosts)
    ]
    entries += [
        Item(sites.public_url("/go"), "Redirected"),
        Item(sites.public_url("/ok.html"), "Ok"),
    ]
    sites.public.set("/rss.xml", Route(rss(entries), content_type=RSS))
    source = await rig.registry.add(
        SourceIn(url=sites.public_url("/rss.xml"), name="hostile.example")
    )
    report = await rig.poller.poll(source)
    # The poll itself works; the one public article is sent; every internal
    # entry is refused before any request, the redirect at its hop.
    assert report.status == "200" and report.sent == 1
    assert report.refused == len(hosts) and report.page_errors == 1
    assert [str(a.url) for a in rig.sink.articles] == [sites.public_url("/ok.html")]
    assert sites.internal.hits == []
    # Refused entries are remembered: the next poll does not knock again.
    again = await rig.poller.poll(source)
    assert (again.new_entries, again.refused) == (0, 0)
