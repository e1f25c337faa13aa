"""Score the cleaning stage on the article-extraction evaluation set (``make eval``).

Runs our cleaner on both inputs of every page (the served HTML through
``extract_from_html``, the already-scraped text through ``extract_from_text``) and,
in the same run, the reference methods the evaluation README lists, so the table
compares figures measured on the same machine with the same library versions:

* html: ``trafilatura.extract`` with its defaults;
* text: nothing removed;
* text: each line wrapped in ``<p>``, then trafilatura;
* text: each line wrapped in ``<p>``, then jusText with the English stoplist.

Under the body table it prints the metadata table: title, publication date
(``YYYY-MM-DD``) and author on ``../shared/eval/metadata/`` for our HTML path,
trafilatura's ``extract_metadata`` and htmldate's extensive search (original
date), all in the same run; then the date on each half of the pages (split by
page id parity: a rule that holds on both halves is not fitted to a few pages)
and how many pages that show no date got one anyway. The metrics are
:mod:`bench.evaluation.body` and :mod:`bench.evaluation.metadata`.

Writes ``bench/results/cleaning.json`` with our figures per input (the reference
rows under ``"reference"``, the metadata table under ``"metadata"``).
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Run as a script (`python bench/eval_cleaning.py`), the repo root is not on the
# path; the package may also not be installed in editable mode.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.evaluation.body import Scores, evaluate  # noqa: E402 (path set up above)
from bench.evaluation.metadata import (  # noqa: E402 (path set up above)
    FIELDS,
    FieldScore,
    MetadataPage,
    Prediction,
    load_metadata_pages,
    score,
    score_by_half,
    unfounded,
)
from services.cleaning.extract import (  # noqa: E402 (path set up above)
    ExtractionError,
    extract_from_html,
    extract_from_text,
)

DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "eval" / "extraction"
DEFAULT_METADATA_DIR = REPO_ROOT.parent / "shared" / "eval" / "metadata"
# The README's "nothing removed" figure: reproducing it checks the metric port.
NOTHING_REMOVED_F1 = 0.674
RESULTS_PATH = REPO_ROOT / "bench" / "results" / "cleaning.json"


def load_pages(data_dir: Path) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(ground truth, html, text) keyed by page id; exits with a clear message if incomplete."""
    truth_path = data_dir / "ground-truth.json"
    if not truth_path.is_file():
        sys.exit(
            f"evaluation data not found: {truth_path} is missing.\n"
            f"Pass --data-dir pointing at the folder holding ground-truth.json, html/ and text/."
        )
    truth = {k: v.get("articleBody") or "" for k, v in json.loads(truth_path.read_text()).items()}
    htmls: dict[str, str] = {}
    texts: dict[str, str] = {}
    missing: list[str] = []
    for page_id in truth:
        html_path = data_dir / "html" / f"{page_id}.html.gz"
        text_path = data_dir / "text" / f"{page_id}.txt"
        if not html_path.is_file() or not text_path.is_file():
            missing.append(page_id)
            continue
        with gzip.open(html_path, "rt", encoding="utf-8", errors="replace") as f:
            htmls[page_id] = f.read()
        texts[page_id] = text_path.read_text(encoding="utf-8", errors="replace")
    if missing:
        sys.exit(f"{len(missing)} pages lack html/ or text/ files in {data_dir}, e.g. {missing[0]}")
    return truth, htmls, texts


def run(pages: dict[str, str], method: Callable[[str], str]) -> dict[str, str]:
    """Apply a method to every page; a page it rejects counts as an empty prediction."""
    out: dict[str, str] = {}
    for page_id, content in pages.items():
        try:
            out[page_id] = method(content)
        except ExtractionError:
            out[page_id] = ""
    return out


def lines_as_paragraphs(text: str) -> str:
    """The README's reference conversion: each non-empty line becomes one ``<p>``."""
    paragraphs = "".join(
        f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip()
    )
    return f"<html><body>{paragraphs}</body></html>"


def trafilatura_defaults(page: str) -> str:
    import trafilatura

    return trafilatura.extract(page) or ""


