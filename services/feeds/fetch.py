"""Polite HTTP: every request the poller makes goes through here.

Politeness is enforced at the lowest level, so no code path can forget it:
at most one request at a time per host and a pause between two requests to
a host (``HostGate``), robots.txt checked for every URL including each
redirect hop, bounded sizes and timeouts, and conditional requests for
feeds. Every connection, redirects and robots.txt included, goes to an
address the ``AddressPolicy`` allows, checked as it is opened
(``shared.runtime.netguard``). Errors come in two kinds the poller treats
differently (``services.feeds.errors``): ``TemporaryFetchError`` (try again
later, with backoff) and ``PermanentFetchError`` (this URL will not work).
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal, NoReturn
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx

from services.feeds.errors import (
    AddressNotAllowed,
    Disallowed,
    FetchError,
    HostBackingOff,
    PermanentFetchError,
    TemporaryFetchError,
)
from services.feeds.hostgate import HostGate
from services.feeds.robots import MAX_ROBOTS_BYTES, RobotsRules, robots_from_response
from services.feeds.settings import PollerSettings
from shared.runtime.addresses import AddressPolicy
from shared.runtime.netguard import AddressRefused, GuardedBackend, GuardedTransport, Resolver

log = logging.getLogger(__name__)

# "refused": the host's address is not one the poller may connect to (or
# its URL is not one httpx can request).
Permission = Literal["allowed", "disallowed", "unreachable", "refused"]

_REDIRECTS = {301, 302, 303, 307, 308}
# Said of every refused address, whatever the reason: a source's last error
# must not tell a loopback port from a private one, nor open from closed.
_NOT_ALLOWED = "address not allowed"
# A server asking for more than a day of quiet gets a day.
_MAX_RETRY_AFTER_S = 86400.0
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.I)
_FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


# ---------------------------------------------------------------- results
@dataclass(frozen=True)
class FetchResult:
    url: str  # after redirects
    status: int
    body: bytes = b""
    content_type: str | None = None
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def html(self) -> str:
        return decode_html(self.body, self.charset)


def decode_html(body: bytes, header_charset: str | None) -> str:
    """Text of a page: BOM, then the HTTP charset, then <meta charset>, then
    UTF-8; undecodable bytes are replaced rather than failing the page."""
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return body.decode(name, errors="replace")
    candidates: list[str | None] = [header_charset]
    match = _META_CHARSET.search(body[:4096])
    if match:
        candidates.append(match.group(1).decode("ascii", errors="ignore"))
    for candidate in candidates:
        if not candidate:
            continue
        try:
            codecs.lookup(candidate)
        except LookupError:
            continue
        return body.decode(candidate, errors="replace")
    return body.decode("utf-8", errors="replace")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), _MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(delta, 0.0), _MAX_RETRY_AFTER_S)


# ---------------------------------------------------------------- robots.txt
@dataclass
class _Robots:
    rules: RobotsRules
    expires_at: float
    # Set when the origin itself may not be reached (see Permission).
    refusal: str | None = None


# ---------------------------------------------------------------- the fetcher
def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class Fetcher:
    """The poller's HTTP client: polite, bounded, robots-aware, and unable
    to connect to an address the settings' allow-list does not allow.

    `resolver` replaces the system's DNS (tests give public-looking names
    to local servers, or answers that change between two lookups)."""

    def __init__(self, settings: PollerSettings, resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.user_agent = settings.user_agent
        # The token robots.txt groups are matched against: "NewsflowBot/0.1 (...)" -> NewsflowBot.
        self.robots_agent = settings.user_agent.split("/")[0].split()[0]
        self.policy = AddressPolicy(tuple(settings.allowed_networks))
        limits = httpx.Limits(max_connections=settings.max_concurrent_requests * 2)
        self.client = httpx.AsyncClient(
            transport=GuardedTransport(GuardedBackend(self.policy, resolver), limits),
            timeout=httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
            headers={"User-Agent": settings.user_agent},
            # Redirects are followed by hand: each hop is checked against robots.txt
            # and goes through its host's gate. (robots.txt itself follows up to
            # five, as RFC 9309 allows; the transport checks each hop's address.)
            follow_redirects=False,
            max_redirects=5,
            trust_env=False,
        )
        self.gate = HostGate(
            settings.host_delay_s, max_wait_s=settings.max_crawl_delay_s + settings.host_delay_s
        )
        self._requests = asyncio.Semaphore(settings.max_concurrent_requests)
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}

    async def aclose(self) -> None:
        await self.client.aclose()

    # ------------------------------------------------------------ robots
    async def allowed(self, url: str) -> bool:
        """May we fetch this URL now? Reads (and caches) the origin's robots.txt."""
        return await self.permission(url) == "allowed"

    async def permission(self, url: str) -> Permission:
        """robots.txt's answer for this URL: "unreachable" when it could not
        be read (nothing may be fetched from that host for now, but that is
        no verdict on the URL); "refused" when the host's address may not be
        reached at all (learnt while fetching its robots.txt)."""
        origin = _origin(url)
        cached = self._robots.get(origin)
        if cached is None or cached.expires_at <= time.monotonic():
            lock = self._robots_locks.setdefault(origin, asyncio.Lock())
            async with lock:
                cached = self._robots.get(origin)
                if cached is None or cached.expires_at <= time.monotonic():
                    cached = await self._load_robots(origin)
                    self._robots[origin] = cached
        if cached.refusal is not None:
            return "refused"
        if cached.rules.unreachable:
            return "unreachable"
        return "allowed" if cached.rules.can_fetch(self.robots_agent, url) else "disallowed"

    async def _load_robots(self, origin: str) -> _Robots:
        url = origin + "/robots.txt"
        host = host_of(url)
        status: int | None = None
        body = b""
        refusal: str | None = None
        try:
            # Redirects of robots.txt itself are followed (RFC 9309 allows
            # five hops); they are not subject to robots rules.
            async with (
                self.gate.slot(host, url),
                self._requests,
                self.client.stream(
                    "GET", url, follow_redirects=True, headers={"Accept": "text/plain"}
                ) as response,
            ):
                status = response.status_code
                body = await _read_capped(response, MAX_ROBOTS_BYTES, url, truncate=True)
        except (httpx.HTTPError, FetchError) as exc:
            log.info("robots.txt unreachable", extra={"url": url, "error": repr(exc)})
        except AddressRefused:
            # The origin, or where its robots.txt redirects: either way a host
            # that leads inside is not read (for a while: DNS may change).
            refusal = _NOT_ALLOWED
        except httpx.InvalidURL:
            refusal = "invalid URL"
        rules = robots_from_response(status, body)
        unreachable = rules.unreachable or refusal is not None
        delay = rules.crawl_delay(self.robots_agent)
        if delay is not None:
            self.gate.set_delay(host, min(delay, self.settings.max_crawl_delay_s))
        # An unreachable robots.txt blocks the host: look again soon, not in an hour.
        ttl = min(self.settings.robots_ttl_s, 300.0) if unreachable else self.settings.robots_ttl_s
        return _Robots(rules, time.monotonic() + ttl, refusal)

    # ------------------------------------------------------------ requests
    async def fetch_feed(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET a feed, conditionally when we have its validators (304 answers
        are results, not errors)."""
        headers = {"Accept": _FEED_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._get(url, headers, self.settings.max_feed_bytes)

    async def fetch_page(self, url: str) -> FetchResult:
        """GET an article page; only HTML is accepted."""
        result = await self._get(url, {"Accept": _PAGE_ACCEPT}, self.settings.max_body_bytes)
        if result.content_type and result.content_type not in _HTML_TYPES:
            raise PermanentFetchError(
                url, f"not an HTML page ({result.content_type})", status=result.status
            )
        if not result.body.strip():
            raise PermanentFetchError(url, "empty page", status=result.status)
        return result

    async def _get(self, url: str, headers: dict[str, str], max_bytes: int) -> FetchResult:
        # A fragment never reaches the server; dropping it here keeps it out of
        # the result's URL too (it names a place in a page, not the article).
        current = urldefrag(url).url
        for _hop in range(self.settings.max_redirects + 1):
            await self._check_permission(current)
            host = host_of(current)
            response, body = await self._send(current, host, headers, max_bytes)
            status = response.status_code
            if status in _REDIRECTS:
                current = _redirect_target(current, response)
                continue
            if status == 304 or 200 <= status < 300:
                return _result(current, response, body)
            self._raise_for_status(current, host, response)
        raise PermanentFetchError(url, f"more than {self.settings.max_redirects} redirects")

    async def _check_permission(self, url: str) -> None:
        """Raise unless robots.txt and the address policy let us fetch `url`."""
        permission = await self.permission(url)
        if permission == "refused":
            cached = self._robots.get(_origin(url))
            raise AddressNotAllowed(url, (cached and cached.refusal) or _NOT_ALLOWED)
        if permission == "unreachable":
            raise TemporaryFetchError(url, "robots.txt unreachable; trying later")
        if permission == "disallowed":
            raise Disallowed(url, "disallowed by robots.txt")

    async def _send(
        self, url: str, host: str, headers: dict[str, str], max_bytes: int
    ) -> tuple[httpx.Response, bytes]:
        """One request through the host's gate: the answer and its body."""
        try:
            async with (
                self.gate.slot(host, url),
                self._requests,
                self.client.stream("GET", url, headers=headers) as response,
            ):
                # Only a 2xx body is worth reading (and its size is capped).
                if 200 <= response.status_code < 300:
                    return response, await _read_capped(response, max_bytes, url)
                return response, b""
        except AddressRefused as exc:
            # Its robots.txt was read from an allowed address, but this
            # connection's DNS answer was not one (it changed, or the
            # connection is new): same answer, same words.
            raise AddressNotAllowed(url, _NOT_ALLOWED) from exc
        except httpx.InvalidURL as exc:
            raise AddressNotAllowed(url, "invalid URL") from exc
        except httpx.TimeoutException as exc:
            raise TemporaryFetchError(url, f"timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise TemporaryFetchError(url, f"request failed: {exc!r}") from exc

    def _raise_for_status(self, url: str, host: str, response: httpx.Response) -> NoReturn:
        status = response.status_code
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        if status in (429, 503):
            # Keep the whole host quiet, not just this URL.
            self.gate.penalise(host, retry_after or self.gate.delay_of(host) * 10)
        if status in (408, 425, 429) or status >= 500:
            raise TemporaryFetchError(
                url, f"HTTP {status}", status=status, retry_after_s=retry_after
            )
        raise PermanentFetchError(url, f"HTTP {status}", status=status)


def _redirect_target(url: str, response: httpx.Response) -> str:
    """Where a redirect leads (the next hop is checked like a first request)."""
    status = response.status_code
    location = response.headers.get("location")
    if not location:
        raise PermanentFetchError(url, f"HTTP {status} without Location", status=status)
    target = urldefrag(urljoin(url, location)).url
    if urlsplit(target).scheme not in ("http", "https"):
        raise PermanentFetchError(target, "redirect to a non-HTTP URL", status=status)
    return target


def _result(url: str, response: httpx.Response, body: bytes) -> FetchResult:
    content_type = response.headers.get("content-type")
    return FetchResult(
        url=url,
        status=response.status_code,
        body=body,
        content_type=(content_type.split(";")[0].strip().lower() or None) if content_type else None,
        charset=response.charset_encoding,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
    )


async def _read_capped(
    response: httpx.Response, limit: int, url: str, truncate: bool = False
) -> bytes:
    """The decoded body, refusing (or cutting, for robots.txt) past `limit`
    bytes: the cap counts decompressed bytes, so a gzip bomb is stopped too."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit and not truncate:
        raise PermanentFetchError(url, f"larger than {limit} bytes", status=response.status_code)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            if truncate:
                chunks.append(chunk[: limit - (size - len(chunk))])
                break
            raise PermanentFetchError(
                url, f"larger than {limit} bytes", status=response.status_code
            )
        chunks.append(chunk)
    return b"".join(chunks)


__all__ = [
    "AddressNotAllowed",
    "Disallowed",
    "FetchError",
    "FetchResult",
    "Fetcher",
    "HostBackingOff",
    "HostGate",
    "PermanentFetchError",
    "Permission",
    "RobotsRules",
    "TemporaryFetchError",
    "decode_html",
    "host_of",
    "retry_after_seconds",
    "robots_from_response",
]
