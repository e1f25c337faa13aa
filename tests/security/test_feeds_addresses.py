"""Which addresses the feed poller may connect to (issue 11, finding 2), as
pure logic: every notation of an internal address is refused, public ones
are not, the allow-list opens exactly what it names, and the network
backend connects to the very address it checked, resolving once."""

from __future__ import annotations

import socket
import ssl
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import httpcore
import httpx
import pytest

from services.feeds.settings import PollerSettings
from shared.runtime.addresses import (
    AddressPolicy,
    internal_kind,
    is_local_name,
    literal_refusal,
    parse_ip_literal,
)
from shared.runtime.netguard import AddressRefused, GuardedBackend, GuardedTransport

STRICT = AddressPolicy()


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),  # decimal
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("0x7f.1", "127.0.0.1"),  # hex, short
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),  # short
        ("127.0.1", "127.0.0.1"),
        ("0x7F.0.0.0x1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),  # trailing dot
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("10.0.0.1", "10.0.0.1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[0:0:0:0:0:ffff:7f00:1]", "::ffff:7f00:1"),
        ("[fe80::1%eth0]", "fe80::1%eth0"),  # with a zone: still link-local
    ],
)
def test_ip_literals_in_every_notation(host: str, expected: str | None) -> None:
    parsed = parse_ip_literal(host)
    assert (str(parsed) if parsed else None) == expected


@pytest.mark.parametrize(
    "host",
    [
        "example.org",
        "127.0.0.1.example.org",
        "1.2.3.4.5",
        "256.1.1.1",
        "08.0.0.1",  # not octal: a name (DNS decides, at fetch time)
        "0x1g",
        "127.0.0.256",
        "4294967296",  # 2**32
        "1.16777216",
        "9" * 5000,  # no quadratic int() on a hostile host
        "",
        "[not-v6]",
    ],
)
def test_names_are_not_literals(host: str) -> None:
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.127.255.255", "shared (CGNAT)"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "documentation"),
        ("198.18.0.1", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::127.0.0.1", "reserved"),  # IPv4-compatible
        ("2002:7f00:1::1", "loopback (embedded IPv4)"),  # 6to4 of 127.0.0.1
        ("2002:a00:1::", "private (embedded IPv4)"),  # 6to4 of 10.0.0.1
        ("64:ff9b::7f00:1", "loopback (embedded IPv4)"),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local (embedded IPv4)"),  # NAT64 of 169.254.169.254
        ("64:ff9b:1::1", "private"),
        ("2001::1", "reserved"),  # Teredo
        ("2001:db8::1", "documentation"),
        ("100::1", "reserved"),
        ("fec0::1", "link-local"),
        ("4000::1", "reserved"),  # outside global unicast
    ],
)
def test_internal_addresses_are_refused(address: str, kind: str) -> None:
    assert internal_kind(ip_address(address)) == kind
    assert not STRICT.permits(ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "1.1.1.1",
        "100.63.255.255",  # just below CGNAT
        "172.32.0.1",  # just above 172.16/12
        "2606:4700:4700::1111",
        "2a00:1450:4007:80f::200e",
        "::ffff:8.8.8.8",  # mapped public: 8.8.8.8
        "2002:808:808::1",  # 6to4 of 8.8.8.8
        "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert internal_kind(ip_address(address)) is None
    assert STRICT.permits(ip_address(address))


def test_the_allow_list_opens_what_it_names_and_nothing_else() -> None:
    local = AddressPolicy((ip_network("127.0.0.0/8"),))
    assert local.permits(IPv4Address("127.0.0.1"))
    assert local.permits(IPv6Address("::ffff:127.0.0.1"))  # the same host
    assert local.permits(parse_ip_literal("0x7f.1"))  # type: ignore[arg-type]
    assert not local.permits(IPv6Address("::1"))  # not listed
    assert not local.permits(IPv4Address("10.0.0.1"))
    assert local.permits(IPv4Address("8.8.8.8"))  # public stays allowed
    everything = AddressPolicy((ip_network("0.0.0.0/0"), ip_network("::/0")))
    assert everything.permits(IPv4Address("10.0.0.1"))
    # Never a web server, whatever the list says.
    for never in ("0.0.0.0", "224.0.0.1", "255.255.255.255", "::", "ff02::1"):
        assert everything.refusal(ip_address(never)) is not None, never


def test_the_allow_list_setting_is_off_by_default_and_read_comma_separated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NEWSFLOW_POLLER_ALLOWED_NETWORKS", raising=False)
    assert PollerSettings().allowed_networks == ()
    monkeypatch.setenv("NEWSFLOW_POLLER_ALLOWED_NETWORKS", "10.20.0.0/16, fd00:1::/64")
    assert PollerSettings().allowed_networks == (
        ip_network("10.20.0.0/16"),
        ip_network("fd00:1::/64"),
    )
    # A typo stops the poller at start instead of opening something else.
    monkeypatch.setenv("NEWSFLOW_POLLER_ALLOWED_NETWORKS", "10.20.0.1/16")
    with pytest.raises(ValueError, match="allowed_networks"):
        PollerSettings()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://127.0.0.1:9200/",
        "http://localhost:8080/rss",
        "http://LOCALHOST./rss",
        "http://admin.localhost/rss",
        "http://[::1]/rss",
        "http://[::ffff:127.0.0.1]/rss",
        "http://2130706433/rss",
        "http://0x7f.1/rss",
        "http://127.1/rss",
        "http://10.0.0.5/rss",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00::1]/rss",
    ],
)
def test_registration_refuses_literal_internal_addresses(url: str) -> None:
    refusal = literal_refusal(url, STRICT)
    assert refusal is not None and "NEWSFLOW_POLLER_ALLOWED_NETWORKS" in refusal
    allowed = AddressPolicy((ip_network("0.0.0.0/0"), ip_network("::/0")))
    assert literal_refusal(url, allowed) is None


