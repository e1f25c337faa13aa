"""Evaluation of story clustering on labelled JSON Lines: ``newsflow stories eval PATH``.

Input: one JSON object a line, ``{"id", "text", "event"}`` with optional ``title``,
``published_at`` (ISO 8601), ``source`` and entity lists ``people``,
``organisations``, ``places``. ``event`` is the gold label.

The documents are fed through the production code (:class:`StoryClusterer` on a fresh
:class:`MemoryState`, in batches as the stage receives them) in several shuffled
orders, because online clustering depends on arrival order; the figures are means
over the orders. When every document has a publication date, the time-sorted order
(production's order) is reported too. A TF-IDF single-pass baseline (cosine to the
running centroid, global IDF, English stop words; its threshold picked on the same
documents, as in the dataset's reference figure) is computed in the same run.

Metrics: BCubed precision/recall/F1 (per document, averaged) and pairwise
precision/recall/F1 over all pairs of documents.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from services.stories.baseline import single_pass_tfidf
from services.stories.clustering import StoryClusterer
from services.stories.models import ArticleIn
from services.stories.scoring import Params
from services.stories.state import MemoryState

__all__ = [
    "DEFAULT_SEEDS",
    "Labelled",
    "bcubed",
    "cluster",
    "evaluate_docs",
    "evaluate_file",
    "load_jsonl",
    "pairwise",
]

DEFAULT_SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)
BATCH = 64  # articles per call, as the stage would batch them
_MAX_LINE = 5_000_000  # bytes; a longer line is refused rather than parsed


@dataclass(frozen=True, slots=True)
class Labelled:
    """One evaluation document: the article and its gold event."""

    article: ArticleIn
    event: str


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(v) for v in value[:200] if isinstance(v, str))


def parse_line(line: str, number: int) -> Labelled:
    """One JSON Lines record; ``ValueError`` naming the line when it is unusable."""
    if len(line) > _MAX_LINE:
        raise ValueError(f"line {number}: longer than {_MAX_LINE} characters")
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {number}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError(f"line {number}: not a JSON object")
    for key in ("id", "text", "event"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ValueError(f"line {number}: '{key}' must be a non-empty string")
    title = data.get("title")
    source = data.get("source")
    article = ArticleIn(
        article_id=data["id"],
        text=data["text"],
        title=title if isinstance(title, str) else None,
        published_at=_parse_time(data.get("published_at")),
        source=source if isinstance(source, str) else None,
        people=_names(data.get("people")),
        organisations=_names(data.get("organisations")),
        places=_names(data.get("places")),
    )
    return Labelled(article, data["event"])


def load_jsonl(path: str | Path) -> list[Labelled]:
    """All records of a JSON Lines file (blank lines skipped; duplicate ids refused)."""
    docs: list[Labelled] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            doc = parse_line(line, number)
            if doc.article.article_id in seen:
                raise ValueError(f"line {number}: duplicate id {doc.article.article_id!r}")
            seen.add(doc.article.article_id)
            docs.append(doc)
    return docs


# ---------------------------------------------------------------------- metrics
def bcubed(pred: Mapping[str, str], gold: Mapping[str, str]) -> tuple[float, float, float]:
    """BCubed precision, recall and F1 of ``pred`` against ``gold`` (same ids)."""
    if not gold:
        return 0.0, 0.0, 0.0
    by_pred: dict[str, set[str]] = defaultdict(set)
    by_gold: dict[str, set[str]] = defaultdict(set)
    for doc, label in pred.items():
        by_pred[label].add(doc)
    for doc, label in gold.items():
        by_gold[label].add(doc)
    precision = recall = 0.0
    for doc, label in gold.items():
        mine, truth = by_pred[pred[doc]], by_gold[label]
        both = len(mine & truth)
        precision += both / len(mine)
        recall += both / len(truth)
    precision /= len(gold)
    recall /= len(gold)
    return precision, recall, _f1(precision, recall)


def pairwise(pred: Mapping[str, str], gold: Mapping[str, str]) -> tuple[float, float, float]:
    """Precision, recall and F1 over all pairs of documents put together."""

    def pairs(counts: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    together = pairs(Counter((pred[d], gold[d]) for d in gold))
    predicted = pairs(Counter(pred[d] for d in gold))
    true = pairs(Counter(gold.values()))
    precision = together / predicted if predicted else 1.0
    recall = together / true if true else 1.0
    return precision, recall, _f1(precision, recall)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def scores(pred: Mapping[str, str], gold: Mapping[str, str]) -> dict[str, float]:
    """Both metric families as one flat dict."""
    bp, br, bf = bcubed(pred, gold)
    pp, pr, pf = pairwise(pred, gold)
    return {
        "bcubed_p": bp,
        "bcubed_r": br,
        "bcubed_f1": bf,
        "pairwise_p": pp,
        "pairwise_r": pr,
        "pairwise_f1": pf,
    }


def _mean(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    return {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in rows[0]}


# ---------------------------------------------------------------------- runs
def cluster(
    docs: Sequence[Labelled], params: Params | None = None
) -> tuple[dict[str, str], dict[str, str | None]]:
    """Stream ``docs`` in the given order through a fresh clusterer: (story id of each
    document after the last merge, its ``duplicate_of``).

    Merges are followed from the batch results, as a downstream consumer would,
    not read back from the state (which may have forgotten old ones)."""
    params = params or Params()
    clusterer = StoryClusterer(MemoryState(params.window, params.remember), params)
    story_of: dict[str, str] = {}
    duplicate_of: dict[str, str | None] = {}
    merged: dict[str, str] = {}
    for start in range(0, len(docs), BATCH):
        result = clusterer.process([d.article for d in docs[start : start + BATCH]])
        for a in result.assignments:
            story_of[a.article_id] = a.story_id
            duplicate_of[a.article_id] = a.duplicate_of
        for merge in result.merges:
            merged[merge.old] = merge.into
    return {doc: _follow(merged, story) for doc, story in story_of.items()}, duplicate_of


def _follow(merged: Mapping[str, str], story: str) -> str:
    seen = {story}
    while story in merged:
        story = merged[story]
        if story in seen:  # a cycle cannot happen (merges keep the older id); be safe
            break
        seen.add(story)
    return story


def shuffled(docs: Sequence[Labelled], seed: int) -> list[Labelled]:
    """``docs`` in the order a ``random.Random(seed)`` shuffle gives."""
    order = list(docs)
    random.Random(seed).shuffle(order)
    return order


def time_sorted(docs: Sequence[Labelled]) -> list[Labelled] | None:
    """``docs`` by publication time (ties by id), or None if any has no date."""
    if any(d.article.published_at is None for d in docs):
        return None
    return sorted(docs, key=lambda d: (d.article.published_at, d.article.article_id))


def duplicate_groups(duplicate_of: Mapping[str, str | None]) -> list[list[str]]:
    """Near-duplicate groups (first copy first), largest first."""
    groups: dict[str, list[str]] = defaultdict(list)
    for doc, root in duplicate_of.items():
        if root is not None:
            groups[root].append(doc)
    out = [[root, *sorted(copies)] for root, copies in groups.items()]
    return sorted(out, key=lambda g: (-len(g), g[0]))


def evaluate_docs(
    docs: Sequence[Labelled],
    seeds: Sequence[int] = DEFAULT_SEEDS,
    params: Params | None = None,
    *,
    baseline: bool = True,
) -> dict[str, Any]:
    """Metrics of the clusterer (mean over shuffles, and time order if dated) and of
    the baseline, plus the near-duplicate groups of the first shuffle."""
    if not docs:
        raise ValueError("no documents to evaluate")
    gold = {d.article.article_id: d.event for d in docs}
    runs = []
    groups: list[list[str]] = []
    for seed in seeds:
        pred, dups = cluster(shuffled(docs, seed), params)
        runs.append(scores(pred, gold))
        groups = groups or duplicate_groups(dups)
    report: dict[str, Any] = {
        "documents": len(docs),
        "events": len(set(gold.values())),
        "seeds": list(seeds),
        "stories": _mean(runs),
        "stories_per_seed": [{k: round(v, 4) for k, v in r.items()} for r in runs],
    }
    dated = time_sorted(docs)
    if dated is not None:
        report["stories_time_order"] = _mean([scores(cluster(dated, params)[0], gold)])
    if baseline:
        report["baseline"] = baseline_report(docs, seeds, gold)
    report["duplicate_groups"] = groups
    return report


def baseline_report(
    docs: Sequence[Labelled], seeds: Sequence[int], gold: Mapping[str, str]
) -> dict[str, Any]:
    """The TF-IDF single-pass baseline at its best threshold on these documents."""
    best: dict[str, Any] | None = None
    for step in range(13):
        threshold = round(0.15 + 0.025 * step, 3)
        rows = [
            scores(single_pass_tfidf([d.article for d in shuffled(docs, s)], threshold), gold)
            for s in seeds
        ]
        mean = _mean(rows)
        if best is None or mean["bcubed_f1"] > best["metrics"]["bcubed_f1"]:
            best = {"threshold": threshold, "metrics": mean}
    assert best is not None
    return best


def evaluate_file(
    path: str | Path,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    params: Params | None = None,
    *,
    baseline: bool = True,
) -> dict[str, Any]:
    """:func:`evaluate_docs` on a JSON Lines file (see the module docstring)."""
    return evaluate_docs(load_jsonl(path), seeds, params, baseline=baseline)


def with_params(params: Params, **changes: Any) -> Params:
    """``params`` with some fields changed (for tuning scripts)."""
    return replace(params, **changes)
