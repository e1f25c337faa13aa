"""The least a Python HTTP service adds in front of Elasticsearch on this machine.

A bare ASGI app on the search API's own server stack (uvicorn, httptools with
``services.search.wire``'s protocol, uvloop) and the HTTP client the search
API's Elasticsearch client runs on (aiohttp). It has no routing, no parameters
to read, no query to build and no answer to shape: for a search it replays
Elasticsearch bodies registered beforehand (``PUT /bodies/<key>``, a JSON list:
the first body, then the follow-ups), sending the first, then the follow-ups
together, as the search API does, and answers with Elasticsearch's first answer
as it came (``GET /run/<key>``).

``bench/search_latency.py --floor`` times it beside the API and the direct
requests: whatever the API adds beyond this floor is its own Python work.

    .venv/bin/python bench/_floor_proxy.py PORT http://127.0.0.1:9200/<alias>/_search
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import orjson
import uvicorn
from starlette.types import Receive, Scope, Send

JSON_HEADERS = {"Content-Type": "application/json"}


class FloorProxy:
    """Replays registered Elasticsearch bodies (see the module docstring)."""

    def __init__(self, search_url: str) -> None:
        self.search_url = search_url
        self.bodies: dict[str, list[bytes]] = {}
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["method"] == "PUT":
            key = scope["path"].rsplit("/", 1)[-1]
            self.bodies[key] = [orjson.dumps(body) for body in orjson.loads(await read(receive))]
            await answer(send, 204, b"")
        else:
            await answer(send, 200, await self.run(self.bodies[scope["path"].rsplit("/", 1)[-1]]))

    async def run(self, bodies: list[bytes]) -> bytes:
        first, *followups = bodies
        found = await self.post(first)
        if followups:
            await asyncio.gather(*(self.post(body) for body in followups))
        return found

    async def post(self, body: bytes) -> bytes:
        assert self.session is not None
        async with self.session.post(self.search_url, data=body, headers=JSON_HEADERS) as reply:
            reply.raise_for_status()
            return await reply.read()

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Uncompressed answers, as the service's Elasticsearch client asks.
                self.session = aiohttp.ClientSession(skip_auto_headers=("Accept-Encoding",))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.session is not None:
                    await self.session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    port, search_url = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(
        FloorProxy(search_url),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        http="services.search.wire:HeadWithBodyProtocol",
        loop="uvloop",
    )


if __name__ == "__main__":
    main()
