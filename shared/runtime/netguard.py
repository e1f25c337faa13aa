"""Connections only to addresses the policy allows, checked as they are made.

Why at connect time, in the network backend: the check and the connection
must use the same DNS answer. Checking a URL's host and then letting the
HTTP client resolve it again leaves a gap a rebinding DNS server uses (public
address for the check, 127.0.0.1 for the connection). Here the name is
resolved once, every address of the answer is checked, and the socket is
opened to one of those very addresses; the URL, the Host header and TLS
(SNI and certificate checks) still use the name, because httpcore passes the
backend the name and does the rest itself. Every connection goes through
this backend: first requests, each redirect hop, robots.txt, whatever code
is added later. A kept-alive connection was checked when it was opened.

Proxies are off (``trust_env=False``): a proxy would resolve names itself,
out of reach of this check.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterable

import anyio
import httpcore
import httpx

from shared.runtime.addresses import AddressPolicy, IPAddress, parse_ip_literal, unmapped

log = logging.getLogger(__name__)

# A name -> its addresses (as text). Injected by tests, which need names
# that look public without a public DNS.
Resolver = Callable[[str, int], Awaitable[list[str]]]
# httpcore's SOCKET_OPTION, spelled out (it lives in a private module).
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class AddressRefused(Exception):
    """The host resolved to an address the policy refuses; nothing was sent.

    The fetcher reports it as "address not allowed" and nothing more, so
    that a source's last error cannot be used to map an internal network."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(f"{host} -> {address}: {reason}")
        self.host = host
        self.address = address
        self.reason = reason


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses getaddrinfo() gives for `host`, in its order."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0])
        if text not in addresses:
            addresses.append(text)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address check in front of
    ``connect_tcp``; everything else is the default asyncio backend's."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self.resolver = resolver or system_resolver
        self.inner = inner or httpcore.AnyIOBackend()

    async def resolve(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        """The checked addresses of `host`. Raises AddressRefused if any of
        them is refused: a name with one internal address is not a public
        server, and trying the others would make the answer's order matter."""
        literal = parse_ip_literal(host)
        if literal is not None:
            found: list[IPAddress] = [literal]
        else:
            try:
                with anyio.fail_after(timeout):
                    answer = await self.resolver(host, port)
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
            found = []
            for text in answer:
                address = parse_ip_literal(text.split("%", 1)[0])
                if address is None:
                    raise AddressRefused(host, text, "not an IP address")
                found.append(address)
            if not found:
                raise httpcore.ConnectError(f"{host} has no address")
        addresses = []
        for address in found:
            reason = self.policy.refusal(address)
            if reason is not None:
                log.warning(
                    "address refused",
                    extra={"host": host, "address": str(address), "reason": reason},
                )
                raise AddressRefused(host, str(address), reason)
            addresses.append(unmapped(address))
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        deadline = None if timeout is None else time.monotonic() + timeout
        addresses = await self.resolve(host, port, timeout)
        failure: Exception = httpcore.ConnectError(f"cannot connect to {host}")
        # One address after the other within the one connect timeout.
        for address in addresses:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise httpcore.ConnectTimeout(f"connecting to {host} timed out")
            try:
                return await self.inner.connect_tcp(
                    str(address),
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused(path, path, "unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that connects through a
    GuardedBackend.

    httpx builds its pool without a way to pass a network backend, so the
    pool is replaced right after construction with an identical one that
    has it (httpx's own pool is never used). tests/security's fetches of
    internal addresses fail if a new httpx version stops using `_pool`."""

    def __init__(self, backend: GuardedBackend, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


__all__ = ["AddressRefused", "GuardedBackend", "GuardedTransport", "Resolver", "system_resolver"]
