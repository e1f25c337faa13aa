"""The operator commands of ``newsflow``: ``status``, ``replay``, ``reindex``
and the ``dlq`` group. ``services/console/cli.py`` mounts them; the work is done in
the sibling modules, these functions only read the settings, call them and
print. Heavy clients are imported inside the commands so that ``newsflow
--help`` stays quick."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from services.console.stages import STAGES

if TYPE_CHECKING:
    from services.console.cluster_health import ClusterView
    from shared.runtime.settings import CommonSettings

dlq_app = typer.Typer(help="Dead letters of a stage: list, show, replay.", no_args_is_help=True)


class Stage(StrEnum):
    cleaning = "cleaning"
    entities = "entities"
    stories = "stories"
    indexer = "indexer"
    relabel = "relabel"
    matcher = "matcher"
    webhooks = "webhooks"


def _settings() -> CommonSettings:
    from shared.runtime.settings import CommonSettings

    return CommonSettings()


# ---------------------------------------------------------------- status
def with_cluster(
    out: str, cluster: ClusterView | None, namespace: str, json_output: bool, partitions: bool
) -> str:
    """The status output with the brokers, nodes and in-sync replicas added."""
    from services.console.cluster_health import as_dict
    from services.console.cluster_health import render as render_cluster

    if cluster is None:
        return out
    if json_output:
        return json.dumps({**json.loads(out), "cluster": as_dict(cluster)}, indent=2)
    return out + "\n\n" + render_cluster(cluster, namespace, problems_only=not partitions)


def status(
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh until Ctrl-C.")] = False,
    every: Annotated[
        float, typer.Option(help="Seconds between refreshes with --watch.", min=1)
    ] = 5.0,
    interval: Annotated[
        float,
        typer.Option(
            help="With no recent sample to measure rates against, read twice this far apart.", min=0
        ),
    ] = 3.0,
    partitions: Annotated[bool, typer.Option(help="Show the lag of every partition.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Lag, throughput, members and dead letters of every stage, from the
    broker, with the health of Kafka, Elasticsearch and Redis. Exits 1 when a
    server is down."""
    from services.console.lag import SampleStore, as_json, render, take

    settings = _settings()
    store = SampleStore(settings.redis_dsn, settings.namespace)
    first = True
    try:
        while True:
            report = take(
                settings.kafka_servers,
                settings.es_url,
                settings.redis_dsn,
                settings.namespace,
                settings.index_alias,
                store,
                interval_s=interval if first else 0,
            )
            first = False
            out = (as_json if json_output else render)(
                report.stages,
                report.health,
                report.rates,
                settings.namespace,
                report.at,
                **({} if json_output else {"partitions": partitions}),
            )
            out = with_cluster(out, report.cluster, settings.namespace, json_output, partitions)
            if not watch:
                typer.echo(out)
                raise typer.Exit(0 if report.healthy else 1)
            typer.echo("\x1b[2J\x1b[H" + out, nl=True)
            time.sleep(every)
    except KeyboardInterrupt:
        pass
    finally:
        store.close()


