"""The ``newsflow`` command: start each service, administer the system, and
run a stage's logic alone on files (for people tuning the stages)."""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from services.console.ops_cli import dlq_app, reindex, replay, status
from services.feeds.cli import sources_app

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
# Operating the pipeline (shared/ops): status, replay, reindex, dead letters.
app.add_typer(dlq_app, name="dlq")
app.command()(status)
app.command()(replay)
app.command()(reindex)


class StageName(StrEnum):
    cleaning = "cleaning"
    entities = "entities"
    indexer = "indexer"


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
    if stage is StageName.cleaning:
        from services.cleaning.worker import main as run
    elif stage is StageName.entities:
        from services.entities.worker import main as run
    else:
        from services.indexer.worker import main as run
    run(web_port)


@app.command()
def api(
    name: ApiName,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run an HTTP service: the ingestion API or the search API + UI."""
    if name is ApiName.ingestion:
        from services.ingestion.app import main as run_ingestion

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
    from services.feeds.poller import main as run

    run(web_port)


# ---------------------------------------------------------------- admin
@topics_app.command("create")
def topics_create() -> None:
    """Create every topic of the registry on the broker (idempotent)."""
    from shared.runtime.kafka_admin import admin_client, create_topics
    from shared.runtime.settings import CommonSettings

    settings = CommonSettings()
    admin = admin_client(settings.kafka_servers)
    try:
        for state in create_topics(admin, settings.namespace):
            verb = "created" if state.created else "exists "
            typer.echo(f"{verb}  {state.name:<40} partitions={state.partitions}")
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


# ---------------------------------------------------------------- stage logic alone
def _read_input(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def _is_html(path: Path) -> bool:
    return ".htm" in "".join(path.suffixes).lower()


@app.command()
def clean(paths: list[Path]) -> None:
    """Run the cleaning logic on .html/.txt files; print one JSON object per file."""
    from services.cleaning.extract import ExtractionError
    from services.cleaning.extract import clean as clean_article

    failed = False
    for path in paths:
        content = _read_input(path)
        try:
            if _is_html(path):
                result = clean_article(html=content, text=None)
            else:
                result = clean_article(html=None, text=content)
        except ExtractionError as exc:
            typer.echo(json.dumps({"path": str(path), "error": str(exc)}))
            failed = True
            continue
        typer.echo(
            json.dumps(
                {
                    "path": str(path),
                    "title": result.title,
                    "text": result.text,
                    "language": result.language,
                    "published_at": result.published_at.isoformat()
                    if result.published_at
                    else None,
                    "authors": result.authors,
                    "credit": result.credit,
                },
                ensure_ascii=False,
            )
        )
    if failed:
        raise typer.Exit(1)


@app.command()
def entities(
    paths: list[Path],
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
) -> None:
    """Run the entity logic on text files; print one JSON object per file,
    with offsets into that file's text."""
    from services.entities.extract import extract_entities, load_pipeline

    nlp = load_pipeline()
    texts = [_read_input(p) for p in paths]
    for path, (mentions, _merged) in zip(
        paths, extract_entities(nlp, texts, batch_size), strict=True
    ):
        typer.echo(
            json.dumps(
                {
                    "path": str(path),
                    "entities": [
                        {
                            "text": m.text,
                            "canonical": m.canonical,
                            "label": m.label,
                            "group": m.group,
                            "start": m.start,
                            "end": m.end,
                        }
                        for m in mentions
                    ],
                },
                ensure_ascii=False,
            )
        )


# ---------------------------------------------------------------- bulk import
def _iter_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and _importable(p))
        elif _importable(path):
            yield path
        else:
            raise typer.BadParameter(f"{path}: not a .html, .txt or .jsonl file (or .gz of one)")


def _importable(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return bool(suffixes) and suffixes[-1] in (".html", ".htm", ".txt", ".jsonl")


def page_origin(html: str) -> tuple[str | None, str | None]:
    """The URL a saved page declares for itself (canonical link, og:url) and its
    host, so an imported archive keeps real sources and URL-based ids."""
    import trafilatura

    meta = trafilatura.extract_metadata(html)
    if meta is None or not meta.url or not meta.url.startswith(("http://", "https://")):
        return None, None
    host = meta.hostname or None
    return meta.url, host.removeprefix("www.") if host else None


def articles_from_file(path: Path, source: str | None) -> Iterator[dict[str, object]]:
    """Articles of one file: a page, a text, or one JSON article per line.
    Without --source, a page's own host names its source."""
    content = _read_input(path)
    if path.name.removesuffix(".gz").endswith(".jsonl"):
        for line in content.splitlines():
            if line.strip():
                yield json.loads(line)
    elif _is_html(path):
        url, host = page_origin(content)
        article: dict[str, object] = {"source": source or host or "import", "html": content}
        if url:
            article["url"] = url
        yield article
    else:
        yield {"source": source or "import", "text": content}


@app.command("import")
def import_articles(
    paths: list[Path],
    source: Annotated[
        str | None,
        typer.Option(
            help="Source of .html/.txt files (default: a page's own host, else 'import')."
        ),
    ] = None,
    api_url: Annotated[
        str, typer.Option(envvar="NEWSFLOW_INGESTION_URL")
    ] = "http://127.0.0.1:8001",
    api_key: Annotated[str, typer.Option(envvar="NEWSFLOW_API_KEY")] = "",
    batch: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    reprocess: bool = False,
) -> None:
    """Bulk-import files and folders (.html, .txt, .jsonl) through the ingestion API."""
    import httpx
    from tqdm import tqdm

    files = list(_iter_files(paths))
    accepted = duplicates = 0
    pending: list[bytes] = []

    def flush(client: httpx.Client) -> None:
        nonlocal accepted, duplicates
        if not pending:
            return
        response = client.post(
            f"{api_url}/v1/articles:batch",
            content=b"\n".join(pending),
            params={"reprocess": str(reprocess).lower()},
            headers={"X-API-Key": api_key, "Content-Type": "application/x-ndjson"},
        )
        if response.status_code != 202:
            typer.echo(
                f"ingestion refused a batch ({response.status_code}): {response.text}", err=True
            )
            raise typer.Exit(1)
        for item in response.json()["articles"]:
            if item["status"] == "accepted":
                accepted += 1
            else:
                duplicates += 1
        pending.clear()

    with httpx.Client(timeout=60) as client:
        for path in tqdm(files, unit="file", desc="importing"):
            for article in articles_from_file(path, source):
                pending.append(json.dumps(article).encode())
                # Stay well under the API's body limit with large pages.
                if len(pending) >= batch or sum(map(len, pending)) > 4_000_000:
                    flush(client)
        flush(client)
    typer.echo(f"{len(files)} files: {accepted} articles accepted, {duplicates} duplicates")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
