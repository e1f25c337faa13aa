"""``newsflow entities``: the entity logic alone on text files, for people tuning it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shared.runtime.files import read_text_file


def entities(
    paths: list[Path],
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
) -> None:
    """Run the entity logic on text files; print one JSON object per file,
    with offsets into that file's text."""
    from services.entities.extract import extract_entities, load_pipeline

    nlp = load_pipeline()
    texts = [read_text_file(p) for p in paths]
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