# ---------------------------------------------------------------- replay
def replay(
    stage: Stage,
    from_beginning: Annotated[
        bool,
        typer.Option(
            "--from-beginning", help="From the first message the input topic still keeps."
        ),
    ] = False,
    from_time: Annotated[
        str | None,
        typer.Option(
            "--from-time",
            help="From the first message written at or after this ISO 8601 time "
            "(UTC unless it says otherwise).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan, change nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Re-run a stage over messages it already processed, by moving its
    consumer group back. Its workers must be stopped; start them afterwards.
    Safe to repeat: outputs are keyed by article_id, ES _id = article_id."""
    from services.console.offsets import ops_admin
    from services.console.replay import ReplayRefused, apply, parse_time, prepare, render_plan

    if from_beginning == (from_time is not None):
        raise typer.BadParameter("give exactly one of --from-beginning or --from-time")
    settings = _settings()
    spec = STAGES[stage.value]
    admin = ops_admin(settings.kafka_servers, client_id="newsflow-replay")
    try:
        since = parse_time(from_time) if from_time else None
        rows = prepare(admin, spec, settings.namespace, since)
        typer.echo(
            render_plan(
                rows,
                spec.name,
                spec.group(settings.namespace),
                spec.input_topic(settings.namespace),
            )
        )
        if dry_run:
            return
        if not yes and not typer.confirm("move the offsets?"):
            raise typer.Exit(1)
        apply(admin, spec, settings.namespace, rows)
        typer.echo(f"done: start the {spec.name} workers to replay")
    except ReplayRefused as exc:
        typer.echo(f"replay refused: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        admin.close()


# ---------------------------------------------------------------- reindex
def reindex(
    page_size: Annotated[
        int, typer.Option(help="Documents per page and bulk request.", min=10, max=10_000)
    ] = 1000,
    settle_s: Annotated[
        float,
        typer.Option(
            help="Wait after the swap for writes already on their way to the old index.", min=0
        ),
    ] = 2.0,
    delete_old: Annotated[bool, typer.Option(help="Delete the old index afterwards.")] = False,
) -> None:
    """Build articles-v{N+1} from the current index with the current template,
    then swap the alias atomically; search answers throughout."""
    from elasticsearch import Elasticsearch

    from services.console.reindex import ReindexError
    from services.console.reindex import reindex as run

    settings = _settings()
    es = Elasticsearch(settings.es_url, request_timeout=120)
    try:
        report = run(
            es,
            settings.namespace,
            page_size=page_size,
            settle_s=settle_s,
            delete_old=delete_old,
            replicas=settings.index_replicas,
            say=typer.echo,
        )
        typer.echo(report.render())
    except ReindexError as exc:
        typer.echo(f"reindex failed: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        es.close()


# ---------------------------------------------------------------- dlq
@dlq_app.command("list")
def dlq_list(
    stage: Stage,
    last: Annotated[int, typer.Option(help="How many of the latest letters to show.", min=1)] = 20,
) -> None:
    """The latest dead letters of a stage, with their reasons ('done': already
    read by a replay)."""
    from services.console.dlq import list_letters, render_list

    settings = _settings()
    rows, total = list_letters(
        settings.kafka_servers, STAGES[stage.value], settings.namespace, last
    )
    typer.echo(render_list(rows, total))


@dlq_app.command("show")
def dlq_show(
    stage: Stage,
    where: Annotated[str, typer.Argument(help="PARTITION:OFFSET in the DLQ topic, as listed.")],
    payload_chars: Annotated[int, typer.Option(help="How much of the payload to print.")] = 2000,
) -> None:
    """One dead letter in full: reason, origin, key and payload."""
    from services.console.dlq import ReplayStopped, get_letter, render_letter

    try:
        partition, offset = (int(x) for x in where.split(":", 1))
    except ValueError as exc:
        raise typer.BadParameter("expected PARTITION:OFFSET, e.g. 3:120") from exc
    settings = _settings()
    try:
        letter = get_letter(
            settings.kafka_servers, STAGES[stage.value], settings.namespace, partition, offset
        )
    except ReplayStopped as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(render_letter(partition, offset, letter, payload_chars))


@dlq_app.command("replay")
def dlq_replay(
    stage: Stage,
    on_error: Annotated[
        str,
        typer.Option(
            "--on-error",
            help="What to do with a letter that cannot be replayed: stop, "
            "dead-letter (put it back in the DLQ) or drop (recorded in --drop-log).",
        ),
    ],
    drop_log: Annotated[
        Path | None,
        typer.Option(
            help="JSON Lines file that records every dropped letter (needed by --on-error drop)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Judge the letters, send nothing.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option(help="Replay at most this many letters.", min=1)
    ] = None,
) -> None:
    """Put a stage's dead letters back on its input once their cause is fixed:
    the original payload bytes with the original key. Progress is kept by the
    group {ns}newsflow-dlq-replay-STAGE, so nothing is replayed twice."""
    from services.console.dlq import OnError, ReplayStopped
    from services.console.dlq import replay as run

    try:
        policy = OnError(on_error)
    except ValueError as exc:
        raise typer.BadParameter("--on-error must be stop, dead-letter or drop") from exc
    settings = _settings()
    try:
        summary = run(
            settings.kafka_servers,
            STAGES[stage.value],
            settings.namespace,
            policy,
            drop_log,
            dry_run,
            limit,
        )
    except ReplayStopped as exc:
        typer.echo(f"dlq replay stopped: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(summary.render(dry_run))
    if summary.stopped:
        raise typer.Exit(1)
