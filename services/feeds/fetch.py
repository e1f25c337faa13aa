"""Polite HTTP: every request the poller makes goes through here.

Politeness is enforced at the lowest level, so no code path can forget it:
at most one request at a time per host and a pause between two requests to
a host (``HostGate``), robots.txt checked for every URL including each
redirect hop (``RobotsCache``), bounded sizes and timeouts, and conditional
requests for feeds. Errors come in two kinds the poller treats differently:
``TemporaryFetchError`` (try again later, with backoff) and
``PermanentFetchError`` (this URL will not work; do not insist).
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from services.feeds.settings import PollerSettings

log = logging.getLogger(__name__)

Permission = Literal["allowed", "disallowed", "unreachable"]

_REDIRECTS = {301, 302, 303, 307, 308}
# RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt.
_MAX_ROBOTS_BYTES = 512 * 1024
# A server asking for more than a day of quiet gets a day.
_MAX_RETRY_AFTER_S = 86400.0
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.I)
_FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


# ---------------------------------------------------------------- errors
class FetchError(Exception):
    """A request that did not give us the resource."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{reason} ({url})")
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after_s = retry_after_s


class TemporaryFetchError(FetchError):
    """Timeouts, refused connections, 5xx, 408, 429: the same request may
    work later; retry with backoff."""


class PermanentFetchError(FetchError):
    """4xx, too large, not HTML, redirect loops: asking again will not help."""


class Disallowed(PermanentFetchError):
    """robots.txt forbids this URL to our user agent."""


class HostBackingOff(TemporaryFetchError):
    """The host asked us (Retry-After) to stay away for longer than a poll
    should wait; the request was not sent."""


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


# ---------------------------------------------------------------- per-host politeness
@dataclass
class _Host:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_at: float = 0.0  # monotonic time before which no request may start
    delay_s: float | None = None  # robots.txt Crawl-delay, when larger than the default


class HostGate:
    """One request at a time per host, and `min_delay_s` between the end of
    one request and the start of the next.

    The pause is measured from the end of a request, so a slow server gets
    more room, not less. State is per process: hence one poller per
    namespace (the poller holds a Redis lease)."""

    def __init__(
        self,
        min_delay_s: float,
        max_wait_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.min_delay_s = min_delay_s
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}

    def _host(self, host: str) -> _Host:
        return self._hosts.setdefault(host, _Host())

    def set_delay(self, host: str, delay_s: float | None) -> None:
        """A Crawl-delay for this host (only ever raises the default)."""
        self._host(host).delay_s = delay_s

    def delay_of(self, host: str) -> float:
        extra = self._host(host).delay_s
        return max(self.min_delay_s, extra or 0.0)

    def penalise(self, host: str, seconds: float) -> None:
        """The host said 'not now' (429/503 with Retry-After): keep away."""
        state = self._host(host)
        state.next_at = max(state.next_at, self._clock() + seconds)

    @asynccontextmanager
    async def slot(self, host: str, url: str = "") -> AsyncIterator[None]:
        """Hold the host for one request."""
        state = self._host(host)
        async with state.lock:
            wait = state.next_at - self._clock()
            if wait > self.max_wait_s:
                raise HostBackingOff(
                    url or host, f"{host} asked us to wait {wait:.0f}s", retry_after_s=wait
                )
            if wait > 0:
                await self._sleep(wait)
            try:
                yield
            finally:
                state.next_at = max(state.next_at, self._clock() + self.delay_of(host))


# ---------------------------------------------------------------- robots.txt
@dataclass(frozen=True)
class RobotsRules:
    """A host's robots.txt as RFC 9309 reads it. `rules` is None when the
    answer was not a file: then everything is allowed (4xx: "unavailable")
    or nothing is (5xx, 429, no answer: "unreachable")."""

    rules: RobotFileParser | None
    allow_all: bool = False

    @property
    def unreachable(self) -> bool:
        return self.rules is None and not self.allow_all

    def can_fetch(self, agent: str, url: str) -> bool:
        if self.rules is None:
            return self.allow_all
        return self.rules.can_fetch(agent, url)

    def crawl_delay(self, agent: str) -> float | None:
        if self.rules is None:
            return None
        delay = self.rules.crawl_delay(agent)
        return float(delay) if delay is not None else None