def test_registration_leaves_names_to_fetch_time() -> None:
    assert literal_refusal("https://news.example.org/rss.xml", STRICT) is None
    assert literal_refusal("https://93.184.216.34/rss.xml", STRICT) is None
    assert is_local_name("localhost") and is_local_name("a.b.localhost.")
    assert not is_local_name("localhost.example.org")


# ---------------------------------------------------------------- the backend
class FakeStream(httpcore.AsyncNetworkStream):
    """A connection that records what is sent over it and what TLS is asked
    for, and answers every request with a small 200."""

    def __init__(self) -> None:
        self.sent = b""
        self.tls_names: list[str | None] = []
        self._answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.sent += buffer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        answer, self._answer = self._answer, b""
        return answer

    async def aclose(self) -> None:
        pass

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.tls_names.append(server_hostname)
        return self  # no real handshake: what matters is the name asked for


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Stands in for the socket layer: records where it was asked to connect."""

    def __init__(self) -> None:
        self.connected: list[str] = []
        self.stream = FakeStream()

    async def connect_tcp(
        self, host: str, port: int, *args: object, **kwargs: object
    ) -> FakeStream:
        self.connected.append(host)
        return self.stream


class Answers:
    """A DNS server: one answer per lookup, in turn; counts lookups."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups += 1
        return self.answers[min(self.lookups, len(self.answers)) - 1]


async def test_the_backend_connects_to_the_address_it_checked() -> None:
    inner = RecordingBackend()
    dns = Answers(["93.184.216.34"], ["127.0.0.1"])  # rebinds after the first answer
    backend = GuardedBackend(STRICT, dns, inner)
    await backend.connect_tcp("news.example.org", 80, timeout=1)
    # One lookup per connection, and the socket went to the checked address,
    # not to the name (which a second lookup would have turned into 127.0.0.1).
    assert dns.lookups == 1 and inner.connected == ["93.184.216.34"]
    # The next connection looks again, and is refused before any socket.
    with pytest.raises(AddressRefused):
        await backend.connect_tcp("news.example.org", 80, timeout=1)
    assert inner.connected == ["93.184.216.34"]


@pytest.mark.parametrize(
    "answer",
    [
        ["127.0.0.1"],
        ["93.184.216.34", "10.0.0.1"],  # one internal address is enough
        ["::ffff:127.0.0.1"],
        ["2606:4700:4700::1111", "fe80::1%eth0"],
        ["not-an-address"],
    ],
)
async def test_the_backend_refuses_any_internal_answer(answer: list[str]) -> None:
    inner = RecordingBackend()
    backend = GuardedBackend(STRICT, Answers(answer), inner)
    with pytest.raises(AddressRefused):
        await backend.connect_tcp("rebind.example.org", 443, timeout=1)
    assert inner.connected == []


async def test_literal_hosts_skip_dns_and_mapped_ones_connect_as_ipv4() -> None:
    inner = RecordingBackend()
    dns = Answers(["127.0.0.1"])
    backend = GuardedBackend(AddressPolicy((ip_network("127.0.0.0/8"),)), dns, inner)
    await backend.connect_tcp("::ffff:127.0.0.1", 80, timeout=1)
    await backend.connect_tcp("2130706433", 80, timeout=1)
    assert dns.lookups == 0 and inner.connected == ["127.0.0.1", "127.0.0.1"]
    with pytest.raises(AddressRefused):
        await GuardedBackend(STRICT, dns, inner).connect_tcp("0x7f.1", 80, timeout=1)


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_host_header_and_tls_name_stay_the_name_while_the_socket_goes_to_the_address(
    scheme: str,
) -> None:
    inner = RecordingBackend()
    backend = GuardedBackend(STRICT, Answers(["93.184.216.34"]), inner)
    transport = GuardedTransport(backend, httpx.Limits())
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get(f"{scheme}://news.example.org:8443/feed")
    assert response.status_code == 200
    assert inner.connected == ["93.184.216.34"]
    assert b"\r\nHost: news.example.org:8443\r\n" in inner.stream.sent
    # SNI, and the certificate check that goes with it, use the name too.
    assert inner.stream.tls_names == (["news.example.org"] if scheme == "https" else [])


async def test_dns_failures_are_connection_errors_not_refusals() -> None:
    async def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    backend = GuardedBackend(STRICT, nxdomain, RecordingBackend())
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("nowhere.example.org", 80, timeout=1)
    with pytest.raises(AddressRefused):
        await backend.connect_unix_socket("/var/run/docker.sock")
