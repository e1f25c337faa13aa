"""The ``/v1/search`` query parameters, read into a ``SearchRequest``.

Every route that takes a search (the search itself, facet value search,
export) reads the same parameters the same way: one pydantic model per
deployment (``search_params_model``), its limits from the settings, validated
once per request (``read_search_request``). Its fields are the parameters'
OpenAPI declarations too (``search_parameters``), so the documentation and the
checks cannot drift apart.

Why not FastAPI's ``Query`` parameters: FastAPI reads and validates each of
the 17 parameters on its own on every request, which cost ~0.5 CPU-ms per
search here, near a tenth of the service's CPU per search (``bench/
search_latency.py``, "service CPU per search"). One model validation does the
same checks, with the same messages (pydantic's, which FastAPI uses too).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from starlette.datastructures import QueryParams

from services.search.limits import (
    MAX_FILTER_VALUES,
    invalid_query,
    query_problem,
    query_problems,
)
from services.search.models import FACET_NAMES, DateBound, Grouping, SearchRequest, SortOrder
from services.search.query import MAX_RESULT_WINDOW
from shared.runtime.settings import SearchSettings

DEFAULT_PAGE_SIZE = 20
Q_HELP = (
    'Words (all must match; the last one also as a prefix), "exact phrase", "phrase"~3, '
    "-excluded, a | b, pre*, word~ (typos), author:name, source:site, title:word."
)
MAX_CURSOR_CHARS = 16_384
# Parameters that may repeat (?source=a&source=b): the facet filters. Any
# other takes its last value, as FastAPI reads a scalar parameter.
LIST_PARAMS: tuple[str, ...] = FACET_NAMES


def search_params_model(settings: SearchSettings) -> type[BaseModel]:
    """The parameters with this deployment's limits, as one model (names as
    the URL spells them: ``from`` and ``to`` are aliases)."""
    filters: dict[str, Any] = {
        name: (list[str] | None, Field(None, max_length=MAX_FILTER_VALUES)) for name in FACET_NAMES
    }
    filters["author"] = (
        list[str] | None,
        Field(
            None,
            max_length=MAX_FILTER_VALUES,
            description="Authors, as the `author` facet lists them.",
        ),
    )
    return create_model(
        "SearchParams",
        __config__=ConfigDict(populate_by_name=False, extra="ignore"),
        q=(str, Field("", max_length=settings.max_query_chars, description=Q_HELP)),
        **filters,
        date_from=(
            DateBound | None,
            Field(None, alias="from", description="Published on or after."),
        ),
        date_to=(DateBound | None, Field(None, alias="to", description="Published on or before.")),
        sort=(
            SortOrder,
            Field("relevance", description="relevance (newest when q is empty), newest or oldest."),
        ),
        page=(int, Field(1, ge=1)),
        size=(
            int,
            Field(min(DEFAULT_PAGE_SIZE, settings.max_page_size), ge=1, le=settings.max_page_size),
        ),
        facet_size=(int, Field(10, ge=1, le=100)),
        facets=(bool, Field(True, description="Compute facets and histogram.")),
        cursor=(str | None, Field(None, max_length=MAX_CURSOR_CHARS)),
        correct=(
            bool,
            Field(
                True,
                description="When nothing matches the words as typed, answer for a spelling "
                "correction (or words within a typo or two) and say so in `spelling`.",
            ),
        ),
        group=(
            Grouping,
            Field(
                "story",
                description="story (default): one hit per story, with its article and source "
                "counts and next best articles; none: every article on its own.",
            ),
        ),
    )


def search_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI declarations of the model's fields as optional query parameters
    (a route's ``openapi_extra``)."""
    schema = model.model_json_schema(by_alias=True)
    declared = []
    for name, field in schema["properties"].items():
        field = {k: v for k, v in field.items() if k not in ("title", "description")}
        parameter = {"name": name, "in": "query", "required": False, "schema": field}
        if description := schema["properties"][name].get("description"):
            parameter["description"] = description
        declared.append(parameter)
    return declared


@functools.cache
def url_names(model: type[BaseModel]) -> tuple[str, ...]:
    """The parameter names of a model's fields, as the URL spells them."""
    return tuple(field.alias or name for name, field in model.model_fields.items())


def read_search_request(
    query: QueryParams, model: type[BaseModel], max_expanding_terms: int
) -> SearchRequest:
    """The search a query string asks for; RequestValidationError (a 422
    naming the parameter, as FastAPI words it) when it is not valid."""
    raw: dict[str, Any] = {}
    for name in url_names(model):
        if name in query:
            raw[name] = query.getlist(name) if name in LIST_PARAMS else query[name]
    try:
        values: dict[str, Any] = dict(model.model_validate(raw))
        values["with_facets"] = values.pop("facets")
        for name in LIST_PARAMS:
            values[name] = tuple(values[name] or ())
        request = SearchRequest(**values)
    except ValidationError as exc:
        raise invalid_query(exc) from exc
    if (problem := query_problem(request.q, max_expanding_terms)) is not None:
        raise query_problems([("q", problem)])
    if request.cursor is None and request.page * request.size > MAX_RESULT_WINDOW:
        window = f"pages stop at result {MAX_RESULT_WINDOW:,}; follow next_cursor to go deeper"
        raise query_problems([("page", window)])
    return request


def search_request_dependency(
    settings: SearchSettings,
) -> tuple[Callable[[Request], Coroutine[Any, Any, SearchRequest]], list[dict[str, Any]]]:
    """The dependency reading a search from a request, and the OpenAPI
    declarations of its parameters (``openapi_extra={"parameters": ...}``
    on each route that takes it)."""
    model = search_params_model(settings)
    max_expanding = settings.max_expanding_terms

    async def search_request(request: Request) -> SearchRequest:
        return read_search_request(request.query_params, model, max_expanding)

    return search_request, search_parameters(model)
