"""The judged corpus of the relevance check: ``samples/`` as ``make run`` loads
it, plus a few articles written for the tests.

The samples (125 real pages and the seed text) are read the way
``newsflow import`` reads them (the page's own URL and host, so the ids are
the pipeline's ids) and cleaned by the cleaning stage's own function. Entities
are left out: the search's text relevance does not use them, and NER would
make the corpus depend on a model and take minutes.

The samples hold no French or Spanish article and no text about C++, so
``fixtures/supplement.json`` adds eight short French and Spanish articles and
one about C++ (original text written for these tests, see its ``about``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import typer

from services.cleaning.stage import clean_article
from services.ingestion.cli import articles_from_file, load_manifests
from shared.contracts.ids import article_id
from shared.contracts.models import EnrichedArticleV1, RawArticleV1

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
SUPPLEMENT = Path(__file__).resolve().parent / "fixtures" / "supplement.json"
# One fixed moment: an undated article sorts the same on every run.
RECEIVED = datetime(2019, 12, 15, tzinfo=UTC)


def _enriched(raw: RawArticleV1) -> EnrichedArticleV1:
    clean = clean_article(raw)
    return EnrichedArticleV1(
        **clean.model_dump(), entities=[], ner_model="none", enriched_at=RECEIVED
    )


def sample_key(path: Path) -> str:
    """How the judged set names a sample: the start of its file name, which
    stays when ids change (an id comes from the URL a manifest may add)."""
    return path.name.split(".", 1)[0][:12]


def _sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.rglob("*") if p.name.endswith((".html.gz", ".html", ".txt")))


def _raw_sample(path: Path, origins: dict[Path, dict[str, str]]) -> RawArticleV1:
    """The sample as `newsflow import` sends it: the folder manifest's or the
    page's own address and host; "import" when neither is known."""
    origin = origins.get(path.resolve())
    try:
        fields: dict[str, Any] = dict(next(articles_from_file(path, None, origin)))
    except typer.BadParameter:
        fields = dict(next(articles_from_file(path, "import", origin)))
    aid = article_id(fields.get("url"), fields.get("text") or fields.get("html"))
    return RawArticleV1(article_id=aid, received_at=RECEIVED, **fields)


@lru_cache(maxsize=1)
def sample_articles() -> tuple[tuple[str, EnrichedArticleV1], ...]:
    """Every sample with its key, cleaned (about 20 s: the cleaning stage's
    real work)."""
    files = _sample_files()
    origins = load_manifests(sorted({p.parent for p in files}))
    return tuple((sample_key(path), _enriched(_raw_sample(path, origins))) for path in files)


@lru_cache(maxsize=1)
def supplement_articles() -> tuple[tuple[str, EnrichedArticleV1], ...]:
    stored = json.loads(SUPPLEMENT.read_text(encoding="utf-8"))["articles"]
    articles = []
    for row in stored:
        url = f"https://newsflow-tests.example/{row['key']}"
        raw = RawArticleV1(
            article_id=article_id(url),
            url=url,
            source=row["source"],
            text=f"{row['title']}\n\n{row['text']}",
            title=row["title"],
            author=row["author"],
            published_at=datetime.fromisoformat(row["published_at"]),
            language=row["language"],
            received_at=RECEIVED,
        )
        articles.append((row["key"], _enriched(raw)))
    return tuple(articles)


def judged_corpus() -> dict[str, EnrichedArticleV1]:
    """Every article of the judged corpus by its key (samples, then supplement)."""
    return dict((*sample_articles(), *supplement_articles()))
