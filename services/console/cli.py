"""The ``newsflow`` command: start each service, administer the system, and
run a stage's logic alone on files (for people tuning the stages)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from services.cleaning.cli import clean
from services.console.ops_cli import dlq_app, reindex, replay, status
from services.entities.cli import entities
from services.feeds.cli import sources_app
from services.ingestion.cli import import_articles
from services.stories.cli import stories_app
from services.subscriptions.cli import subscriptions_app

app = typer.Typer(
    help="Newsflow: a news pipeline over Kafka, Elasticsearch and Redis.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
topics_app = typer.Typer(help="Kafka topics of the registry.", no_args_is_help=True)
schemas_app = typer.Typer(help="JSON Schemas of the topic contracts.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(schemas_app, name="schemas")
app.add_typer(sources_app, name="sources")
app.add_typer(subscriptions_app, name="subscriptions")
app.add_typer(stories_app, name="stories")
# Operating the pipeline (shared/ops): status, replay, reindex, dead letters.
app.add_typer(dlq_app, name="dlq")
app.command()(status)
# Each service's own tools, from its own package.
app.command()(clean)
app.command()(entities)
app.command("import")(import_articles)
app.command()(replay)
app.command()(reindex)


class StageName(StrEnum):
    cleaning = "cleaning"
    entities = "entities"
    stories = "stories"
    indexer = "indexer"
    relabel = "relabel"
    matcher = "matcher"
    webhooks = "webhooks"


class ApiName(StrEnum):
    ingestion = "ingestion"
    search = "search"


# ---------------------------------------------------------------- services
@app.command()
def worker(
    stage: StageName,
    web_port: Annotated[
        int | None, typer.Option(help="Health/metrics port of this worker.")
    ] = None,
) -> None:
    """Run one stream worker. Start several of a stage to scale it."""
    # Faust parses sys.argv itself: hand it only its own sub-command.
    sys.argv = [f"newsflow-{stage.value}", "worker"]
    from shared.runtime.faust_runner import run_stage

    # Imported on demand: each stage loads only its own dependencies (spaCy...).
    if stage is StageName.cleaning:
        from services.cleaning.stage import CLEANING as definition
    elif stage is StageName.entities:
        from services.entities.stage import ENTITIES as definition
    elif stage is StageName.stories:
        from services.stories.stage import STORIES as definition
    elif stage is StageName.indexer:
        from services.indexer.stage import INDEXER as definition
    elif stage is StageName.relabel:
        from services.indexer.relabel import RELABEL as definition
    elif stage is StageName.matcher:
        from services.subscriptions.stage import MATCHER as definition
    else:
        from services.subscriptions.stage import WEBHOOKS as definition
    run_stage(definition, web_port)


@app.command()
def api(
    name: ApiName,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run an HTTP service: the ingestion API or the search API + UI."""
    if name is ApiName.ingestion:
        from services.ingestion.api import main as run_ingestion

        run_ingestion(port)
    else:
        from services.search.app import main as run_search

        run_search(port)


@app.command()
def poller(
    web_port: Annotated[int | None, typer.Option(help="Port of /healthz and /readyz.")] = None,
) -> None:
    """Run the feed poller: polls the sources of `newsflow sources` and sends
    their new articles down the pipeline. One per namespace."""
    from services.feeds.service import main as run

    run(web_port)


@app.command()
def ports(
    shell: Annotated[bool, typer.Option(help="As NAME_PORT=N lines for a shell.")] = False,
) -> None:
    """The port table (shared/runtime/ports.py) that settings, services.sh and compose follow."""
    from shared.runtime.ports import PORTS

    for name, port in PORTS.items():
        typer.echo(f"{name.upper()}_PORT={port}" if shell else f"{name:<10} {port}")


# ---------------------------------------------------------------- admin
@topics_app.command("create")
def topics_create() -> None:
    """Create every topic of the registry on the broker (idempotent)."""
    from shared.runtime.kafka_admin import admin_client, create_topics
    from shared.runtime.settings import CommonSettings

    settings = CommonSettings()
    admin = admin_client(settings.kafka_servers)
    try:
        states = create_topics(
            admin,
            settings.namespace,
            replication_factor=settings.topic_replication_factor,
            min_insync_replicas=settings.topic_min_insync_replicas,
        )
        for state in states:
            verb = "created" if state.created else "exists "
            typer.echo(
                f"{verb}  {state.name:<40} partitions={state.partitions} "
                f"replicas={state.replication}"
            )
    finally:
        admin.close()


@topics_app.command("list")
def topics_list() -> None:
    """Show the registry: topics, partitions, keys, contracts and DLQs."""
    from shared.contracts.topics import TOPICS

    for t in TOPICS:
        typer.echo(
            f"{t.name:<24} partitions={t.partitions} key={t.key} "
            f"value={t.value_model.__name__} dlq={t.dlq or '-'}"
        )


@schemas_app.command("export")
def schemas_export(
    out: Annotated[Path, typer.Option(help="Folder of the committed schemas.")] = Path("contracts"),
    check: Annotated[
        bool, typer.Option(help="Fail if the folder is stale; write nothing.")
    ] = False,
) -> None:
    """Write JSON Schema + one example per topic (or check they are current)."""
    from shared.contracts.export import export, stale_files

    if check:
        stale = stale_files(out)
        if stale:
            typer.echo("stale contract files (run `make schemas`): " + ", ".join(stale), err=True)
            raise typer.Exit(1)
        typer.echo("contracts are current")
        return
    for path in export(out):
        typer.echo(f"wrote {path}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
