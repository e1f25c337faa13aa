"""Low: security headers on every response of the search app, and /docs
without any script or style from another origin.

The headers come from ``shared.runtime.web.SecurityHeaders`` (the ingestion
app adds the same middleware). /docs is Swagger UI served from the installed
package and checked in a real Chromium: it renders, fetches nothing from
another origin, and violates none of its policy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Request, sync_playwright

from shared.runtime.settings import SearchSettings
from tests.search.browser import CHROMIUM, CHROMIUM_ARGS, ServedApp

pytestmark = [pytest.mark.integration]

PATHS = [
    "/",
    "/v1/search?q=market",
    "/v1/search?size=0",  # 422
    "/v1/articles/" + "0" * 32,  # 404
    "/v1/entities/suggest?q=a",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/static/app.js",
    "/static/style.css",
    "/no/such/page",
]


def _check_headers(headers: httpx.Headers, path: str) -> None:
    assert headers.get("x-content-type-options") == "nosniff", path
    assert headers.get("referrer-policy") == "no-referrer", path
    assert headers.get("x-frame-options") == "DENY", path
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, (path, policy)
    assert "default-src" in policy, (path, policy)
    # Nothing may be loaded from another origin, and no inline script runs.
    assert not re.search(
        r"https?:|\*|'unsafe-inline'|'unsafe-eval'", _directive(policy, "script-src")
    )


def _directive(policy: str, name: str) -> str:
    for part in policy.split(";"):
        if part.strip().startswith(name):
            return part
    return _directive(policy, "default-src") if name != "default-src" else ""


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("path", PATHS)
async def test_every_response_carries_the_security_headers(
    search_api: httpx.AsyncClient, path: str
) -> None:
    response = await search_api.get(path)
    assert response.status_code < 500, response.text
    _check_headers(response.headers, path)


@pytest.mark.asyncio(loop_scope="module")
async def test_docs_page_names_no_other_origin(search_api: httpx.AsyncClient) -> None:
    page = await search_api.get("/docs")
    assert page.status_code == 200
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page.text), page.text
    assert "<script>" not in page.text  # no inline script: the policy would block it
    assert (await search_api.get("/redoc")).status_code == 404


@pytest.fixture(scope="module")
def docs_url(search_index: str, search_settings: SearchSettings) -> Iterator[str]:
    with ServedApp(search_settings) as served:
        yield f"{served.url}docs"


def test_docs_render_offline_in_a_browser(docs_url: str) -> None:
    problems: list[str] = []
    foreign: list[str] = []

    def on_request(request: Request) -> None:
        if not request.url.startswith(("http://127.0.0.1:", "data:")):
            foreign.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("request", on_request)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto(docs_url)
        page.locator(".swagger-ui .info .title").wait_for(timeout=15_000)
        assert "Newsflow search" in page.locator(".swagger-ui .info .title").inner_text()
        page.locator(".opblock-summary-path", has_text="/v1/search").first.click()
        page.locator(".parameters").first.wait_for(timeout=5_000)
        browser.close()
    assert not foreign, foreign
    assert not problems, problems


async def test_install_security_works_for_any_app() -> None:
    """What the ingestion app gets from the same call: headers on every
    response (errors included), local /docs, no /redoc."""
    from fastapi import FastAPI

    from shared.runtime.web import DOCS_POLICY, install_security

    app = FastAPI(title="Any")

    @app.get("/thing")
    async def thing() -> dict[str, str]:
        return {"ok": "yes"}

    install_security(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://any") as http:
        for path in ("/thing", "/missing", "/docs", "/docs/swagger-ui.css", "/openapi.json"):
            response = await http.get(path)
            assert response.status_code in (200, 404), path
            _check_headers(response.headers, path)
        docs = await http.get("/docs")
        assert docs.headers["content-security-policy"] == DOCS_POLICY
        bundle = await http.get("/docs/swagger-ui-bundle.js")
        assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text
        assert (await http.get("/docs/index.html")).status_code == 404
        assert (await http.get("/docs/oauth2-redirect")).status_code == 404
        assert (await http.get("/redoc")).status_code == 404
