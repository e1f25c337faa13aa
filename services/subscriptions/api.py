"""HTTP routes of subscriptions, mounted by the search API.

``/v1/subscriptions``: create, list, read, change, delete, pause and resume
saved searches. Every one of these routes needs an ``X-API-Key`` (reads
too: a subscription's webhook and errors are its owner's business), and a
key sees and changes only its own subscriptions: another key's answers 404,
exactly like one that does not exist. Keys are compared in constant time; a
repeated ``X-API-Key`` header is refused (which one would count?).

Two routes need no key: the Atom feed of a subscription, which takes the
subscription's secret feed token in its URL instead (feed readers cannot
send headers), and ``/v1/search/live``, the live count of a search for the
search page (:mod:`services.subscriptions.live`).

Bodies are read up to ``MAX_BODY_BYTES`` (a subscription is small), and
every limit of :func:`services.subscriptions.models.limit_problems` answers
422 with the field and the reason.
"""

# No `from __future__ import annotations`: FastAPI reads the annotations of
# the route closures at run time.
import hmac
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

from elasticsearch import AsyncElasticsearch
from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
    params,
)
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.subscriptions.feed import atom_feed
from services.subscriptions.live_route import live_route
from services.subscriptions.models import (
    SearchFields,
    Subscription,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
    clean_text,
    limit_problems,
    view,
)
from services.subscriptions.settings import SubscriptionsSettings
from services.subscriptions.store import LimitReached, SubscriptionStore, owner_of, token_hash

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64_000
SubscriptionIdPath = Annotated[
    str, PathParam(pattern=r"^[0-9a-f]{16}$", description="Subscription id.")
]
KEYED: dict[int | str, dict[str, Any]] = {
    400: {"description": "X-API-Key sent more than once."},
    401: {"description": "No key, or an unknown one."},
    503: {"description": "Redis unreachable."},
}
MISSING: dict[int | str, dict[str, Any]] = {404: {"description": "No such subscription here."}}


class _Context:
    """What the routes share: settings, the clients (made by the router's
    lifespan), and the answers they build."""

    def __init__(self, settings: SubscriptionsSettings) -> None:
        self.settings = settings
        self.redis: Redis
        self.es: AsyncElasticsearch
        self.store: SubscriptionStore

    async def out(self, sub: Subscription) -> SubscriptionOut:
        return view(sub, await self.store.delivery(sub.id))

    async def created(self, request: Request, sub: Subscription, token: str) -> SubscriptionCreated:
        base = str(self.settings.public_url or request.base_url).rstrip("/")
        return SubscriptionCreated(
            **(await self.out(sub)).model_dump(),
            feed_url=f"{base}/v1/subscriptions/{sub.id}/feed.atom?token={token}",
            feed_token=token,
            webhook_secret=sub.webhook_secret,
        )

    async def owned(self, sid: str, owner: str) -> Subscription:
        sub = await self.store.get_owned(sid, owner)
        if sub is None:
            raise HTTPException(404, detail=f"no subscription {sid}")
        return sub


def _invalid(problems: Sequence[tuple[str, str]]) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("body", field), "msg": msg, "type": "value_error"} for field, msg in problems]
    )


async def read_json(request: Request, model: type[Any]) -> Any:
    """The body as `model`, refusing (413) past MAX_BODY_BYTES unread."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, detail=f"body larger than {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(413, detail=f"body larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    try:
        return model.model_validate_json(b"".join(chunks))
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


def key_dependency(settings: SubscriptionsSettings) -> Any:
    keys = [k.get_secret_value().encode() for k in settings.api_keys]

    async def owner(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> str:
        """The owner hash of the caller's key (400 / 401 otherwise)."""
        if len(request.headers.getlist("x-api-key")) > 1:
            raise HTTPException(400, detail="send the X-API-Key header once")
        if not x_api_key:
            raise HTTPException(401, detail="missing API key: send it in the X-API-Key header")
        given = x_api_key.encode()
        # Every key is compared (no early exit): timing tells nothing.
        if not any([hmac.compare_digest(given, known) for known in keys]):
            raise HTTPException(401, detail="unknown API key")
        return owner_of(x_api_key)

    return owner


