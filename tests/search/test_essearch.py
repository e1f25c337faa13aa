"""The search service's lean ``_search`` client (services/search/essearch.py):
answers and refusals from the real Elasticsearch, raised as elasticsearch-py
raises them; timeouts, refused and stale connections; and the loop turns it
takes to put a request on the wire (what ``requests_sent`` relies on), on a
real socket served by a thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from uuid import uuid4

import pytest
import pytest_asyncio
from elastic_transport import ConnectionError, ConnectionTimeout, SerializationError
from elasticsearch import ApiError, AsyncElasticsearch, BadRequestError, NotFoundError

from services.search.essearch import SearchClient, requests_sent
from services.search.service import EMPTY_IF_MISSING
from shared.runtime.settings import SearchSettings

pytestmark = pytest.mark.asyncio

ANSWER = b'{"took":1,"timed_out":false,"hits":{"total":{"value":0},"hits":[]}}'
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(
    ANSWER
)


@pytest_asyncio.fixture
async def index(stack: None) -> AsyncIterator[tuple[str, str]]:
    """(Elasticsearch URL, an index holding one document)."""
    url = SearchSettings().es_url
    name = f"test-essearch-{uuid4().hex[:8]}"
    es = AsyncElasticsearch(url)
    await es.index(index=name, id="1", document={"title": "Weizsäcker"}, refresh="wait_for")
    try:
        yield url, name
    finally:
        await es.indices.delete(index=name, ignore_unavailable=True)
        await es.close()


async def test_a_search_answers_the_parsed_body(index: tuple[str, str]) -> None:
    url, name = index
    client = SearchClient(url, timeout_s=5)
    try:
        found = await client.search({"query": {"match": {"title": "Weizsäcker"}}}, name)
    finally:
        await client.close()
    assert found["hits"]["total"]["value"] == 1
    assert found["hits"]["hits"][0]["_source"] == {"title": "Weizsäcker"}


async def test_refusals_are_elasticsearch_py_exceptions(index: tuple[str, str]) -> None:
    url, name = index
    client = SearchClient(url, timeout_s=5)
    try:
        with pytest.raises(BadRequestError) as refused:
            await client.search({"query": {"no_such_query": {}}}, name)
        assert refused.value.status_code == 400
        assert refused.value.message == "parsing_exception"
        assert refused.value.body["error"]["type"] == "parsing_exception"
        with pytest.raises(NotFoundError):
            await client.search({"query": {"match_all": {}}}, f"{name}-missing")
        # What the service asks for its alias: a missing index is no error.
        empty = await client.search(
            {"query": {"match_all": {}}}, f"{name}-missing", EMPTY_IF_MISSING
        )
        assert empty["hits"]["total"]["value"] == 0
    finally:
        await client.close()


async def test_a_refused_connection_is_a_connection_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = SearchClient(f"http://127.0.0.1:{port}", timeout_s=5)
    try:
        with pytest.raises(ConnectionError):
            await client.search({"size": 0})
    finally:
        await client.close()


def reply(status: int, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body


class Server:
    """A real HTTP/1.1 server on a thread, one connection at a time: it
    answers each request with the next of `replies`, then with ANSWER; or
    never (``silent``); or once, then closes the connection without saying
    so (``close_after_one``)."""

    def __init__(
        self,
        *,
        silent: bool = False,
        close_after_one: bool = False,
        replies: tuple[bytes, ...] = (),
    ) -> None:
        self.silent = silent
        self.close_after_one = close_after_one
        self.replies = list(replies)
        self.arrived = threading.Event()
        self.connections = 0
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(10)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                self._answer(connection)

    def _answer(self, connection: socket.socket) -> None:
        while True:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                request += chunk
            self.arrived.set()
            self.requests += 1
            if self.silent:
                continue
            connection.sendall(self.replies.pop(0) if self.replies else HEAD + ANSWER)
            if self.close_after_one:
                return

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


@asynccontextmanager
async def asking(server: Server, timeout_s: float = 5) -> AsyncIterator[SearchClient]:
    """A client of `server`; both closed at the end."""
    client = SearchClient(server.url, timeout_s=timeout_s)
    try:
        yield client
    finally:
        await client.close()
        server.close()


async def test_a_request_is_on_the_wire_once_requests_sent_returns(server: Server) -> None:
    """``requests_sent``'s two loop turns are what the installed aiohttp
    takes, on a pooled connection, to write a request: the loop is then
    blocked, so nothing written later could reach the server."""
    async with asking(server) as client:
        await client.search({"size": 0})  # the connection, pooled
        server.arrived.clear()
        pending = asyncio.ensure_future(client.search({"size": 0}))
        await requests_sent()
        assert server.arrived.wait(2.0), "the request was not written in two loop turns"
        assert (await pending)["took"] == 1


async def test_no_answer_in_time_is_a_connection_timeout() -> None:
    async with asking(Server(silent=True), timeout_s=0.3) as client:
        with pytest.raises(ConnectionTimeout):
            await client.search({"size": 0})


async def test_a_connection_the_server_closed_is_tried_again_on_a_new_one() -> None:
    """Each search after the first finds the connection the server closed
    still pooled (no loop turn in between for the close to arrive)."""
    closing = Server(close_after_one=True)
    async with asking(closing) as client:
        for _ in range(3):
            assert (await client.search({"size": 0}))["took"] == 1
    assert closing.connections == 3


BUSY = reply(429, b'{"error":{"type":"es_rejected_execution_exception"},"status":429}')


async def test_a_busy_node_is_asked_again_up_to_three_more_times() -> None:
    """As elasticsearch-py did: 429, 502, 503 and 504 are tried again."""
    recovering = Server(replies=(BUSY, reply(503, b"unavailable"), BUSY))
    busy = Server(replies=(BUSY,) * 4)
    async with asking(recovering) as client, asking(busy) as refusing:
        assert (await client.search({"size": 0}))["took"] == 1
        with pytest.raises(ApiError) as refused:
            await refusing.search({"size": 0})
    assert recovering.requests == 4 and busy.requests == 4
    assert refused.value.status_code == 429
    assert refused.value.message == "es_rejected_execution_exception"


@pytest.mark.parametrize("body", [b"not json", b'{"a": 1e400}', b"[1, 2]", b""])
async def test_an_answer_that_is_no_json_object_is_a_transport_error(body: bytes) -> None:
    """A transport failure (a 503 at the API, a follow-up left out), as
    elasticsearch-py's SerializationError was; never an unhandled error."""
    async with asking(Server(replies=(reply(200, body),))) as client:
        with pytest.raises(SerializationError):
            await client.search({"size": 0})


async def test_a_closed_client_refuses_rather_than_opening_a_session(server: Server) -> None:
    client = SearchClient(server.url, timeout_s=5)
    await client.search({"size": 0})
    await client.close()
    with pytest.raises(ConnectionError):
        await client.search({"size": 0})
