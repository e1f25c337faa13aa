"""Plumbing shared by the HTTP services (ingestion, search): request metrics and serving."""

from __future__ import annotations

import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.runtime import metrics


class RequestMetrics:
    """Counts requests by route and status and adds X-Response-Time-ms.
    Plain ASGI rather than @app.middleware("http"), which wraps every
    request in an extra task and stream: measurable on a fast search."""

    def __init__(self, app: ASGIApp, stage: str) -> None:
        self.app = app
        self.stage = stage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                elapsed_ms = (time.monotonic() - started) * 1000
                MutableHeaders(scope=message).append("X-Response-Time-ms", f"{elapsed_ms:.1f}")
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(self.stage, route, str(status)).inc()


def serve(app: ASGIApp, *, host: str, port: int, log_level: str, service: str) -> None:
    """Run an HTTP service with the JSON logs (uvicorn's own log config off)."""
    import uvicorn

    from shared.runtime.logs import configure_logging

    configure_logging(log_level, service=service)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
