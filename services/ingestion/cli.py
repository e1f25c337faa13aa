"""``newsflow import``: bulk-import files and folders through the ingestion
API, as any client would (so imported articles get the same validation,
ids and dedup as posted ones)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from shared.runtime.files import is_html_path, read_text_file


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
    content = read_text_file(path)
    if path.name.removesuffix(".gz").endswith(".jsonl"):
        for line in content.splitlines():
            if line.strip():
                yield json.loads(line)
    elif is_html_path(path):
        url, host = page_origin(content)
        article: dict[str, object] = {"source": source or host or "import", "html": content}
        if url:
            article["url"] = url
        yield article
    else:
        yield {"source": source or "import", "text": content}


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
