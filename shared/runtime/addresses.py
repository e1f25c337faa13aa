"""Which network addresses the poller may connect to.

A feed URL is chosen by whoever registers the source, and a feed entry or a
redirect by whoever runs the feed: without this check the poller reads
``http://127.0.0.1:9200/`` or an intranet admin page and publishes it. Only
public unicast addresses are allowed, whatever the notation they were
written in, unless the operator allows networks explicitly
(``NEWSFLOW_POLLER_ALLOWED_NETWORKS``: tests, intranet feeds).

Pure functions: the DNS lookup and the connection that use them live in
``shared.runtime.netguard``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BeforeValidator, IPvAnyNetwork
from pydantic_settings import NoDecode

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# Never a server, whatever the allow-list says: connecting to 0.0.0.0 or ::
# reaches this very host, and multicast/broadcast are not TCP peers.
_NEVER: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ip_network(net), why)
    for net, why in (
        ("0.0.0.0/32", "unspecified"),
        ("255.255.255.255/32", "broadcast"),
        ("224.0.0.0/4", "multicast"),
        ("::/128", "unspecified"),
        ("ff00::/8", "multicast"),
    )
)
# Not public (IANA special-purpose registries). Spelled out rather than left
# to ipaddress.is_global alone, whose lists changed between Python releases;
# is_global stays as a last net below.
_INTERNAL: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ip_network(net), why)
    for net, why in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("240.0.0.0/4", "reserved"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "private"),
        # IPv4-compatible (::a.b.c.d) and the rest of ::/8; IPv4-mapped
        # addresses are read as the IPv4 address they carry (see unmapped),
        # NAT64 ones (64:ff9b::/96) by it too (see internal_kind).
        ("::/8", "reserved"),
        ("100::/64", "reserved"),
        # IETF protocol assignments, Teredo included.
        ("2001::/23", "reserved"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("fc00::/7", "private"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "link-local"),
    )
)
_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_NAT64 = IPv6Network("64:ff9b::/96")
# Names that mean this host without asking DNS (RFC 6761, Debian's /etc/hosts).
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_IPV4_PART = re.compile(r"^(?:0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*)$")


# ---------------------------------------------------------------- parsing
def _ipv4_part(part: str) -> int | None:
    # 40 characters is far past 2**32 in any base; the cap keeps int() cheap.
    if len(part) > 40 or not _IPV4_PART.match(part):
        return None
    if part[:2] in ("0x", "0X"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part[0] == "0":
        return int(part, 8)
    return int(part)


def parse_ipv4(host: str) -> IPv4Address | None:
    """An IPv4 address in any notation inet_aton() and browsers accept:
    ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``; None for a name."""
    if host.endswith("."):
        host = host[:-1]  # one trailing dot, as in a fully qualified name
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_part(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = [n for n in numbers if n is not None]
    # The last part fills the bytes the others left: "127.1" is 127.0.0.1.
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(parts)):
        return None
    value = last
    for i, number in enumerate(head):
        value += number << (8 * (3 - i))
    return IPv4Address(value)


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a URL host names literally (IPv6 with or without
    brackets, IPv4 in any notation), or None when it is a DNS name."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return IPv6Address(host)
        except ValueError:
            return None
    return parse_ipv4(host)


def is_local_name(host: str) -> bool:
    """Names that resolve to this host by definition (``localhost``, ``*.localhost``)."""
    name = host.strip().rstrip(".").lower()
    return name in _LOCAL_NAMES or name.endswith(".localhost")


def unmapped(address: IPAddress) -> IPAddress:
    """``::ffff:127.0.0.1`` is 127.0.0.1 on a dual-stack socket: judge (and
    connect to) the IPv4 address it carries."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _embedded_ipv4(address: IPv6Address) -> list[IPv4Address]:
    """IPv4 addresses a 6to4 or NAT64 address leads to."""
    found = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address in _NAT64:
        found.append(IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _listed(address: IPAddress, table: Iterable[tuple[IPNetwork, str]]) -> str | None:
    for network, why in table:
        if address in network:
            return why
    return None


def internal_kind(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address ("loopback", "private",
    ...), or None when it is one."""
    address = unmapped(address)
    kind = _listed(address, _NEVER)
    if kind:
        return kind
    if isinstance(address, IPv6Address):
        # 6to4 and NAT64 addresses lead to the IPv4 address they carry.
        for inner in _embedded_ipv4(address):
            inner_kind = internal_kind(inner)
            if inner_kind:
                return f"{inner_kind} (embedded IPv4)"
        if address in _NAT64:
            return None
    kind = _listed(address, _INTERNAL)
    if kind:
        return kind
    if isinstance(address, IPv6Address) and address not in _GLOBAL_UNICAST_V6:
        return "reserved"
    if not address.is_global:
        return "reserved"
    return None


# ---------------------------------------------------------------- the policy
def _split_networks(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


# The settings type of the allow-list: "10.0.0.0/8, fd00::/8" from the
# environment (comma-separated, not JSON), networks once validated.
NetworkList = Annotated[tuple[IPvAnyNetwork, ...], NoDecode, BeforeValidator(_split_networks)]


@dataclass(frozen=True)
class AddressPolicy:
    """Public unicast addresses, plus the networks the operator allowed.

    Unspecified, multicast and broadcast addresses are refused even inside
    an allowed network: none of them is a web server."""

    allowed: tuple[IPNetwork, ...] = ()

    def refusal(self, address: IPAddress) -> str | None:
        """Why the poller may not connect to `address`, or None if it may.
        The reason is for logs and for the person registering a source; a
        fetch that is refused reports only "address not allowed"."""
        address = unmapped(address)
        never = _listed(address, _NEVER)
        if never:
            return never
        if any(address in network for network in self.allowed):
            return None
        return internal_kind(address)

    def permits(self, address: IPAddress) -> bool:
        return self.refusal(address) is None


def literal_refusal(url: str, policy: AddressPolicy) -> str | None:
    """Registration-time check of a source URL without DNS: why a host
    written as an address (or as ``localhost``) is refused, or None. Names
    are checked when fetched, at every connection (DNS can change)."""
    host = urlsplit(url).hostname or ""
    address = parse_ip_literal(host)
    if address is None and is_local_name(host):
        address = ip_address("127.0.0.1")
    if address is None:
        return None
    why = policy.refusal(address)
    if why is None:
        return None
    return (
        f"{host} is a {why} address; the poller only reads public addresses "
        "(an operator can allow networks with NEWSFLOW_POLLER_ALLOWED_NETWORKS)"
    )


__all__ = [
    "AddressPolicy",
    "IPAddress",
    "NetworkList",
    "internal_kind",
    "is_local_name",
    "literal_refusal",
    "parse_ip_literal",
    "parse_ipv4",
    "unmapped",
]
