"""uvicorn's httptools protocol, sending a response's head and body together.

uvicorn writes a response's status line and headers to the socket as soon as
the app sends ``http.response.start``, and the body in a second write: two
segments on the wire, so the client wakes up for the head, then again for
the body. On a loaded 2-core machine each wake-up may wait for a core; the
head written alone also woke the client in the middle of our own write.
Measured beside the search's Elasticsearch requests (``bench/search_latency.py``
conditions, the same tree with and without this, alternating): the API's
median round trip 1.1-1.7 ms shorter.

``HeadWithBody`` holds one small write (a head, or a small chunk) until the
next write, which goes out joined with it, or until the event loop's next
turn, whichever comes first. Larger writes go straight to the socket, so
uvicorn's flow control (pause when the socket's buffer is full) sees every
large write as before, and a streamed export holds at most one small chunk.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Larger than any response head we send; smaller than a search's body.
HOLD_MAX_BYTES = 4096


class HeadWithBody(asyncio.Transport):
    """A transport that joins a small write with the one that follows it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held = b""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held:
            data, self._held = self._held + bytes(data), b""
        elif len(data) <= HOLD_MAX_BYTES and not self._transport.is_closing():
            self._held = bytes(data)
            self._loop.call_soon(self._flush)
            return
        self._transport.write(data)

    def _flush(self) -> None:
        if self._held:
            held, self._held = self._held, b""
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = b""
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()


class HeadWithBodyProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a ``HeadWithBody`` transport (``app.main``
    names it to uvicorn as ``services.search.wire:HeadWithBodyProtocol``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeadWithBody(transport, self.loop))
