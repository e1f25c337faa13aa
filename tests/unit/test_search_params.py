"""How /v1/search's query string becomes a SearchRequest (services/search/params.py)."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import QueryParams

from services.search.models import SearchRequest
from services.search.params import read_search_request, search_parameters, search_params_model
from shared.runtime.settings import SearchSettings

SETTINGS = SearchSettings(max_page_size=50, max_query_chars=40)
MODEL = search_params_model(SETTINGS)


def read(query: str) -> SearchRequest:
    return read_search_request(QueryParams(query), MODEL, SETTINGS.max_expanding_terms)


def refusal(query: str) -> dict[str, object]:
    with pytest.raises(RequestValidationError) as caught:
        read(query)
    first: dict[str, object] = caught.value.errors()[0]
    return first


def test_defaults_and_repeated_filters() -> None:
    request = read("q=harbour&source=b.example&source=a.example&from=2024-01-02&facets=false")
    assert request.q == "harbour"
    assert request.source == ("a.example", "b.example")
    assert request.date_from == date(2024, 1, 2)
    assert request.with_facets is False
    assert (request.page, request.size) == (1, 20)
    assert (request.group, request.sort) == ("story", "relevance")


def test_every_parameter_is_read() -> None:
    request = read(
        "sort=oldest&facet_size=5&correct=false&group=none&to=2024-02-01&page=2&size=3"
        "&people=p&organisations=o&places=l&language=en&author=a"
    )
    assert (request.sort, request.facet_size, request.correct) == ("oldest", 5, False)
    assert (request.group, request.date_to, request.page, request.size) == (
        "none",
        date(2024, 2, 1),
        2,
        3,
    )
    filters = (request.people, request.organisations, request.places, request.language)
    assert filters == (("p",), ("o",), ("l",), ("en",))
    assert request.author == ("a",)


def test_a_scalar_given_twice_takes_its_last_value_and_unknown_names_are_ignored() -> None:
    request = read("size=5&size=7&utm_source=mail")
    assert request.size == 7


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("size=51", ("query", "size")),  # the deployment's page size limit
        ("size=abc", ("query", "size")),
        ("q=" + "a" * 41, ("query", "q")),  # its query length limit
        ("from=yesterday", ("query", "from")),  # named as the URL spells it
        ("group=topic", ("query", "group")),
        ("source=" + "&source=".join(str(n) for n in range(60)), ("query", "source")),
        ("page=600", ("query", "page")),  # past the result window
    ],
)
def test_invalid_parameters_are_named(query: str, where: tuple[str, ...]) -> None:
    assert tuple(refusal(query)["loc"]) == where  # type: ignore[arg-type]


def test_openapi_declares_every_parameter_with_its_limits() -> None:
    declared = {p["name"]: p for p in search_parameters(MODEL)}
    assert {"q", "from", "to", "people", "author", "size", "cursor", "group"} <= set(declared)
    assert all(p["in"] == "query" and p["required"] is False for p in declared.values())
    assert declared["size"]["schema"]["maximum"] == 50
    assert declared["q"]["schema"]["maxLength"] == 40
    assert "description" in declared["author"]
