"""Article-body scoring used by ``make eval`` (``bench/eval_cleaning.py``).

This is a faithful port of the metric of the public article-extraction benchmark
(scrapinghub/article-extraction-benchmark, ``evaluate.py``) so that figures measured
here can be compared with the figures published for other extractors:

* tokens are ``\\w+`` runs (Unicode-aware, case kept);
* a page's text becomes the multiset of its 4-token shingles (a text shorter than
  four tokens yields one shorter shingle, an empty text yields none);
* per page, true positives / false positives / false negatives are counted over the
  two multisets and normalised to sum to 1, so long pages do not outweigh short ones;
* precision and recall are means over pages, F1 = 2PR / (P + R).

One detail of the original is kept on purpose: a page whose prediction *and* ground
truth are both empty scores 1, and pages with nothing predicted (tp + fp == 0) are
left out of the precision mean, pages with nothing expected (tp + fn == 0) out of the
recall mean. Dropping that rule would shift the numbers away from the published ones.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# The benchmark also passes IGNORECASE/MULTILINE/DOTALL, which have no effect on \w+.
_TOKEN_RE = re.compile(r"\w+", re.UNICODE)

SHINGLE_SIZE = 4


@dataclass(frozen=True)
class PageScore:
    """Normalised (tp, fp, fn) of one page; the three sum to 1 unless all are 0."""

    tp: float
    fp: float
    fn: float


@dataclass(frozen=True)
class Scores:
    """Corpus-level figures: means of per-page precision and recall, and their F1."""

    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float]:
        """Rounded form written to ``bench/results/cleaning.json``."""
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def tokenize(text: str | None) -> list[str]:
    """Split into ``\\w+`` runs; punctuation and whitespace differences never count."""
    return _TOKEN_RE.findall(text or "")


def shingles(text: str | None, n: int = SHINGLE_SIZE) -> Counter[tuple[str, ...]]:
    """Multiset of ``n``-token shingles, as the benchmark builds it.

    A text with fewer than ``n`` tokens still gives one (shorter) shingle, so a very
    short prediction is not scored as empty.
    """
    tokens = tokenize(text)
    grams: Counter[tuple[str, ...]] = Counter()
    for i in range(max(1, len(tokens) - n + 1)):
        gram = tuple(tokens[i : i + n])
        if gram:
            grams[gram] += 1
    return grams


def score_page(true: str | None, pred: str | None, n: int = SHINGLE_SIZE) -> PageScore:
    """Compare one prediction with its ground truth over shingle multisets."""
    true_sh = shingles(true, n)
    pred_sh = shingles(pred, n)
    tp = fp = fn = 0.0
    for key in true_sh.keys() | pred_sh.keys():
        t, p = true_sh.get(key, 0), pred_sh.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    if total > 0:
        return PageScore(tp / total, fp / total, fn / total)
    return PageScore(0.0, 0.0, 0.0)


def precision_score(page: PageScore) -> float:
    """Precision of one page; an exact empty-vs-empty match counts as perfect."""
    if page.fp == page.fn == 0:
        return 1.0
    if page.tp == page.fp == 0:
        return 0.0
    return page.tp / (page.tp + page.fp)


def recall_score(page: PageScore) -> float:
    """Recall of one page; an exact empty-vs-empty match counts as perfect."""
    if page.fp == page.fn == 0:
        return 1.0
    if page.tp == page.fn == 0:
        return 0.0
    return page.tp / (page.tp + page.fn)


def aggregate(pages: Iterable[PageScore]) -> Scores:
    """Average per-page precision and recall, then combine them into F1.

    Raises ``ValueError`` when no page qualifies for a mean (nothing to score).
    """
    pages = list(pages)
    precisions = [precision_score(p) for p in pages if p.tp + p.fp > 0]
    recalls = [recall_score(p) for p in pages if p.tp + p.fn > 0]
    if not precisions or not recalls:
        raise ValueError("no scorable pages: every prediction or every ground truth is empty")
    precision = statistics.mean(precisions)
    recall = statistics.mean(recalls)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1)


def evaluate(ground_truth: dict[str, str], predictions: dict[str, str]) -> Scores:
    """Score predictions (page id -> body text) against ground truth (page id -> body).

    Both mappings must cover the same pages, as in the benchmark: a page silently
    missing from the predictions would otherwise flatter the figures.
    """
    if ground_truth.keys() != predictions.keys():
        missing = sorted(ground_truth.keys() ^ predictions.keys())[:5]
        raise ValueError(f"prediction keys do not match ground truth, e.g. {missing}")
    return aggregate(score_page(ground_truth[k], predictions[k]) for k in sorted(ground_truth))
