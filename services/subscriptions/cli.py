"""``newsflow subscriptions``: see the subscriptions of a deployment and try
one against recent articles, from a shell.

An operator's view: it reads Redis and Elasticsearch directly (every key's
subscriptions, owners shown as the start of their hash, never a secret).
``test`` runs a subscription's query, through the matcher's own query
builder, on the articles indexed in the last N days, and prints what it
would have matched.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import typer
from elasticsearch import AsyncElasticsearch
from elasticsearch.exceptions import ApiError, TransportError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.subscriptions.matching import subscription_query
from services.subscriptions.models import Subscription, view
from services.subscriptions.settings import SubscriptionsSettings
from services.subscriptions.store import SubscriptionStore
from shared.contracts.index import alias_name

subscriptions_app = typer.Typer(
    help="Saved searches whose new matches are pushed (webhooks, feeds, Kafka).",
    no_args_is_help=True,
)
T = TypeVar("T")


def _run(action: Callable[[SubscriptionStore], Awaitable[T]]) -> T:
    settings = SubscriptionsSettings()

    async def go() -> T:
        redis = Redis.from_url(settings.redis_dsn, socket_timeout=5, socket_connect_timeout=5)
        try:
            return await action(SubscriptionStore(redis, settings.namespace))
        finally:
            await redis.aclose()

    try:
        return asyncio.run(go())
    except (RedisError, OSError) as exc:
        typer.echo(f"Redis unavailable ({settings.redis_dsn}): {exc}", err=True)
        raise typer.Exit(2) from exc


def _one(store: SubscriptionStore, sid: str) -> Awaitable[Subscription | None]:
    return store.get(sid)


def _found(sub: Subscription | None, sid: str) -> Subscription:
    if sub is None:
        typer.echo(f"no subscription {sid}", err=True)
        raise typer.Exit(1)
    return sub


def summary_row(sub: Subscription, failures: int) -> list[str]:
    """One line of `list`: what an operator scans for."""
    state = "paused" if sub.paused else "active"
    host = urlsplit(sub.webhook_url).hostname or "?" if sub.webhook_url else "-"
    search = sub.q or ""
    filters = sum(len(v) for v in sub.search_request().filters().values())
    filters += 1 if sub.entity else 0
    if filters:
        search += f" (+{filters} filter{'s' if filters > 1 else ''})"
    return [sub.id, sub.owner[:8], state, str(failures), host, sub.name[:30], search[:40]]


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    return "\n".join(line.rstrip() for line in lines)


@subscriptions_app.command("list")
def list_subscriptions(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every subscription of the namespace, oldest first."""

    async def action(store: SubscriptionStore) -> list[tuple[Subscription, int]]:
        subs = sorted(await store.all(), key=lambda s: s.created_at)
        return [(s, (await store.delivery(s.id)).consecutive_failures) for s in subs]

    found = _run(action)
    if as_json:
        for sub, _ in found:
            typer.echo(sub.model_dump_json(exclude={"webhook_secret", "feed_token_hash"}))
        return
    header = ["ID", "OWNER", "STATE", "FAILS", "WEBHOOK", "NAME", "SEARCH"]
    typer.echo(table([summary_row(s, f) for s, f in found], header))
    typer.echo(f"{len(found)} subscription(s)")


@subscriptions_app.command("show")
def show(
    subscription_id: Annotated[str, typer.Argument(help="The subscription's id.")],
    entries: Annotated[int, typer.Option(help="Latest matches to print.")] = 10,
) -> None:
    """One subscription: its search, state, webhook health and latest matches."""

    async def action(store: SubscriptionStore) -> dict[str, Any] | None:
        sub = await store.get(subscription_id)
        if sub is None:
            return None
        out = view(sub, await store.delivery(sub.id)).model_dump(mode="json", by_alias=True)
        out["owner"] = sub.owner[:8]
        out["latest_matches"] = await store.feed_entries(sub.id, max(1, entries))
        return out

    found = _run(action)
    if found is None:
        _found(None, subscription_id)
    typer.echo(json.dumps(found, indent=2, ensure_ascii=False))


def test_body(sub: Subscription, days: float, limit: int, now: datetime) -> dict[str, Any]:
    """The search `test` runs: the saved query on articles indexed in the
    last `days` days, newest first."""
    since = {"range": {"indexed_at": {"gte": (now - timedelta(days=days)).isoformat()}}}
    return {
        "query": {"bool": {"filter": [subscription_query(sub), since]}},
        "size": limit,
        "sort": [{"indexed_at": {"order": "desc"}}],
        "_source": ["title", "source", "published_at", "indexed_at"],
        "track_total_hits": True,
    }


@subscriptions_app.command("test")
def test(
    subscription_id: Annotated[str, typer.Argument(help="The subscription's id.")],
    days: Annotated[float, typer.Option(min=0.01, max=3650, help="How far back.")] = 7,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Matches to list.")] = 20,
) -> None:
    """What the subscription would have matched among the articles indexed
    in the last N days (whether or not it existed then)."""
    settings = SubscriptionsSettings()
    sub = _found(_run(lambda store: _one(store, subscription_id)), subscription_id)

    async def search() -> dict[str, Any]:
        es = AsyncElasticsearch(settings.es_url, request_timeout=settings.es_timeout_s)
        try:
            body = test_body(sub, days, limit, datetime.now(UTC))
            answer = await es.search(
                index=alias_name(settings.namespace), body=body, ignore_unavailable=True
            )
            return dict(answer.body)
        finally:
            await es.close()

    try:
        answer = asyncio.run(search())
    except (ApiError, TransportError) as exc:
        typer.echo(f"Elasticsearch error: {exc}", err=True)
        raise typer.Exit(2) from exc
    total = answer.get("hits", {}).get("total", {}).get("value", 0)
    typer.echo(f"{sub.id} {sub.name!r}: {total} match(es) in the last {days:g} day(s)")
    rows = []
    for hit in answer.get("hits", {}).get("hits", []):
        src = hit.get("_source", {})
        when = str(src.get("indexed_at") or "")[:19]
        rows.append([when, hit["_id"], str(src.get("source", ""))[:24], str(src.get("title"))[:60]])
    if rows:
        typer.echo(table(rows, ["INDEXED", "ARTICLE", "SOURCE", "TITLE"]))
