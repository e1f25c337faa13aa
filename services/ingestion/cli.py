"""``newsflow import``: bulk-import files and folders through the ingestion
API, as any client would (so imported articles get the same validation,
ids and dedup as posted ones)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

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


MANIFEST = "sources.json"


def load_manifests(paths: list[Path]) -> dict[Path, dict[str, str]]:
    """Where each file was published, from a ``sources.json`` in a folder given
    to import: ``{"files": {"<path relative to the folder>": {"url": …} or
    {"source": …}}}``. Saved pages often lack their own address; the manifest
    keeps their real source and URL-based id."""
    known: dict[Path, dict[str, str]] = {}
    for folder in (p for p in paths if p.is_dir()):
        manifest = folder / MANIFEST
        if manifest.is_file():
            entries = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
            for rel, origin in entries.items():
                known[(folder / rel).resolve()] = {k: str(v) for k, v in origin.items()}
    return known


def articles_from_file(
    path: Path, source: str | None, origin: dict[str, str] | None = None
) -> Iterator[dict[str, object]]:
    """Articles of one file: a page, a text, or one JSON article per line.
    The source is --source, else the manifest's, else a page's own host; a file
    with none of these is refused rather than given a made-up source."""
    content = read_text_file(path)
    if path.name.removesuffix(".gz").endswith(".jsonl"):
        for line in content.splitlines():
            if line.strip():
                yield json.loads(line)
        return
    origin = origin or {}
    url = origin.get("url")
    host = None
    if url is None and is_html_path(path):
        url, host = page_origin(content)
    elif url is not None:
        host = (urlsplit(url).hostname or "").removeprefix("www.") or None
    name = source or origin.get("source") or host
    if not name:
        raise typer.BadParameter(
            f"{path}: no source known: give --source, a URL in a {MANIFEST} beside it, "
            "or a page that states its own address"
        )
    article: dict[str, object] = {"source": name}
    article["html" if is_html_path(path) else "text"] = content
    if url:
        article["url"] = url
    yield article


def import_articles(
    paths: list[Path],
    source: Annotated[
        str | None,
        typer.Option(
            help="Source of .html/.txt files (default: the folder's sources.json, else a "
            "page's own host)."
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
    origins = load_manifests(paths)
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
            for article in articles_from_file(path, source, origins.get(path.resolve())):
                pending.append(json.dumps(article).encode())
                # Stay well under the API's body limit with large pages.
                if len(pending) >= batch or sum(map(len, pending)) > 4_000_000:
                    flush(client)
        flush(client)
    typer.echo(f"{len(files)} files: {accepted} articles accepted, {duplicates} duplicates")