def subscriptions_router(
    settings: SubscriptionsSettings, *, dependencies: Sequence[Any] = ()
) -> APIRouter:
    """The routes over their own Redis and Elasticsearch clients (opened
    and closed by the router's lifespan, which the app including it runs).
    `dependencies` apply to every route (the search API's rate limit)."""
    ctx = _Context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx.redis = Redis.from_url(settings.redis_dsn, socket_timeout=5)
        ctx.es = AsyncElasticsearch(settings.es_url, request_timeout=settings.es_timeout_s)
        ctx.store = SubscriptionStore(ctx.redis, settings.namespace)
        try:
            yield
        finally:
            await ctx.es.close()
            await ctx.redis.aclose()

    keyed = APIRouter(dependencies=list(dependencies))
    owner = key_dependency(settings)
    _create_and_read(keyed, ctx, owner)
    _change(keyed, ctx, owner)
    _pause_and_resume(keyed, ctx, owner)
    _feed_route(keyed, ctx)
    # A live stream lasts minutes: `dependencies` run around its route
    # function only, not around the stream, or every open search page would
    # hold one of its address's few in-flight requests (the search's cap)
    # until it closes. The streams have their own caps (LiveLimits).
    live = APIRouter(dependencies=[_around_function(d) for d in dependencies])
    live_route(live, settings, lambda: ctx.es)
    router = APIRouter(lifespan=lifespan)
    router.include_router(keyed)
    router.include_router(live)
    return router


def _around_function(dependency: Any) -> Any:
    """The same dependency, ended when the route function returns (before
    the response's body is streamed)."""
    if isinstance(dependency, params.Depends) and dependency.dependency is not None:
        return Depends(dependency.dependency, use_cache=dependency.use_cache, scope="function")
    return dependency


def _create_and_read(router: APIRouter, ctx: _Context, owner: Any) -> None:
    Owner = Annotated[str, Depends(owner)]
    settings = ctx.settings

    @router.post(
        "/v1/subscriptions",
        status_code=201,
        response_model=SubscriptionCreated,
        responses={**KEYED, 409: {"description": "At the limit."}, 413: {}, 422: {}},
        openapi_extra=_body(SubscriptionIn),
        tags=["subscriptions"],
    )
    async def create(request: Request, owner: Owner) -> SubscriptionCreated:
        """Follow a search: `{"name", "q"}` plus the filters of /v1/search
        (`people`, `organisations`, `places`, `source`, `language`, `from`,
        `to`), an `entity` (an id, or "type:name") and a `webhook_url`. Answers the
        `id`, the `feed_url` (its token included) and the `webhook_secret`:
        shown this once."""
        body: SubscriptionIn = await read_json(request, SubscriptionIn)
        url = str(body.webhook_url) if body.webhook_url else None
        if problems := limit_problems(body, body.name, url, settings):
            raise _invalid(problems)
        with redis_errors():
            try:
                sub, token = await ctx.store.create(
                    body, owner, max_per_key=settings.max_per_key, max_total=settings.max_total
                )
            except LimitReached as exc:
                raise HTTPException(409, detail=str(exc)) from exc
            return await ctx.created(request, sub, token)

    @router.get(
        "/v1/subscriptions",
        response_model=list[SubscriptionOut],
        responses=KEYED,
        tags=["subscriptions"],
    )
    async def list_mine(owner: Owner) -> list[SubscriptionOut]:
        """The caller's subscriptions, oldest first."""
        with redis_errors():
            return [await ctx.out(s) for s in await ctx.store.owned(owner)]

    @router.get(
        "/v1/subscriptions/{sid}",
        response_model=SubscriptionOut,
        responses={**KEYED, **MISSING},
        tags=["subscriptions"],
    )
    async def read(sid: SubscriptionIdPath, owner: Owner) -> SubscriptionOut:
        """One subscription, with how its webhook is doing and why it is
        paused, if it is."""
        with redis_errors():
            return await ctx.out(await ctx.owned(sid, owner))


def _change(router: APIRouter, ctx: _Context, owner: Any) -> None:
    Owner = Annotated[str, Depends(owner)]

    @router.patch(
        "/v1/subscriptions/{sid}",
        response_model=SubscriptionCreated | SubscriptionOut,
        responses={**KEYED, **MISSING, 413: {}, 422: {}},
        openapi_extra=_body(SubscriptionPatch),
        tags=["subscriptions"],
    )
    async def change(
        request: Request, sid: SubscriptionIdPath, owner: Owner
    ) -> SubscriptionCreated | SubscriptionOut:
        """Change the given fields (`webhook_url: null` removes the webhook).
        With `"rotate_secrets": true`, a new webhook secret and feed token
        are answered (once); the old ones stop working."""
        patch: SubscriptionPatch = await read_json(request, SubscriptionPatch)
        with redis_errors():
            current = await ctx.owned(sid, owner)
            fields = _patched_fields(patch)
            try:
                search = set(SearchFields.model_fields)
                merged = SearchFields.model_validate(
                    {
                        **current.model_dump(include=search),
                        **{k: v for k, v in fields.items() if k in search},
                    }
                )
            except ValidationError as exc:
                raise RequestValidationError(exc.errors(include_url=False)) from exc
            url = fields.get("webhook_url")
            if problems := limit_problems(merged, fields.get("name"), url, ctx.settings):
                raise _invalid(problems)
            updated = await ctx.store.update(sid, owner, fields, patch.rotate_secrets)
            if updated is None:
                raise HTTPException(404, detail=f"no subscription {sid}")
            sub, token = updated
            return await (ctx.created(request, sub, token) if token else ctx.out(sub))

    @router.delete(
        "/v1/subscriptions/{sid}",
        status_code=204,
        responses={**KEYED, **MISSING},
        tags=["subscriptions"],
    )
    async def remove(sid: SubscriptionIdPath, owner: Owner) -> Response:
        """Stop following; its feed and pending deliveries go with it."""
        with redis_errors():
            if not await ctx.store.delete(sid, owner):
                raise HTTPException(404, detail=f"no subscription {sid}")
        return Response(status_code=204)


