"""``newsflow clean``: the cleaning logic alone on files, for people tuning it."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shared.runtime.files import is_html_path, read_text_file


def clean(paths: list[Path]) -> None:
    """Run the cleaning logic on .html/.txt files; print one JSON object per file."""
    from services.cleaning.extract import ExtractionError
    from services.cleaning.extract import clean as clean_article

    failed = False
    for path in paths:
        content = read_text_file(path)
        try:
            if is_html_path(path):
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