def justext_english(page: str) -> str:
    import justext

    paragraphs = justext.justext(page, justext.get_stoplist("English"))
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"folder with ground-truth.json, html/ and text/ (default: {DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--metadata-dir",
        type=Path,
        default=DEFAULT_METADATA_DIR,
        help=f"folder with ground-truth.json and html/ (default: {DEFAULT_METADATA_DIR})",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_PATH, help="where to write the JSON figures"
    )
    args = parser.parse_args(argv)

    truth, htmls, texts = load_pages(args.data_dir)
    print(f"{len(truth)} pages from {args.data_dir}", file=sys.stderr)

    methods: list[tuple[str, str, bool, Callable[[], dict[str, str]]]] = [
        # (input, method, ours?, predictions)
        ("html", "newsflow extract_from_html", True, lambda: run(htmls, _ours_html)),
        ("html", "trafilatura.extract (defaults)", False, lambda: run(htmls, trafilatura_defaults)),
        ("text", "newsflow extract_from_text", True, lambda: run(texts, _ours_text)),
        ("text", "nothing removed", False, lambda: dict(texts)),
        (
            "text",
            "each line wrapped in `<p>`, then trafilatura",
            False,
            lambda: run(texts, lambda t: trafilatura_defaults(lines_as_paragraphs(t))),
        ),
        (
            "text",
            "each line wrapped in `<p>`, then jusText (English)",
            False,
            lambda: run(texts, lambda t: justext_english(lines_as_paragraphs(t))),
        ),
    ]

    rows: list[tuple[str, str, bool, Scores]] = []
    for input_kind, name, ours, predict in methods:
        started = time.perf_counter()
        scores = evaluate(truth, predict())
        elapsed = time.perf_counter() - started
        print(f"  {input_kind:<4} {name}: {elapsed:.1f}s", file=sys.stderr)
        rows.append((input_kind, name, ours, scores))

    print("| input | method | precision | recall | F1 |")
    print("|---|---|---|---|---|")
    for input_kind, name, ours, scores in rows:
        label = f"**{name}**" if ours else name
        print(
            f"| {input_kind} | {label} | {scores.precision:.3f} | {scores.recall:.3f} "
            f"| {scores.f1:.3f} |"
        )

    nothing_removed = next(s for _k, name, _o, s in rows if name == "nothing removed")
    if abs(nothing_removed.f1 - NOTHING_REMOVED_F1) > 0.0005:
        print(
            f"WARNING: 'nothing removed' F1 {nothing_removed.f1:.3f} differs from the README's "
            f"{NOTHING_REMOVED_F1}: the metric or the data changed",
            file=sys.stderr,
        )

    metadata_rows = metadata_table(load_metadata_pages(args.metadata_dir))
    print()
    print("| metadata extractor | title | date (YYYY-MM-DD) | author |")
    print("|---|---|---|---|")
    for row in metadata_rows:
        label = f"**{row.name}**" if row.ours else row.name
        cells = " | ".join(_cell(row.fields.get(f)) for f in FIELDS)
        print(f"| {label} | {cells} |")
    print()
    print("| date by page id parity | even ids | odd ids | a date where the page shows none |")
    print("|---|---|---|---|")
    for row in metadata_rows:
        label = f"**{row.name}**" if row.ours else row.name
        even, odd = row.halves["even"]["date"], row.halves["odd"]["date"]
        invented = row.unfounded_dates
        print(f"| {label} | {_cell(even)} | {_cell(odd)} | {invented.correct}/{invented.total} |")

    results: dict[str, object] = {
        kind: scores.as_dict() for kind, _name, ours, scores in rows if ours
    }
    results["metadata"] = [
        {
            "extractor": row.name,
            **{f: round(s.accuracy, 4) for f, s in row.fields.items()},
            "date_even_ids": round(row.halves["even"]["date"].accuracy, 4),
            "date_odd_ids": round(row.halves["odd"]["date"].accuracy, 4),
            "dates_where_none_shown": row.unfounded_dates.correct,
        }
        for row in metadata_rows
    ]
    results["reference"] = [
        {"input": kind, "method": name, **scores.as_dict()}
        for kind, name, ours, scores in rows
        if not ours
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _cell(field: FieldScore | None) -> str:
    if field is None:
        return "—"
    return f"{field.accuracy:.3f} ({field.correct}/{field.total})"


@dataclass(frozen=True)
class MetadataRow:
    """One extractor's line of the metadata tables."""

    name: str
    ours: bool
    fields: dict[str, FieldScore]
    halves: dict[str, dict[str, FieldScore]]
    unfounded_dates: FieldScore


def metadata_table(pages: list[MetadataPage]) -> list[MetadataRow]:
    """Scores per field, date per half of the pages, dates invented, for each extractor."""
    from htmldate import find_date
    from trafilatura.metadata import extract_metadata

    def ours(page: MetadataPage) -> Prediction:
        try:
            result = extract_from_html(page.html, url=page.url)
        except ExtractionError:
            return Prediction()
        return Prediction(result.title, result.authors, result.published_at)

    def trafilatura_metadata(page: MetadataPage) -> Prediction:
        document = extract_metadata(page.html, default_url=page.url)
        # Its author string as it comes ("A; B"): the README's reference figure.
        return Prediction(document.title, document.author, document.date)

    def htmldate_extensive(page: MetadataPage) -> Prediction:
        found = find_date(page.html, url=page.url, extensive_search=True, original_date=True)
        return Prediction(date=found)

    extractors: list[tuple[str, bool, Callable[[MetadataPage], Prediction], tuple[str, ...]]] = [
        ("newsflow extract_from_html", True, ours, FIELDS),
        ("trafilatura extract_metadata", False, trafilatura_metadata, FIELDS),
        ("htmldate find_date (extensive, original date)", False, htmldate_extensive, ("date",)),
    ]
    truths = [page.truth for page in pages]
    ids = [page.page_id for page in pages]
    table = []
    for name, is_ours, extractor, fields in extractors:
        started = time.perf_counter()
        predictions = [extractor(page) for page in pages]
        scores = score(truths, predictions)
        print(f"  meta {name}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
        table.append(
            MetadataRow(
                name,
                is_ours,
                {f: scores[f] for f in fields},
                score_by_half(ids, truths, predictions),
                unfounded(truths, predictions, "date"),
            )
        )
    return table


def _ours_html(page: str) -> str:
    return extract_from_html(page).text


def _ours_text(page: str) -> str:
    return extract_from_text(page).text


if __name__ == "__main__":
    raise SystemExit(main())
