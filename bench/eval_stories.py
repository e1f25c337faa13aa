"""Story clustering on ../shared/eval/stories: the clusterer beside the TF-IDF baseline.

    .venv/bin/python bench/eval_stories.py [--seeds 0,1,2,3,4] [--ner] [--cv] [--path FILE]
        [--folds] [--no-baseline] [--set NAME=VALUE ...]

Feeds the documents through the production code (``services.stories.evaluate``) in
several shuffled orders and prints BCubed and pairwise precision/recall/F1 (mean over
the shuffles) beside a TF-IDF single-pass baseline computed in the same run, plus the
near-duplicate groups found. The last line is the whole report as one JSON object.

Splits. The 772 documents are ECB+ topics 1-35 (the project keeps other topics
aside). Parameters were tuned on topics 1-22 only (``tune``); topics 23-35
(``check``) were run once with the final parameters; ``all`` is the full dev set
the issue's goal is stated on. Each split is streamed on its own. Exception, said
plainly: ``number_boost`` and ``year_weight`` (added later) were screened on ``all``
and kept only because they improved every fold (tune, check, odd, even) on both
metrics, with neighbouring values (boost 2-5, weight 0.05-0.15) within 0.007.
And the join threshold: ``--cv`` shows tune's own best is 0.22 (B-F1 0.912 there,
but 0.864/0.796 on check), while the default 0.26 ties the best on ``all`` (B-F1
0.891-0.892 for 0.22-0.26, best pw-F1 0.846): it was not picked on tune alone.
Seed spread is wide (check: B-F1 0.855-0.901 over seeds 0-4), so differences
under ~0.01 are noise.

What did not help (issue 15, second pass; B-F1/pw-F1, seeds 0-4, tune | check |
odd | even; shipped defaults 0.905/0.881 | 0.875/0.814 | 0.881/0.842 | 0.907/0.875).
Each idea was tried on tune and looked at on the rest; none improved every split
on both metrics, so no default changed:

* a higher bar (+0.03) to join a one-article story: 0.904/0.880 | 0.880/0.828 |
  0.876/0.837 | 0.900/0.870;
* a penalty when the article's heaviest capitalised names are missing from the
  story (and the story's heaviest terms from the article): unchanged at 0.06;
  one-sided, 0.03: 0.898/0.869 | 0.871/0.809 | 0.875/0.833 | 0.908/0.879;
* a per-story bar from its cohesion (heads' cosine to the rest of the story):
  0.876/0.848 | 0.834/0.770 | 0.840/0.794 | 0.866/0.827;
* link = mean of the two best links: 0.902/0.877 | 0.870/0.808 | 0.875/0.835 |
  0.906/0.877; link weight 0.3 for stories of 5+: 0.907/0.882 | 0.875/0.812 |
  0.884/0.845 | 0.909/0.877;
* no centroid-only merges (``--set merge_centroid=2``): 0.906/0.885 | 0.883/0.834 |
  0.882/0.847 | 0.906/0.873, all 772 unchanged (0.892/0.846); other merge values
  flat.

Why: within a topic, the cosine of same-event pairs against different-event pairs
has an AUC of 0.918, and no name, top-term overlap or NER-entity feature tried
lifts it above 0.920; offline average linkage over the same features (whole-set
IDF, all documents at once) peaks at 0.905/0.875, and perfect join decisions alone
(an oracle, seeds 0-2) give 0.912/0.896. The goal needs evidence this set lacks,
such as publication times, which in production put such events days or years apart.

``--cv`` adds a threshold grid (the one tunable that matters most): its sensitivity
on the whole dev set, and a two-fold check by topic (both events of a topic stay in
one fold, so the hard pairs are always held out together): the threshold picked on
one fold (best BCubed F1) is scored on the other, beside the other fold's own best
and the shipped default.

``--folds`` adds the odd/even topic folds to the table; ``--set NAME=VALUE``
(repeatable) runs with a :class:`Params` field changed, and ``--no-baseline`` skips
the baseline: together they score a candidate change on every split and fold with
this command, as the split rule above asks.

``--ner`` adds people/organisations/places found by the project's NER
(``services.entities.extract``), as the production path will; results are cached in
/tmp/stories_cache (never in the repo) and the CPU cost is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.stories.evaluate import Labelled, evaluate_docs, load_jsonl
from services.stories.scoring import Params

DATA = Path(__file__).resolve().parents[2] / "shared" / "eval" / "stories" / "documents.jsonl"
CACHE = Path("/tmp/stories_cache")
TUNE_TOPICS = range(1, 23)
GRID = (0.20, 0.22, 0.24, 0.26, 0.28, 0.30, 0.32)  # join thresholds tried by --cv


def topic(doc: Labelled) -> int:
    """ECB+ topic number of a document's gold event ("12_ecbplus" -> 12)."""
    return int(doc.event.split("_", 1)[0])


def with_entities(docs: list[Labelled], path: Path) -> tuple[list[Labelled], float]:
    """Documents with NER entities (cached per file); returns the NER CPU seconds."""
    cache = CACHE / f"ner-{path.stem}-{path.stat().st_size}.json"
    cpu = 0.0
    if cache.exists():
        found = json.loads(cache.read_text())
    else:
        from services.entities.extract import extract_entities, load_pipeline

        start = time.process_time()
        nlp = load_pipeline()
        results = extract_entities(nlp, [d.article.text for d in docs])
        cpu = time.process_time() - start
        found = {}
        for doc, (_, entities) in zip(docs, results, strict=True):
            groups: dict[str, list[str]] = {"people": [], "organisations": [], "places": []}
            for entity in entities:
                if entity.group in groups:
                    groups[entity.group].append(entity.canonical)
            found[doc.article.article_id] = groups
        CACHE.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(found))
    out = []
    for doc in docs:
        groups = found[doc.article.article_id]
        article = replace(
            doc.article,
            people=tuple(groups["people"]),
            organisations=tuple(groups["organisations"]),
            places=tuple(groups["places"]),
        )
        out.append(Labelled(article, doc.event))
    return out, cpu


