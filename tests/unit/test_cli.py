"""The stage logic alone from the command line, as people tuning a stage use it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from services.console.cli import app

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "samples" / "text" / "000_e1ee1b6c240190f4.txt"
runner = CliRunner()


def test_clean_prints_one_json_object_per_file(tmp_path: Path) -> None:
    page = next((REPO / "samples" / "pages").glob("*.html.gz"))
    html_file = tmp_path / "page.html"
    html_file.write_bytes(gzip.decompress(page.read_bytes()))
    result = runner.invoke(app, ["clean", str(SEED), str(html_file)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["path"] for r in rows] == [str(SEED), str(html_file)]
    assert set(rows[0]) == {
        "path",
        "title",
        "text",
        "language",
        "published_at",
        "authors",
        "credit",
    }
    assert rows[0]["title"] == "North Korea ratifies defense treaty with Russia"
    assert rows[0]["credit"] == ["AFP"] and "LEAVE A REPLY" not in rows[0]["text"]
    assert rows[1]["text"] and rows[1]["title"]


def test_clean_reports_an_empty_file_and_fails(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    result = runner.invoke(app, ["clean", str(empty)])
    assert result.exit_code == 1
    assert "error" in json.loads(result.output.splitlines()[0])


def test_entities_prints_offsets_into_the_file(tmp_path: Path) -> None:
    text = "Vladimir Putin met Kim Jong-un in Pyongyang.\nLater, Putin flew back to Moscow."
    path = tmp_path / "story.txt"
    path.write_text(text)
    result = runner.invoke(app, ["entities", str(path)])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)
    assert row["path"] == str(path)
    for entity in row["entities"]:
        assert set(entity) == {"text", "canonical", "label", "group", "start", "end"}
        assert text[entity["start"] : entity["end"]].replace("\n", " ") == entity["text"]
        assert "\n" not in entity["text"]
    people = {e["canonical"] for e in row["entities"] if e["group"] == "people"}
    assert "Vladimir Putin" in people
    places = {e["canonical"] for e in row["entities"] if e["group"] == "places"}
    assert {"Pyongyang", "Moscow"} <= places


def test_topics_list_shows_the_registry() -> None:
    result = runner.invoke(app, ["topics", "list"])
    assert result.exit_code == 0
    assert "articles.raw" in result.output and "dlq=articles.raw.dlq" in result.output
