"""`newsflow import` names every article's source truthfully: --source, the
folder's sources.json, or the page's own address — never a made-up one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from services.ingestion.cli import articles_from_file, load_manifests

REPO = Path(__file__).resolve().parents[2]


def test_the_manifest_gives_a_page_its_url_and_host(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("<html><body><p>Story.</p></body></html>")
    (tmp_path / "sources.json").write_text(
        json.dumps({"files": {"a.html": {"url": "https://www.nj.com/news/x.html"}}})
    )
    origins = load_manifests([tmp_path])
    (article,) = articles_from_file(
        tmp_path / "a.html", None, origins[(tmp_path / "a.html").resolve()]
    )
    assert article["url"] == "https://www.nj.com/news/x.html"
    assert article["source"] == "nj.com"


def test_a_text_without_any_source_is_refused_not_called_import(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("Some scraped text.")
    with pytest.raises(typer.BadParameter, match="no source known"):
        list(articles_from_file(tmp_path / "t.txt", None))
    (article,) = articles_from_file(tmp_path / "t.txt", "example.org")
    assert article == {"source": "example.org", "text": "Some scraped text."}


def test_every_sample_has_a_source_in_the_manifest() -> None:
    samples = REPO / "samples"
    origins = load_manifests([samples])
    files = [p for p in samples.rglob("*") if p.suffix in (".gz", ".txt")]
    assert files and all(f.resolve() in origins for f in files)
    for origin in origins.values():
        assert origin.get("url", "").startswith(("http://", "https://")) or origin.get("source")
