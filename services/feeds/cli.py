"""``newsflow sources``: manage the followed feeds from a shell.

Talks to Redis directly (like ``newsflow topics create`` talks to Kafka), so
it works whether or not the ingestion API is running; the poller sees the
change at its next tick.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.feeds.registry import (
    SourceExists,
    SourceIn,
    SourceNotFound,
    SourceRegistry,
)
from services.feeds.settings import PollerSettings
from shared.runtime.addresses import AddressPolicy, literal_refusal

sources_app = typer.Typer(help="Feeds and sitemaps the poller follows.", no_args_is_help=True)

T = TypeVar("T")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.I)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(value: str) -> int:
    """'90', '90s', '15m', '2h', '1d' -> seconds."""
    match = _DURATION.match(value)
    if not match:
        raise typer.BadParameter(f"{value!r}: expected a duration like 90s, 15m, 2h or 1d")
    return max(1, round(float(match.group(1)) * _UNITS[match.group(2).lower()]))


def _run(
    action: Callable[[SourceRegistry], Awaitable[T]], settings: PollerSettings | None = None
) -> T:
    """Run one registry action against the configured Redis and namespace."""
    settings = settings or PollerSettings()

    async def go() -> T:
        redis = Redis.from_url(settings.redis_dsn, socket_timeout=5, socket_connect_timeout=5)
        try:
            return await action(SourceRegistry(redis, settings.namespace))
        finally:
            await redis.aclose()

    try:
        return asyncio.run(go())
    except (RedisError, OSError) as exc:
        typer.echo(f"Redis unavailable ({settings.redis_dsn}): {exc}", err=True)
        raise typer.Exit(2) from exc
    except SourceNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    seconds = (datetime.now(UTC) - value).total_seconds()
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


@sources_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="RSS/Atom feed or news sitemap URL.")],
    name: Annotated[str, typer.Option(help="Publisher name; the articles' `source`.")],
    interval: Annotated[str, typer.Option(help="Polling interval: 90s, 15m, 2h, 1d.")] = "15m",
    language: Annotated[str | None, typer.Option(help="Language hint, e.g. en.")] = None,
    category: Annotated[
        list[str] | None, typer.Option(help="A category tag (repeat for several).")
    ] = None,
) -> None:
    """Follow a feed or a sitemap; prints the new source's id."""
    try:
        new = SourceIn(
            url=url,
            name=name,
            interval_s=parse_interval(interval),
            language=language,
            categories=category or [],
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            typer.echo(f"{'.'.join(map(str, error['loc']))}: {error['msg']}", err=True)
        raise typer.Exit(1) from exc
    settings = PollerSettings()
    # The API's check (services.feeds.api): a literal internal address is
    # refused unless NEWSFLOW_POLLER_ALLOWED_NETWORKS allows it.
    refusal = literal_refusal(str(new.url), AddressPolicy(tuple(settings.allowed_networks)))
    if refusal is not None:
        typer.echo(f"url: address not allowed: {refusal}", err=True)
        raise typer.Exit(1)

    async def action(registry: SourceRegistry) -> str:
        try:
            return (await registry.add(new)).id
        except SourceExists as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc

    typer.echo(_run(action, settings))


@sources_app.command("list")
def list_sources(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per source.")] = False,
) -> None:
    """Every source with its health: status, last success, articles in 24 h, errors."""
    # Imported here: the view lives with the API, which pulls in FastAPI.
    from services.feeds.api import SourceOut, describe

    async def action(registry: SourceRegistry) -> list[SourceOut]:
        return await describe(registry, await registry.all())

    views = _run(action)
    if as_json:
        for view in views:
            typer.echo(view.model_dump_json())
        return
    if not views:
        typer.echo("no sources; add one with `newsflow sources add URL --name NAME`")
        return
    typer.echo(
        f"{'ID':<12}  {'NAME':<24} {'STATUS':<8} {'EVERY':>6} {'LAST OK':>10} {'24H':>4}  URL"
    )
    for view in views:
        health = view.health
        typer.echo(
            f"{view.id:<12}  {view.name[:24]:<24} {health.status:<8} "
            f"{_span(view.interval_s):>6} {_when(health.last_success_at):>10} "
            f"{health.articles_24h:>4}  {view.url}"
        )
        for warning in health.warnings:
            typer.echo(f"{'':<14}! {warning}")


@sources_app.command("show")
def show(ref: Annotated[str, typer.Argument(help="Source id or name.")]) -> None:
    """One source with its full health record, as JSON."""
    from services.feeds.api import SourceOut, describe

    async def action(registry: SourceRegistry) -> SourceOut:
        return (await describe(registry, [await registry.resolve(ref)]))[0]

    typer.echo(json.dumps(_run(action).model_dump(mode="json"), indent=2))


@sources_app.command("remove")
def remove(ref: Annotated[str, typer.Argument(help="Source id or name.")]) -> None:
    """Stop following a source and forget its state."""

    async def action(registry: SourceRegistry) -> str:
        source = await registry.resolve(ref)
        await registry.remove(source.id)
        return f"removed {source.id} ({source.name})"

    typer.echo(_run(action))


def _set_paused(ref: str, paused: bool) -> None:
    async def action(registry: SourceRegistry) -> str:
        source = await registry.resolve(ref)
        await registry.set_paused(source.id, paused)
        return f"{'paused' if paused else 'resumed'} {source.id} ({source.name})"

    typer.echo(_run(action))


@sources_app.command("pause")
def pause(ref: Annotated[str, typer.Argument(help="Source id or name.")]) -> None:
    """Stop polling a source, keeping what it has seen."""
    _set_paused(ref, True)


@sources_app.command("resume")
def resume(ref: Annotated[str, typer.Argument(help="Source id or name.")]) -> None:
    """Poll a paused source again."""
    _set_paused(ref, False)
