"""The search service's ``_search`` requests, over one aiohttp session of its own.

Why not the elasticsearch-py client the rest of the service uses: a search
is the service's hot path, and that client's layers (the node pool, its
header objects, response wrappers, request logging) cost ~0.4 CPU-ms per
request on this machine over a bare aiohttp POST of the same body, and a
search page makes 1.8 requests on average (``bench/search_client_cost.py``;
docs/benchmarks.md, "Fourth pass"). Only ``_search`` comes here, to the one
node the service is given: a body in, the parsed answer out. Every other
request (documents, points in time, mappings) stays with elasticsearch-py.

It behaves as the service's elasticsearch-py client did, so every caller and
the API's error handlers are unchanged:

- the same headers (JSON, compatible with version 8 answers), no
  compression, no cookies kept;
- an error status is the ``ApiError`` subclass elasticsearch-py raises for
  it (``BadRequestError`` for 400, ``NotFoundError`` for 404, ...), with
  Elasticsearch's error type as its message and the parsed body; an answer
  that is not a JSON object is ``SerializationError``;
- a busy or unavailable node (429, 502, 503, 504) and a pooled keep-alive
  connection Elasticsearch has since closed are tried again, up to 3 more
  times (elasticsearch-py's defaults; a search is read-only);
- no answer within the time budget is ``ConnectionTimeout`` (not tried
  again); a refused connection is ``ConnectionError`` at once (the node is
  down; elasticsearch-py, with its one node, ends the same way).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from elastic_transport import (
    ApiResponseMeta,
    ConnectionError,
    ConnectionTimeout,
    HttpHeaders,
    NodeConfig,
    SerializationError,
)
from elastic_transport.client_utils import url_to_node_config
from elasticsearch.exceptions import HTTP_EXCEPTIONS, ApiError

# What elasticsearch-py 8 sends: Elasticsearch answers in its version 8 form.
COMPATIBLE_JSON = "application/vnd.elasticsearch+json; compatible-with=8"
HEADERS = {"Content-Type": COMPATIBLE_JSON, "Accept": COMPATIBLE_JSON}

# As many connections as searches this process runs at once against the
# node; beyond it, searches wait for a connection rather than open more.
MAX_CONNECTIONS = 32

# Tries after the first, and what is tried again (elasticsearch-py's defaults).
MAX_RETRIES = 3
RETRY_STATUSES = frozenset({429, 502, 503, 504})

# A pooled connection the server closed while it sat idle. (A refused
# connection, aiohttp.ClientConnectorError, is a ClientOSError too: it is
# caught first.)
STALE_CONNECTION = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)


class SearchClient:
    """POSTs search bodies to ``<url>/<index>/_search`` (or ``<url>/_search``
    for a point in time) and returns the answer as a dict."""

    def __init__(self, url: str, *, timeout_s: float) -> None:
        self._url = url.rstrip("/")
        self._node: NodeConfig = url_to_node_config(self._url)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop (aiohttp's rule). No
        # Accept-Encoding: a gzipped ~23 KB answer costs more to inflate than
        # it saves on a local network (elasticsearch-py asks for none either).
        if self._closed:  # a search still running as the service stops
            raise ConnectionError(f"{self._url}: the search client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
                timeout=self._timeout,
                skip_auto_headers=("Accept-Encoding", "User-Agent"),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()

    async def search(
        self, body: dict[str, Any], index: str | None = None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        path = f"/{index}/_search" if index else "/_search"
        url = f"{self._url}{path}?{urlencode(params)}" if params else f"{self._url}{path}"
        data = orjson.dumps(body)
        for retries_left in range(MAX_RETRIES, -1, -1):
            try:
                return await self._post(url, data)
            except ApiError as exc:
                if exc.meta.status not in RETRY_STATUSES or not retries_left:
                    raise
            except TimeoutError as exc:
                raise ConnectionTimeout(
                    f"no answer from {self._url} in time", errors=(exc,)
                ) from exc
            except aiohttp.ClientConnectorError as exc:
                raise ConnectionError(f"{self._url}: {exc!r}", errors=(exc,)) from exc
            except STALE_CONNECTION as exc:
                if not retries_left:
                    raise ConnectionError(f"{self._url}: {exc!r}", errors=(exc,)) from exc
            except aiohttp.ClientError as exc:
                raise ConnectionError(f"{self._url}: {exc!r}", errors=(exc,)) from exc
        raise AssertionError("unreachable: the last try returns or raises")

    async def _post(self, url: str, data: bytes) -> dict[str, Any]:
        started = time.perf_counter()
        async with self._open().post(url, data=data, headers=HEADERS) as answer:
            content = await answer.read()
            if not 200 <= answer.status < 300:
                raise self._refusal(answer, content, time.perf_counter() - started)
        try:
            found = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise SerializationError(f"{self._url} answered a search with no JSON") from exc
        if not isinstance(found, dict):
            raise SerializationError(f"{self._url} answered a search with {type(found).__name__}")
        return found

    def _refusal(self, answer: aiohttp.ClientResponse, content: bytes, duration: float) -> ApiError:
        """The exception elasticsearch-py raises for this error status."""
        try:
            body: Any = orjson.loads(content)
        except orjson.JSONDecodeError:
            body = content.decode("utf-8", "replace")
        message: Any = body
        if isinstance(body, dict):
            error = body.get("error", body)
            message = error.get("type", error) if isinstance(error, dict) else error
        version = answer.version
        meta = ApiResponseMeta(
            status=answer.status,
            http_version=f"{version.major}.{version.minor}" if version else "1.1",
            headers=HttpHeaders(answer.headers),
            duration=duration,
            node=self._node,
        )
        return HTTP_EXCEPTIONS.get(answer.status, ApiError)(
            message=str(message), meta=meta, body=body
        )


async def requests_sent() -> None:
    """Return once requests just started (as tasks) are on the wire.

    On a pooled connection aiohttp takes two loop turns from a request
    task's start to its bytes on the socket: the first makes the request
    and schedules its writer, the second writes. A search that shapes its
    page while follow-up requests are out waits these two turns first, or
    its shaping would run before they left and nothing would overlap
    (``tests/search/test_essearch.py`` checks the count on the installed
    aiohttp). A request that must open a connection first takes longer: it
    then simply overlaps less.
    """
    await asyncio.sleep(0)
    await asyncio.sleep(0)