def robots_from_response(status: int | None, body: bytes) -> RobotsRules:
    """Read a robots.txt answer (`status` None: no answer at all)."""
    if status is not None and 200 <= status < 300:
        parser = RobotFileParser()
        parser.parse(body[:_MAX_ROBOTS_BYTES].decode("utf-8", errors="replace").splitlines())
        return RobotsRules(parser)
    return RobotsRules(None, allow_all=status is not None and 400 <= status < 500 and status != 429)


@dataclass
class _Robots:
    rules: RobotsRules
    expires_at: float


# ---------------------------------------------------------------- the fetcher
def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class Fetcher:
    """The poller's HTTP client: polite, bounded, robots-aware."""

    def __init__(self, settings: PollerSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.user_agent = settings.user_agent
        # The token robots.txt groups are matched against: "NewsflowBot/0.1 (...)" -> NewsflowBot.
        self.robots_agent = settings.user_agent.split("/")[0].split()[0]
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
            headers={"User-Agent": settings.user_agent},
            # Redirects are followed by hand: each hop is checked against robots.txt
            # and goes through its host's gate.
            follow_redirects=False,
            limits=httpx.Limits(max_connections=settings.max_concurrent_requests * 2),
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
        no verdict on the URL)."""
        origin = _origin(url)
        cached = self._robots.get(origin)
        if cached is None or cached.expires_at <= time.monotonic():
            lock = self._robots_locks.setdefault(origin, asyncio.Lock())
            async with lock:
                cached = self._robots.get(origin)
                if cached is None or cached.expires_at <= time.monotonic():
                    cached = await self._load_robots(origin)
                    self._robots[origin] = cached
        if cached.rules.unreachable:
            return "unreachable"
        return "allowed" if cached.rules.can_fetch(self.robots_agent, url) else "disallowed"

    async def _load_robots(self, origin: str) -> _Robots:
        url = origin + "/robots.txt"
        host = host_of(url)
        status: int | None = None
        body = b""
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
                body = await _read_capped(response, _MAX_ROBOTS_BYTES, url, truncate=True)
        except (httpx.HTTPError, FetchError) as exc:
            log.info("robots.txt unreachable", extra={"url": url, "error": repr(exc)})
        rules = robots_from_response(status, body)
        unreachable = rules.unreachable
        delay = rules.crawl_delay(self.robots_agent)
        if delay is not None:
            self.gate.set_delay(host, min(delay, self.settings.max_crawl_delay_s))
        # An unreachable robots.txt blocks the host: look again soon, not in an hour.
        ttl = min(self.settings.robots_ttl_s, 300.0) if unreachable else self.settings.robots_ttl_s
        return _Robots(rules, time.monotonic() + ttl)

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
            permission = await self.permission(current)
            if permission == "unreachable":
                raise TemporaryFetchError(current, "robots.txt unreachable; trying later")
            if permission == "disallowed":
                raise Disallowed(current, "disallowed by robots.txt")
            host = host_of(current)
            try:
                async with (
                    self.gate.slot(host, current),
                    self._requests,
                    self.client.stream("GET", current, headers=headers) as response,
                ):
                    # Only a 2xx body is worth reading (and its size is capped).
                    if 200 <= response.status_code < 300:
                        body = await _read_capped(response, max_bytes, current)
                    else:
                        body = b""
            except httpx.TimeoutException as exc:
                raise TemporaryFetchError(current, f"timed out ({type(exc).__name__})") from exc
            except httpx.HTTPError as exc:
                raise TemporaryFetchError(current, f"request failed: {exc!r}") from exc
            status = response.status_code
            if status in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise PermanentFetchError(
                        current, f"HTTP {status} without Location", status=status
                    )
                current = urldefrag(urljoin(current, location)).url
                if urlsplit(current).scheme not in ("http", "https"):
                    raise PermanentFetchError(current, "redirect to a non-HTTP URL", status=status)
                continue
            if status == 304 or 200 <= status < 300:
                content_type = response.headers.get("content-type")
                return FetchResult(
                    url=current,
                    status=status,
                    body=body,
                    content_type=(content_type.split(";")[0].strip().lower() or None)
                    if content_type
                    else None,
                    charset=response.charset_encoding,
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                )
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
            if status in (429, 503):
                # Keep the whole host quiet, not just this URL.
                self.gate.penalise(host, retry_after or self.gate.delay_of(host) * 10)
            if status in (408, 425, 429) or status >= 500:
                raise TemporaryFetchError(
                    current, f"HTTP {status}", status=status, retry_after_s=retry_after
                )
            raise PermanentFetchError(current, f"HTTP {status}", status=status)
        raise PermanentFetchError(url, f"more than {self.settings.max_redirects} redirects")


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
