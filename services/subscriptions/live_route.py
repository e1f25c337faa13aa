"""The route of the live counts (``GET /v1/search/live``); the stream
itself is :mod:`services.subscriptions.live`.

It takes what ``/v1/search`` takes, under the search's own limits, not the
tighter ones of a subscription: a page counts whatever it can show (a
refused stream would leave it retrying for nothing). The cost stays
bounded: a stream asks one ``count`` every ``live_poll_s`` (no scoring,
aggregation or highlight, less than the search it follows), streams are
capped per address and per process (``LiveLimits``), connecting spends the
search's rate budget, and ``since`` goes back at most ``live_max_age_s``.
With ``entity=<id>`` (validated as ``/v1/entities/{id}`` validates it), it
counts the articles naming that entity, as the entity page does.
"""

# No `from __future__ import annotations`: FastAPI reads the annotations of
# the route closure at run time.
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from elasticsearch import AsyncElasticsearch
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.background import BackgroundTask

from services.search.limits import (
    MAX_ENTITY_ID_CHARS,
    MAX_FILTER_VALUES,
    invalid_query,
    query_problem,
    query_problems,
)
from services.search.models import DateBound
from services.subscriptions.live import LiveLimits, count_query, live_events, since_problem
from services.subscriptions.matching import subscription_query
from services.subscriptions.models import ENTITY_ID, SearchFields
from services.subscriptions.settings import SubscriptionsSettings
from shared.contracts.index import alias_name

EntityParam = Annotated[
    str | None,
    Query(
        pattern=ENTITY_ID.pattern,
        max_length=MAX_ENTITY_ID_CHARS,
        description="An entity id, as /v1/entities/{id} takes it (Q30, ent_ + 16 hex): "
        "count the articles naming it.",
    ),
]


def live_route(
    router: APIRouter, settings: SubscriptionsSettings, es: Callable[[], AsyncElasticsearch]
) -> None:
    """Add `GET /v1/search/live` to the router; `es` gives the client
    (made by the router's lifespan)."""
    limits = LiveLimits(settings.live_max_per_client, settings.live_max_connections)
    Values = Annotated[list[str] | None, Query(max_length=MAX_FILTER_VALUES)]

    @router.get(
        "/v1/search/live",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}, 429: {}, 422: {}},
        tags=["search"],
    )
    async def live(
        request: Request,
        since: Annotated[datetime, Query(description="Count articles indexed after this.")],
        q: Annotated[str, Query(max_length=settings.search_max_query_chars)] = "",
        people: Values = None,
        organisations: Values = None,
        places: Values = None,
        source: Values = None,
        language: Values = None,
        author: Values = None,
        date_from: Annotated[DateBound | None, Query(alias="from")] = None,
        date_to: Annotated[DateBound | None, Query(alias="to")] = None,
        entity: EntityParam = None,
    ) -> StreamingResponse:
        """Server-Sent Events: `count` events with how many articles matching
        this search (the parameters of /v1/search, and optionally an
        `entity` id, as its page counts them) were indexed after `since`;
        sent at once, then when the number changes."""
        fields = _live_fields(
            settings,
            since,
            q=q,
            people=people or [],
            organisations=organisations or [],
            places=places or [],
            source=source or [],
            language=language or [],
            author=author or [],
            date_from=date_from,
            date_to=date_to,
            entity=entity,
        )
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        client = request.client.host if request.client else "unknown"
        if not limits.acquire(client):
            raise HTTPException(
                429, detail="too many live streams open", headers={"Retry-After": "30"}
            )
        # As /v1/search lists it: the last word also as a prefix ("harb" on
        # screen lists harbour; its count must too).
        query = count_query(subscription_query(fields, prefix_last=True), since)
        alias = alias_name(settings.namespace)

        async def count() -> int:
            answer = await es().count(
                index=alias, query=query, ignore_unavailable=True, allow_no_indices=True
            )
            return int(answer["count"])

        released: list[bool] = []

        def release() -> None:
            # Once, whichever comes first: the stream's end, or the response's
            # (a client gone before the stream started never runs its finally).
            if not released:
                released.append(True)
                limits.release(client)

        stream = live_events(
            count,
            since,
            poll_s=settings.live_poll_s,
            heartbeat_s=settings.live_heartbeat_s,
            lifetime_s=settings.live_max_lifetime_s,
            release=release,
        )
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers=headers,
            background=BackgroundTask(release),
        )


def _live_fields(settings: SubscriptionsSettings, since: datetime, **given: Any) -> SearchFields:
    """The search of a live stream, under /v1/search's limits (an empty
    search is allowed: the home page counts everything new)."""
    try:
        fields = SearchFields(**given)
        request = fields.search_request()  # what /v1/search would make of it
    except ValidationError as exc:
        raise invalid_query(exc) from exc  # located as /v1/search locates them
    problems: list[tuple[str, str]] = []
    if (problem := query_problem(request.q, settings.search_max_expanding_terms)) is not None:
        problems.append(("q", problem))
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    if (problem := since_problem(since, datetime.now(UTC), settings.live_max_age_s)) is not None:
        problems.append(("since", problem))
    if problems:
        raise query_problems(problems)
    return fields
