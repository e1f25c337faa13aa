"""The route of the live counts (``GET /v1/search/live``); the stream
itself is :mod:`services.subscriptions.live`."""

# No `from __future__ import annotations`: FastAPI reads the annotations of
# the route closure at run time.
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from elasticsearch import AsyncElasticsearch
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.background import BackgroundTask

from services.search.models import DateBound
from services.subscriptions.live import LiveLimits, count_query, live_events, since_problem
from services.subscriptions.matching import subscription_query
from services.subscriptions.models import SearchFields, limit_problems
from services.subscriptions.settings import SubscriptionsSettings
from shared.contracts.index import alias_name


def live_route(
    router: APIRouter, settings: SubscriptionsSettings, es: Callable[[], AsyncElasticsearch]
) -> None:
    """Add `GET /v1/search/live` to the router; `es` gives the client
    (made by the router's lifespan)."""
    limits = LiveLimits(settings.live_max_per_client, settings.live_max_connections)
    Values = Annotated[list[str] | None, Query(max_length=50)]

    @router.get(
        "/v1/search/live",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}, 429: {}, 422: {}},
        tags=["search"],
    )
    async def live(
        request: Request,
        since: Annotated[datetime, Query(description="Count articles indexed after this.")],
        q: Annotated[str, Query(max_length=settings.max_query_chars)] = "",
        people: Values = None,
        organisations: Values = None,
        places: Values = None,
        source: Values = None,
        language: Values = None,
        author: Values = None,
        date_from: Annotated[DateBound | None, Query(alias="from")] = None,
        date_to: Annotated[DateBound | None, Query(alias="to")] = None,
    ) -> StreamingResponse:
        """Server-Sent Events: `count` events with how many articles matching
        this search (the parameters of /v1/search) were indexed after
        `since`; sent at once, then when the number changes."""
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
        )
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        client = request.client.host if request.client else "unknown"
        if not limits.acquire(client):
            raise HTTPException(
                429, detail="too many live streams open", headers={"Retry-After": "30"}
            )
        query = count_query(subscription_query(fields), since)
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
    """The search of a live stream, under the subscriptions' limits (an
    empty search is allowed: the home page counts everything new)."""
    try:
        fields = SearchFields(**given)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc
    problems = [p for p in limit_problems(fields, None, None, settings) if "empty" not in p[1]]
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    if (problem := since_problem(since, datetime.now(UTC), settings.live_max_age_s)) is not None:
        problems.append(("since", problem))
    if problems:
        raise RequestValidationError(
            [{"loc": ("query", f), "msg": m, "type": "value_error"} for f, m in problems]
        )
    return fields
