"""Plumbing shared by the HTTP services (ingestion, search): request metrics,
security headers, offline API docs, and serving.

Both apps call ``install_security(app)`` once, in ``create_app``: every
response then carries the security headers, and ``/docs`` is Swagger UI
served from the installed ``swagger_ui_bundle`` package (FastAPI's own page
loads its script and style from a CDN, and runs an inline script, which a
strict policy forbids).
"""

from __future__ import annotations

import gc
import html
import time
from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.runtime import metrics

if TYPE_CHECKING:
    from fastapi import FastAPI


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


def serve(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    log_level: str,
    service: str,
    http: str = "auto",
    loop: str = "auto",
) -> None:
    """Run an HTTP service with the JSON logs (uvicorn's own log config off).
    `http` and `loop` pick uvicorn's protocol and event loop (the search API
    asks for httptools and uvloop: services/search/app.py main)."""
    import uvicorn

    from shared.runtime.logs import configure_logging

    configure_logging(log_level, service=service)
    # What exists now (modules, the app, its routes and models) lives as
    # long as the process. Frozen out of the garbage collector's view, it is
    # no longer walked by every full collection: on the search API each one
    # took ~40 ms, a few per thousand searches, all of it in the tail.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, http=http, loop=loop)


# ----------------------------------------------------------------- security headers
# JSON answers load nothing and may not be framed. A page that needs more
# (the search UI, /docs) sends its own policy, which the middleware keeps.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI: its script and style from this origin, the spec fetched from
# it, inline SVG icons as data: images. No inline script, no eval.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": API_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # frame-ancestors for browsers that predate it.
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response, errors and static files
    included, leaving any the response set itself (a page's own policy).
    Plain ASGI, like RequestMetrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                missing = [(k, v) for k, v in self.headers if k not in present]
                message["headers"] = [*message.get("headers", []), *missing]
            await send(message)

        await self.app(scope, receive, secured_send)


# ----------------------------------------------------------------- offline docs
_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""
# FastAPI's settings for Swagger UI, read from the page instead of written
# into an inline script; no validator badge (it would call an outside host).
_DOCS_INIT = """"use strict";
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def install_docs(app: FastAPI) -> None:
    """Replace FastAPI's CDN-loading /docs (and /redoc, whose script is on a
    CDN too) with Swagger UI from the installed swagger_ui_bundle package."""
    from fastapi.responses import FileResponse, HTMLResponse, Response
    from starlette.exceptions import HTTPException
    from swagger_ui_bundle import swagger_ui_path

    dropped = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url} - {None}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in dropped]
    if app.openapi_url is None:
        return
    page = _DOCS_PAGE.format(
        title=html.escape(f"{app.title} - API docs"), openapi_url=html.escape(app.openapi_url)
    )
    assets = {name: swagger_ui_path / name for name in ("swagger-ui.css", "swagger-ui-bundle.js")}

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_POLICY})

    @app.get("/docs/init.js", include_in_schema=False)
    async def docs_init() -> Response:
        return Response(_DOCS_INIT, media_type="text/javascript")

    @app.get("/docs/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        if name not in assets:
            raise HTTPException(404, "no such file")
        return FileResponse(str(assets[name]), headers={"Cache-Control": "public, max-age=86400"})


def install_security(app: FastAPI) -> None:
    """Security headers on every response and offline /docs; call once in
    ``create_app``, before the app starts."""
    app.add_middleware(SecurityHeaders)
    install_docs(app)