def row(name: str, metrics: dict[str, float]) -> str:
    return (
        f"| {name:<34} | {metrics['bcubed_p']:.3f} | {metrics['bcubed_r']:.3f} "
        f"| {metrics['bcubed_f1']:.3f} | {metrics['pairwise_p']:.3f} "
        f"| {metrics['pairwise_r']:.3f} | {metrics['pairwise_f1']:.3f} |"
    )


def overrides(pairs: list[str]) -> Params:
    """:class:`Params` with ``NAME=VALUE`` changes, each value cast to the field's type."""
    types = {f.name: type(getattr(Params(), f.name)) for f in fields(Params)}
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in types:
            raise SystemExit(f"--set: no Params field {name!r}")
        kind = types[name]
        changes[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return replace(Params(), **changes)


def _grid(docs: list[Labelled], seeds: list[int], base: Params) -> dict[float, dict[str, float]]:
    """Mean metrics of the clusterer (no baseline) at each threshold of :data:`GRID`."""
    return {
        th: evaluate_docs(docs, seeds, replace(base, threshold=th), baseline=False)["stories"]
        for th in GRID
    }


def cross_validate(docs: list[Labelled], seeds: list[int], base: Params) -> dict[str, Any]:
    """Threshold sensitivity on all documents and a two-fold check by topic."""
    folds = {
        "topics 1-22": [d for d in docs if topic(d) in TUNE_TOPICS],
        "topics 23-35": [d for d in docs if topic(d) not in TUNE_TOPICS],
        "odd topics": [d for d in docs if topic(d) % 2 == 1],
        "even topics": [d for d in docs if topic(d) % 2 == 0],
    }
    grids = {name: _grid(subset, seeds, base) for name, subset in folds.items()}
    grids["all"] = _grid(docs, seeds, base)
    print("\nthreshold sensitivity (all documents): threshold, B-F1, pw-F1")
    for th, m in grids["all"].items():
        print(f"  {th:.2f}  {m['bcubed_f1']:.3f}  {m['pairwise_f1']:.3f}")
    print(
        "\n| tuned on -> held out | picked th | held-out B-F1 | pw-F1 | held-out best th, B-F1 "
        "| default th, B-F1 |"
    )
    print("|---|---|---|---|---|---|")
    default = base.threshold
    checks = []
    for train, test in (
        ("topics 1-22", "topics 23-35"),
        ("topics 23-35", "topics 1-22"),
        ("odd topics", "even topics"),
        ("even topics", "odd topics"),
    ):
        picked = max(GRID, key=lambda th: (grids[train][th]["bcubed_f1"], -th))
        held = grids[test][picked]
        best = max(GRID, key=lambda th: (grids[test][th]["bcubed_f1"], -th))
        at_default = grids[test].get(default)
        print(
            f"| {train} -> {test} | {picked:.2f} | {held['bcubed_f1']:.3f} "
            f"| {held['pairwise_f1']:.3f} | {best:.2f}, {grids[test][best]['bcubed_f1']:.3f} "
            f"| {default:.2f}, {at_default['bcubed_f1'] if at_default else float('nan'):.3f} |"
        )
        checks.append({"train": train, "test": test, "picked": picked, "held_out": held})
    return {"grid_all": {str(k): v for k, v in grids["all"].items()}, "folds": checks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=DATA)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--ner", action="store_true", help="add NER entities (cached in /tmp)")
    parser.add_argument("--cv", action="store_true", help="threshold grid and two-fold check")
    parser.add_argument("--folds", action="store_true", help="add the odd/even topic folds")
    parser.add_argument("--no-baseline", action="store_true", help="skip the TF-IDF baseline")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    params = overrides(args.set)
    docs = load_jsonl(args.path)
    report: dict[str, Any] = {"path": str(args.path), "seeds": seeds, "set": args.set}
    if args.ner:
        docs, cpu = with_entities(docs, args.path)
        report["ner_cpu_seconds"] = round(cpu, 1)
        print(f"NER: {cpu:.1f} s CPU for {len(docs)} documents (0 = cached)")
    splits = {
        "tune (topics 1-22)": [d for d in docs if topic(d) in TUNE_TOPICS],
        "check (topics 23-35)": [d for d in docs if topic(d) not in TUNE_TOPICS],
        "all (772, dev)": docs,
    }
    if args.folds:
        splits["odd topics"] = [d for d in docs if topic(d) % 2 == 1]
        splits["even topics"] = [d for d in docs if topic(d) % 2 == 0]
    print("| split / method | B-P | B-R | B-F1 | pw-P | pw-R | pw-F1 |")
    print("|---|---|---|---|---|---|---|")
    for name, subset in splits.items():
        start = time.process_time()
        result = evaluate_docs(subset, seeds, params, baseline=not args.no_baseline)
        result["cpu_seconds"] = round(time.process_time() - start, 1)
        report[name] = result
        print(row(f"{name}: stories", result["stories"]))
        if "baseline" in result:
            base = result["baseline"]
            print(row(f"{name}: baseline (th {base['threshold']})", base["metrics"]))
    groups = report["all (772, dev)"]["duplicate_groups"]
    print(f"\nnear-duplicate groups on the dev set (first copy first): {len(groups)}")
    for group in groups:
        events = {d.event for d in docs if d.article.article_id in group}
        print(f"  {len(group)}: {' '.join(group)}  events={sorted(events)}")
    if args.cv:
        report["cv"] = cross_validate(docs, seeds, params)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
