"""The ``/v1/search`` query parameters, read into a ``SearchRequest``.

One dependency serves every route that takes a search (the search itself,
facet value search, export), so they read the same parameters the same way,
with this deployment's limits in their declarations (OpenAPI shows them,
FastAPI answers 422).
"""

# No `from __future__ import annotations`: FastAPI reads the parameter
# annotations at run time, and those of the closure name local values.
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.search.limits import MAX_FILTER_VALUES, query_problem
from services.search.models import DateBound, Grouping, SearchRequest, SortOrder
from services.search.query import MAX_RESULT_WINDOW
from shared.runtime.settings import SearchSettings

DEFAULT_PAGE_SIZE = 20
Q_HELP = (
    'Words (all must match; the last one also as a prefix), "exact phrase", "phrase"~3, '
    "-excluded, a | b, pre*, word~ (typos), author:name, source:site, title:word."
)


def search_request_dependency(
    settings: SearchSettings,
) -> Callable[..., Coroutine[Any, Any, SearchRequest]]:
    """The /v1/search parameters, with this deployment's limits in their
    declarations, so that OpenAPI shows them and FastAPI answers 422."""
    max_size = settings.max_page_size
    max_chars = settings.max_query_chars
    max_expanding = settings.max_expanding_terms
    Values = Annotated[list[str] | None, Query(max_length=MAX_FILTER_VALUES)]

    async def search_request(
        q: Annotated[
            str,
            Query(
                max_length=max_chars,
                description=Q_HELP,
            ),
        ] = "",
        people: Values = None,
        organisations: Values = None,
        places: Values = None,
        source: Values = None,
        language: Values = None,
        author: Annotated[
            list[str] | None,
            Query(
                max_length=MAX_FILTER_VALUES,
                description="Authors, as the `author` facet lists them.",
            ),
        ] = None,
        date_from: Annotated[
            DateBound | None, Query(alias="from", description="Published on or after.")
        ] = None,
        date_to: Annotated[
            DateBound | None, Query(alias="to", description="Published on or before.")
        ] = None,
        sort: Annotated[
            SortOrder,
            Query(description="relevance (newest when q is empty), newest or oldest."),
        ] = "relevance",
        page: Annotated[int, Query(ge=1)] = 1,
        size: Annotated[int, Query(ge=1, le=max_size)] = min(DEFAULT_PAGE_SIZE, max_size),
        facet_size: Annotated[int, Query(ge=1, le=100)] = 10,
        facets: Annotated[bool, Query(description="Compute facets and histogram.")] = True,
        cursor: Annotated[str | None, Query(max_length=16_384)] = None,
        correct: Annotated[
            bool,
            Query(
                description="When nothing matches the words as typed, answer for a spelling "
                "correction (or words within a typo or two) and say so in `spelling`."
            ),
        ] = True,
        group: Annotated[
            Grouping,
            Query(
                description="story (default): one hit per story, with its article and source "
                "counts and next best articles; none: every article on its own."
            ),
        ] = "story",
    ) -> SearchRequest:
        try:
            request = SearchRequest(
                q=q,
                people=tuple(people or ()),
                organisations=tuple(organisations or ()),
                places=tuple(places or ()),
                source=tuple(source or ()),
                language=tuple(language or ()),
                author=tuple(author or ()),
                date_from=date_from,
                date_to=date_to,
                sort=sort,
                page=page,
                size=size,
                facet_size=facet_size,
                with_facets=facets,
                cursor=cursor,
                correct=correct,
                group=group,
            )
        except ValidationError as exc:
            # Located like FastAPI's own errors, so reasons read the same.
            errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
            raise RequestValidationError(errors) from exc
        if (problem := query_problem(request.q, max_expanding)) is not None:
            raise RequestValidationError(
                [{"loc": ("query", "q"), "msg": problem, "type": "value_error"}]
            )
        if request.cursor is None and request.page * request.size > MAX_RESULT_WINDOW:
            raise RequestValidationError(
                [
                    {
                        "loc": ("query", "page"),
                        "msg": f"pages stop at result {MAX_RESULT_WINDOW:,}; "
                        "follow next_cursor to go deeper",
                        "type": "value_error",
                    }
                ]
            )
        return request

    return search_request
