"""CPU cost of the cleaning stage per article, beside baselines measured in the same run.

What the stage does per article is timed with ``time.process_time`` (CPU, not wall
clock, so other processes on the machine matter less): ``clean()`` on the page,
then ``fingerprint`` and ``word_count`` of the body. Over the sample corpus
(``samples/pages/*.html.gz`` and ``samples/text/*.txt``) for:

* **current**: this checkout's ``services.cleaning.extract``;
* **previous**: the ``services.cleaning`` package as it was at ``--previous-rev``
  (default: the commit this work started from), loaded from git into a temporary
  package of another name, so both run in one process;
* **before**: the single-module cleaner as it was at ``--baseline-rev`` (default:
  the last commit before the split into modules), loaded from git into a
  temporary module;
* **trafilatura.extract**: trafilatura's bare ``extract`` with its defaults, the
  floor any trafilatura-based cleaner pays.

They run interleaved, article by article in a rotating order, after a warm-up
pass; the median of the passes is reported, so a burst of load on a shared
machine does not favour one of them. Prints a markdown
table; ``--json`` writes the figures too.

    .venv/bin/python bench/cleaning_cpu.py [--passes 3]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from services.cleaning import extract as current  # noqa: E402 (path set up above)

BASELINE_REV = "caef780"
PREVIOUS_REV = "aeb1c78"  # issue 12, second pass: 22.6 CPU-ms per article
PACKAGE = "services.cleaning"
SAMPLES = REPO_ROOT / "samples"


def load_corpus(samples: Path) -> list[tuple[str | None, str | None]]:
    """(html, text) of every sample article; exits with a clear message when absent."""
    pages = sorted((samples / "pages").glob("*.html.gz"))
    texts = sorted((samples / "text").glob("*.txt"))
    if not pages and not texts:
        sys.exit(f"no sample articles under {samples} (pages/*.html.gz, text/*.txt)")
    corpus: list[tuple[str | None, str | None]] = []
    for path in pages:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            corpus.append((f.read(), None))
    corpus += [(None, p.read_text(encoding="utf-8", errors="replace")) for p in texts]
    return corpus


def load_baseline(rev: str) -> ModuleType:
    """The cleaner as one module at ``rev``, imported under a private name."""
    source = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "show", f"{rev}:services/cleaning/extract.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    folder = Path(tempfile.mkdtemp(prefix="cleaning-baseline-"))
    path = folder / "cleaning_baseline.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("cleaning_baseline", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["cleaning_baseline"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def load_package(rev: str) -> ModuleType:
    """``services.cleaning`` at ``rev`` as a package of another name; its ``extract`` module.

    Every file of the package is read from git and its imports of
    ``services.cleaning`` are renamed, so the copy and this checkout's package run
    side by side in one process (the rest of the repository is shared).
    """
    folder = "services/cleaning"
    listing = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-tree", "--name-only", rev, f"{folder}/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    name = f"cleaning_{rev}"
    root = Path(tempfile.mkdtemp(prefix="cleaning-previous-"))
    (root / name).mkdir()
    for path in (p for p in listing if p.endswith(".py")):
        source = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "show", f"{rev}:{path}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (root / name / Path(path).name).write_text(source.replace(PACKAGE, name), encoding="utf-8")
    sys.path.insert(0, str(root))
    return importlib.import_module(f"{name}.extract")


def stage_work(module: ModuleType) -> Callable[[str | None, str | None], None]:
    """What the stage does with one article, using ``module``'s functions."""

    def work(html: str | None, text: str | None) -> None:
        try:
            result = module.clean(html, text)
        except module.ExtractionError:
            return
        module.fingerprint(result.text)
        module.word_count(result.text)

    return work


def trafilatura_only(html: str | None, text: str | None) -> None:
    import trafilatura

    if html:
        trafilatura.extract(html)


def one_pass(
    methods: dict[str, Callable[[str | None, str | None], None]],
    corpus: list[tuple[str | None, str | None]],
) -> dict[str, float]:
    """CPU milliseconds per article of each method, for one pass over the corpus.

    The methods take turns article by article (in a rotating order), so a burst of
    load from other processes on a shared machine falls on all of them alike
    rather than on whichever ran during it.
    """
    spent = dict.fromkeys(methods, 0.0)
    names = list(methods)
    for index, (html, text) in enumerate(corpus):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.process_time()
            methods[name](html, text)
            spent[name] += time.process_time() - started
    return {name: 1000 * total / len(corpus) for name, total in spent.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3, help="measured passes (median kept)")
    parser.add_argument("--baseline-rev", default=BASELINE_REV, help="git revision of 'before'")
    parser.add_argument(
        "--previous-rev", default=PREVIOUS_REV, help="git revision of 'previous' (a package)"
    )
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    corpus = load_corpus(args.samples)
    methods: dict[str, Callable[[str | None, str | None], None]] = {
        "current (services.cleaning.extract)": stage_work(current),
        f"previous ({args.previous_rev}, package)": stage_work(load_package(args.previous_rev)),
        f"before ({args.baseline_rev}, one module)": stage_work(load_baseline(args.baseline_rev)),
        "trafilatura.extract (defaults, HTML only)": trafilatura_only,
    }
    # Warm-up: imports, model loads, caches (htmldate loads its date parser on
    # first use: one page that reaches it is in the sample corpus).
    one_pass(methods, corpus)
    runs: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(args.passes):
        for name, value in one_pass(methods, corpus).items():
            runs[name].append(value)

    print(
        f"{len(corpus)} sample articles, {args.passes} passes each, median shown", file=sys.stderr
    )
    print("| method | CPU-ms per article | passes |")
    print("|---|---|---|")
    for name, values in runs.items():
        passes = ", ".join(f"{v:.1f}" for v in values)
        print(f"| {name} | {statistics.median(values):.1f} | {passes} |")
    if args.json:
        figures = {name: round(statistics.median(v), 2) for name, v in runs.items()}
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
