"""``newsflow stories``: the story clustering alone, for people tuning it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

stories_app = typer.Typer(help="Stories: articles about one event, grouped.", no_args_is_help=True)


@stories_app.command("eval")
def evaluate(
    path: Annotated[
        Path,
        typer.Argument(
            help='JSON Lines: {"id", "text", "event"}, optional "title", "published_at", "source".'
        ),
    ],
    seeds: Annotated[int, typer.Option(min=1, help="Shuffled orders to average over.")] = 5,
) -> None:
    """Cluster a labelled file in shuffled orders; print BCubed and pairwise
    precision/recall/F1 beside the TF-IDF single-pass baseline. The last line
    is the whole report as one JSON object."""
    from services.stories.evaluate import evaluate_file

    if not path.is_file():
        raise typer.BadParameter(f"{path}: no such file")
    report = evaluate_file(path, seeds=tuple(range(seeds)))
    typer.echo(json.dumps(report, ensure_ascii=False))
