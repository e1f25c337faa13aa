"""A small web site for the feed tests: feeds, pages, robots.txt, 304s,
slow and failing endpoints, on a free 127.0.0.1 port, in a thread.

Every request is logged with its host, path, headers, answer and timing, so
tests can assert what the poller did and did not fetch, and how politely."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

# Three real article pages of the extraction benchmark (MIT, Scrapinghub:
# pages/LICENSE-extraction-benchmark), kept in the repo so that the tests
# run in a clean clone.
PAGES = Path(__file__).resolve().parent / "pages"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A client dropping a kept-alive connection (the poller's timeout
        # test, or its shutdown) is not a server error worth a traceback.
        pass


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    host: str
    path: str  # with the query string
    headers: dict[str, str]
    status: int
    started: float
    ended: float


class FeedSite:
    """Routes by host name and path, or by path alone (the query string is
    ignored): 127.0.0.1 and localhost are two hosts of one server.

    `address` and `port` place it elsewhere than a free 127.0.0.1 port: the
    security tests run a stand-in "public" site on 127.0.0.2 on the same
    port as an "internal" one on 127.0.0.1, so that a connection to the
    wrong address would land on the internal site, not fail."""

    def __init__(self, address: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"site": self})
        self.server = _QuietServer((address, port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def set(self, path: str, route: Route, host: str = "") -> None:
        """Serve `route` at `path`, on every host name or only on `host`."""
        self.routes[f"{host}{path}"] = route

    def hits_for(self, path_prefix: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path.startswith(path_prefix)]

    async def served(self, count: int) -> list[str]:
        """The paths answered so far, once `count` of them are logged (or
        after 2 s): a request is logged just after its answer is sent, so
        a client can read the answer before the log has it."""
        for _ in range(100):
            with self._lock:
                if len(self.hits) >= count:
                    break
            await asyncio.sleep(0.02)
        with self._lock:
            return [hit.path for hit in self.hits]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    """Answers from its FeedSite's routes and logs every request there
    (`site` is set on a subclass per site)."""

    protocol_version = "HTTP/1.1"
    site: FeedSite

    def do_GET(self) -> None:
        started = time.monotonic()
        path = urlsplit(self.path).path
        host = self.headers.get("Host", "").rsplit(":", 1)[0]
        route = self.site.routes.get(f"{host}{path}") or self.site.routes.get(path)
        status = self._answer(route)
        with self.site._lock:
            self.site.hits.append(
                Hit(
                    self.headers.get("Host", ""),
                    self.path,
                    dict(self.headers.items()),
                    status,
                    started,
                    time.monotonic(),
                )
            )

    def _answer(self, route: Route | None) -> int:
        if route is None:
            return self._send(404, b"not found", "text/plain")
        if route.delay_s:
            time.sleep(route.delay_s)
        if (route.etag and self.headers.get("If-None-Match") == route.etag) or (
            route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified
        ):
            return self._send(304, b"", None, route)
        return self._send(route.status, route.body, route.content_type, route)

    def _send(
        self, status: int, body: bytes, content_type: str | None, route: Route | None = None
    ) -> int:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if route is not None:
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.last_modified:
                self.send_header("Last-Modified", route.last_modified)
            for name, value in route.headers.items():
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            # The client may have given up (the timeout test).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)
        return status

    def log_message(self, format: str, *args: object) -> None:
        pass


# ---------------------------------------------------------------- content
def eval_pages(count: int) -> list[bytes]:
    """Real article pages (MIT-licensed extraction benchmark), up to three."""
    paths = sorted(PAGES.glob("*.html.gz"))[:count]
    assert len(paths) == count, f"only {len(paths)} pages in {PAGES}"
    return [gzip.decompress(p.read_bytes()) for p in paths]


@dataclass(frozen=True)
class Item:
    url: str
    title: str
    published: datetime | None = None
    author: str | None = None


def rss(items: list[Item], title: str = "Test feed", language: str = "en-us") -> bytes:
    parts = [
        f"<?xml version='1.0' encoding='utf-8'?>\n<rss version='2.0' "
        f"xmlns:dc='http://purl.org/dc/elements/1.1/'><channel><title>{escape(title)}"
        f"</title><link>http://example.org/</link><description>d</description>"
        f"<language>{language}</language>"
    ]
    for item in items:
        parts.append(f"<item><title>{escape(item.title)}</title><link>{escape(item.url)}</link>")
        if item.published:
            parts.append(f"<pubDate>{format_datetime(item.published)}</pubDate>")
        if item.author:
            parts.append(f"<dc:creator>{escape(item.author)}</dc:creator>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def atom(items: list[Item], title: str = "Test Atom feed") -> bytes:
    parts = [
        "<?xml version='1.0' encoding='utf-8'?>\n<feed xmlns='http://www.w3.org/2005/Atom'>"
        f"<title>{escape(title)}</title><id>urn:test</id>"
        "<updated>2024-01-01T00:00:00Z</updated>"
    ]
    for item in items:
        parts.append(
            f"<entry><title>{escape(item.title)}</title><id>{escape(item.url)}</id>"
            f"<link rel='alternate' href='{escape(item.url)}'/>"
            "<updated>2024-01-02T00:00:00Z</updated>"
        )
        if item.published:
            parts.append(f"<published>{item.published.isoformat()}</published>")
        if item.author:
            parts.append(f"<author><name>{escape(item.author)}</name></author>")
        parts.append("</entry>")
    parts.append("</feed>")
    return "".join(parts).encode()


def news_sitemap(items: list[Item], language: str = "en") -> bytes:
    parts = [
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
        "xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>"
    ]
    for item in items:
        parts.append(
            f"<url><loc>{escape(item.url)}</loc><news:news><news:publication>"
            f"<news:name>Test</news:name><news:language>{language}</news:language>"
            "</news:publication>"
        )
        if item.published:
            parts.append(
                f"<news:publication_date>{item.published.isoformat()}</news:publication_date>"
            )
        parts.append(f"<news:title>{escape(item.title)}</news:title></news:news></url>")
    parts.append("</urlset>")
    return "".join(parts).encode()


def sitemap_index(urls: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<sitemap><loc>{escape(u)}</loc><lastmod>{m}</lastmod></sitemap>" for u, m in urls
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n<sitemapindex "
        f"xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{body}</sitemapindex>"
    ).encode()


def html_page(title: str, paragraphs: int = 6) -> bytes:
    """A small article page of distinct paragraphs."""
    body = "".join(
        f"<p>Paragraph {i} of the story about {escape(title)}: officials met on Monday and "
        f"agreed on the next steps of a plan that several ministers had questioned.</p>"
        for i in range(paragraphs)
    )
    return (
        f"<html><head><title>{escape(title)}</title></head><body><article>"
        f"<h1>{escape(title)}</h1>{body}</article></body></html>"
    ).encode()


def overlapping(hits: list[Hit]) -> list[tuple[Hit, Hit]]:
    """Pairs of requests that were in flight at the same time."""
    ordered = sorted(hits, key=lambda h: h.started)
    return [(a, b) for a, b in itertools.pairwise(ordered) if b.started < a.ended]


def gaps(hits: list[Hit]) -> Iterator[float]:
    """Time from the end of each request to the start of the next."""
    ordered = sorted(hits, key=lambda h: h.started)
    for a, b in itertools.pairwise(ordered):
        yield b.started - a.ended


__all__ = ["FeedSite", "Hit", "Item", "Route"]
