"""Metadata scoring used by ``make eval``: title, author and publication date.

The metric is the one ``../shared/eval/README.md`` states for ``metadata/``:

* title and author: exact match after lower-casing and folding white space;
  several authors are joined with ", " before comparing;
* date: the first ten characters (``YYYY-MM-DD``) must match;
* each figure is over the pages whose ground truth has that field (``null``
  fields are left out), so an extractor that returns nothing scores 0 there.

Kept apart from the loading of pages so the scoring is unit-tested without data.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FIELDS = ("title", "date", "author")


@dataclass(frozen=True)
class MetadataPage:
    """One evaluation page: its id, URL, served HTML and checked fields."""

    page_id: str
    url: str | None
    html: str
    truth: dict[str, str | None]


@dataclass(frozen=True)
class Prediction:
    """What one extractor said about one page; ``None`` where it has no answer."""

    title: str | None = None
    authors: Sequence[str] | str | None = None
    date: datetime | str | None = None


@dataclass(frozen=True)
class FieldScore:
    """Share of matching pages among those whose truth has the field."""

    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def fold(value: str | None) -> str:
    """Comparison form: lower case, white space runs folded to one space."""
    return " ".join((value or "").casefold().split())


def author_string(authors: Sequence[str] | str | None) -> str:
    """Several authors as the ground truth writes them: joined with ", "."""
    if authors is None:
        return ""
    if isinstance(authors, str):
        return authors
    return ", ".join(authors)


def date_string(value: datetime | str | None) -> str:
    """The ``YYYY-MM-DD`` part of a date or of an ISO string."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value[:10]


def field_matches(name: str, truth: str, prediction: Prediction) -> bool:
    """Does the prediction match the (non-null) ground truth of one field?"""
    if name == "title":
        return fold(prediction.title) == fold(truth)
    if name == "author":
        return fold(author_string(prediction.authors)) == fold(truth)
    if name == "date":
        return date_string(prediction.date) == truth[:10]
    raise ValueError(f"unknown field {name!r}")


def score(
    truths: Iterable[dict[str, str | None]], predictions: Iterable[Prediction]
) -> dict[str, FieldScore]:
    """Accuracy per field over the pages whose truth has that field."""
    correct = dict.fromkeys(FIELDS, 0)
    total = dict.fromkeys(FIELDS, 0)
    for truth, prediction in zip(truths, predictions, strict=True):
        for name in FIELDS:
            expected = truth.get(name)
            if not expected:  # null (or empty) in the truth: the page shows none
                continue
            total[name] += 1
            correct[name] += field_matches(name, expected, prediction)
    return {name: FieldScore(correct[name], total[name]) for name in FIELDS}


def half_of(page_id: str) -> str:
    """ "even" or "odd": the split of the pages by id parity, to see a rule hold on both."""
    number = int(page_id) if page_id.isdigit() else zlib.crc32(page_id.encode())
    return "odd" if number % 2 else "even"


def score_by_half(
    page_ids: Sequence[str],
    truths: Sequence[dict[str, str | None]],
    predictions: Sequence[Prediction],
) -> dict[str, dict[str, FieldScore]]:
    """:func:`score` on each half of the pages (see :func:`half_of`)."""
    halves: dict[str, dict[str, FieldScore]] = {}
    for half in ("even", "odd"):
        chosen = [i for i, page_id in enumerate(page_ids) if half_of(page_id) == half]
        halves[half] = score([truths[i] for i in chosen], [predictions[i] for i in chosen])
    return halves


def unfounded(
    truths: Iterable[dict[str, str | None]], predictions: Iterable[Prediction], name: str
) -> FieldScore:
    """Pages whose truth has no such field (the page shows none) but the extractor gave one.

    The accuracy figures leave these pages out, so an extractor that invents a date
    (a copyright year, a teaser's date) on them pays nothing there; this says how often.
    """
    given = total = 0
    for truth, prediction in zip(truths, predictions, strict=True):
        if truth.get(name):
            continue
        total += 1
        value = {"title": prediction.title, "author": prediction.authors, "date": prediction.date}
        given += bool(value[name])
    return FieldScore(given, total)


def load_metadata_pages(data_dir: Path) -> list[MetadataPage]:
    """The pages of ``metadata/`` in id order; raises ``FileNotFoundError`` when absent."""
    truth_path = data_dir / "ground-truth.json"
    records = json.loads(truth_path.read_text(encoding="utf-8"))
    pages: list[MetadataPage] = []
    for page_id in sorted(records):
        record = records[page_id]
        path = data_dir / "html" / f"{page_id}.html.gz"
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            html = f.read()
        truth = {name: record.get(name) for name in FIELDS}
        pages.append(MetadataPage(page_id, record.get("url"), html, truth))
    return pages
