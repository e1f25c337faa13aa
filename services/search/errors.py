"""The search API's error answers: every refusal is JSON with a `reason`
(``ErrorOut``), a 422 also lists the invalid parameters, and Elasticsearch
trouble is a 503 (unreachable) or 502 (refused), never a 500."""

from __future__ import annotations

import logging
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.search.cursor import InvalidCursor
from services.search.models import ErrorOut
from services.search.service import ArticleNotFound

__all__ = ["install_error_handlers"]

log = logging.getLogger(__name__)


def _error(status: int, reason: str, errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    body = ErrorOut(reason=reason, errors=errors).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": list(e.get("loc", ())),
            # pydantic prefixes the message of a validator's ValueError.
            "msg": str(e.get("msg", "")).removeprefix("Value error, "),
            "type": e.get("type"),
        }
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"][1:]) or "request"
    return _error(422, f"invalid {where}: {first['msg']}", errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = _error(exc.status_code, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _bad_cursor(request: Request, exc: Exception) -> JSONResponse:
    return _error(422, str(exc))


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return _error(404, f"no article with id {exc}")


async def _backend_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("elasticsearch unreachable", extra={"error": repr(exc)})
    return _error(503, "search backend unavailable; try again shortly")


async def _backend_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("elasticsearch refused a request", extra={"error": repr(exc)})
    return _error(502, "search backend error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(InvalidCursor, _bad_cursor)
    app.add_exception_handler(ArticleNotFound, _not_found)
    app.add_exception_handler(TransportError, _backend_down)
    app.add_exception_handler(ApiError, _backend_error)