def _pause_and_resume(router: APIRouter, ctx: _Context, owner: Any) -> None:
    Owner = Annotated[str, Depends(owner)]

    async def set_paused(sid: str, owner: str, paused: bool) -> SubscriptionOut:
        with redis_errors():
            reason = "paused by its owner" if paused else None
            sub = await ctx.store.set_paused(sid, paused, reason, owner=owner)
            if sub is None:
                raise HTTPException(404, detail=f"no subscription {sid}")
            return await ctx.out(sub)

    @router.post(
        "/v1/subscriptions/{sid}/pause",
        response_model=SubscriptionOut,
        responses={**KEYED, **MISSING},
        tags=["subscriptions"],
    )
    async def pause(sid: SubscriptionIdPath, owner: Owner) -> SubscriptionOut:
        """Stop matching (and delivering) until resumed."""
        return await set_paused(sid, owner, True)

    @router.post(
        "/v1/subscriptions/{sid}/resume",
        response_model=SubscriptionOut,
        responses={**KEYED, **MISSING},
        tags=["subscriptions"],
    )
    async def resume(sid: SubscriptionIdPath, owner: Owner) -> SubscriptionOut:
        """Match again (articles indexed while paused are not matched), and
        reset the webhook's failure count after an automatic pause."""
        return await set_paused(sid, owner, False)


def _feed_route(router: APIRouter, ctx: _Context) -> None:
    @router.get(
        "/v1/subscriptions/{sid}/feed.atom",
        response_class=Response,
        responses={200: {"content": {"application/atom+xml": {}}}, **MISSING},
        tags=["subscriptions"],
    )
    async def feed(
        request: Request,
        sid: SubscriptionIdPath,
        token: Annotated[str, Query(min_length=1, max_length=200)],
    ) -> Response:
        """The latest matches as an Atom feed; the token of the feed URL
        stands for the key (a wrong token answers 404, like no subscription)."""
        with redis_errors():
            sub = await ctx.store.get(sid)
            if sub is None or not hmac.compare_digest(token_hash(token), sub.feed_token_hash):
                raise HTTPException(404, detail=f"no subscription {sid}")
            items = await ctx.store.feed_entries(sid, ctx.settings.feed_entries)
        body = atom_feed(
            subscription_id=sub.id,
            name=sub.name,
            items=items,
            base_url=str(ctx.settings.public_url or request.base_url),
            updated=sub.updated_at,
        )
        headers = {"Cache-Control": "private, max-age=60", "Referrer-Policy": "no-referrer"}
        return Response(body, media_type="application/atom+xml; charset=utf-8", headers=headers)


def _body(model: type[Any]) -> dict[str, Any]:
    """The request body in the OpenAPI page (the route reads it itself, to
    bound its size)."""
    schema = model.model_json_schema(by_alias=True)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _patched_fields(patch: SubscriptionPatch) -> dict[str, Any]:
    fields = patch.model_dump(exclude_unset=True, exclude={"rotate_secrets"})
    if "q" in fields and fields["q"] is None:
        fields["q"] = ""
    if "name" in fields and fields["name"] is not None:
        fields["name"] = clean_text(fields["name"])
    if fields.get("webhook_url") is not None:
        fields["webhook_url"] = str(fields["webhook_url"])
    for facet in ("people", "organisations", "places", "source", "language", "author"):
        if facet in fields and fields[facet] is None:
            fields[facet] = []
    if fields.get("name", "") is None:
        del fields["name"]
    return fields


@contextmanager
def redis_errors() -> Iterator[None]:
    """Redis unreachable: 503 with Retry-After, not a 500."""
    try:
        yield
    except (RedisError, OSError) as exc:
        log.warning("redis unavailable", extra={"error": repr(exc)})
        raise HTTPException(
            503, detail="subscriptions unavailable; retry shortly", headers={"Retry-After": "5"}
        ) from exc
