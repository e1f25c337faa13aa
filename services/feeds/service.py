"""The feed poller as a process (``newsflow poller``): wait for Kafka, poll
until SIGTERM, flush on the way out; ``/healthz`` and ``/readyz`` for
services.sh, compose and Kubernetes probes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Callable

from services.feeds.fetch import Fetcher
from services.feeds.poller import Poller
from services.feeds.registry import SourceRegistry
from services.feeds.settings import PollerSettings
from services.ingestion.core import Ingestor, Unavailable

log = logging.getLogger(__name__)


class HealthServer:
    """``/healthz`` (the process is up) and ``/readyz`` (Kafka connected and
    this poller holds the lease) for services.sh and compose healthchecks.
    Plain asyncio: two fixed answers do not need a web framework, and one
    would bring its own signal handling into this process."""

    def __init__(self, host: str, port: int, checks: Callable[[], dict[str, bool]]) -> None:
        self.host = host
        self.port = port
        self.checks = checks
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def answer(self, path: str) -> tuple[int, dict[str, object]]:
        if path == "/healthz":
            return 200, {"status": "ok"}
        if path == "/readyz":
            checks = self.checks()
            status = 200 if all(checks.values()) else 503
            return status, {name: "ok" if ok else "no" for name, ok in checks.items()}
        return 404, {"detail": "not found"}

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)).strip():
                pass  # headers: not needed
            parts = request.decode("latin-1").split()
            status, body = self.answer(parts[1] if len(parts) > 1 else "/")
            payload = json.dumps(body).encode()
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass  # a probe that hung up or dawdled
        finally:
            writer.close()


async def wait_for_kafka(ingestor: Ingestor, stop: asyncio.Event) -> bool:
    """Connect the producer, retrying with backoff; False if asked to stop first."""
    delay = 1.0
    while not stop.is_set():
        try:
            await ingestor.start()
            return True
        except Unavailable as exc:
            log.warning("waiting for Kafka", extra={"error": exc.reason, "retry_in_s": delay})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 30.0)
    return False


async def serve(settings: PollerSettings, stop: asyncio.Event) -> None:
    """Wait for Kafka, then poll until `stop` is set; flush on the way out."""
    ingestor = Ingestor(settings)
    fetcher = Fetcher(settings)
    registry = SourceRegistry(ingestor.status.redis, settings.namespace)
    poller = Poller(settings, registry, ingestor, fetcher)
    health = HealthServer(
        settings.host,
        settings.web_port,
        lambda: {"kafka": ingestor.producer is not None, "lease": poller.holding_lease},
    )
    if settings.web_port:
        await health.start()
    try:
        if await wait_for_kafka(ingestor, stop):
            await poller.run(stop)
    finally:
        await health.stop()
        await fetcher.aclose()
        await ingestor.stop()  # flushes the producer


def main(web_port: int | None = None) -> None:
    from shared.runtime.logs import configure_logging

    settings = PollerSettings()
    if web_port is not None:
        settings = settings.model_copy(update={"web_port": web_port})
    configure_logging(settings.log_level, service="newsflow-poller")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # SIGTERM asks for a graceful stop: running polls finish, the
        # producer flushes; nothing is cut mid-article.
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(run())
