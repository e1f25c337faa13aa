"""The search API's uvicorn protocol (services/search/wire.py) sends every
byte, in order: a response's head joined with its body, streamed chunks of
every size, keep-alive requests one after another, and a closing connection.
A real uvicorn server on a free port, a raw socket as the client."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from services.search.wire import HOLD_MAX_BYTES

pytestmark = pytest.mark.asyncio

BIG = b"x" * (HOLD_MAX_BYTES * 40)
CHUNKS = [b"a", b"b" * (HOLD_MAX_BYTES + 1), b"", b"c" * 10, BIG, b"d"]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for chunk in CHUNKS:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    body = BIG if scope["path"] == "/big" else b"small"
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = int(s.getsockname()[1])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=free,
        http="services.search.wire:HeadWithBodyProtocol",
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield free
    server.should_exit = True
    await task


async def exchange(port: int, requests: list[bytes]) -> bytes:
    """Send the requests, read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"".join(requests))
    await writer.drain()
    received = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    return received


def get(path: str, close: bool = False) -> bytes:
    extra = b"connection: close\r\n" if close else b""
    return b"GET " + path.encode() + b" HTTP/1.1\r\nhost: t\r\n" + extra + b"\r\n"


def dechunk(body: bytes) -> bytes:
    out = b""
    while True:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            return out
        out, body = out + rest[:n], rest[n + 2 :]


async def test_heads_bodies_and_keep_alive_arrive_whole(port: int) -> None:
    received = await exchange(port, [get("/small"), get("/big"), get("/small", close=True)])
    responses = received.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert len(responses) == 3
    bodies = [r.partition(b"\r\n\r\n")[2] for r in responses]
    assert bodies == [b"small", BIG, b"small"]


async def test_a_stream_arrives_whole_and_in_order(port: int) -> None:
    received = await exchange(port, [get("/stream", close=True)])
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert dechunk(body) == b"".join(CHUNKS)
