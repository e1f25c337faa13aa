"""Unit tests for the evaluation metrics behind ``make eval`` (bench/evaluation/).

The body metric is a port of the article-extraction benchmark's; the end-to-end
check against the README's "nothing removed" figure (F1 0.674) needs the
evaluation pages, so it runs in ``bench/eval_cleaning.py`` rather than here.
"""

from __future__ import annotations

import pytest

from bench.evaluation.body import (
    PageScore,
    aggregate,
    evaluate,
    precision_score,
    recall_score,
    score_page,
    shingles,
    tokenize,
)


def test_tokenize_and_shingles() -> None:
    assert tokenize("Don't stop—now!") == ["Don", "t", "stop", "now"]
    assert shingles("a b c d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    # Fewer tokens than the shingle size still give one (short) shingle.
    assert shingles("a b") == {("a", "b"): 1}
    assert shingles("") == {}


def test_score_page_exact_and_disjoint() -> None:
    assert score_page("a b c d e", "a b c d e") == PageScore(1.0, 0.0, 0.0)
    assert score_page("a b c d", "w x y z") == PageScore(0.0, 0.5, 0.5)
    assert score_page("", "") == PageScore(0.0, 0.0, 0.0)


def test_score_page_counts_multisets_and_normalises() -> None:
    # true: (a b c d), (b c d e); pred: (a b c d), (b c d x)
    page = score_page("a b c d e", "a b c d x")
    assert page == pytest.approx(PageScore(1 / 3, 1 / 3, 1 / 3))
    # A repeated shingle in the prediction counts once as TP, once as FP.
    repeated = score_page("a b c d", "a b c d a b c d")
    # pred shingles: (a b c d) x2, (b c d a), (c d a b), (d a b c); true: (a b c d) x1
    assert repeated == pytest.approx(PageScore(1 / 5, 4 / 5, 0.0))


def test_page_precision_and_recall() -> None:
    assert precision_score(PageScore(0.5, 0.25, 0.25)) == pytest.approx(2 / 3)
    assert recall_score(PageScore(0.5, 0.0, 0.5)) == pytest.approx(0.5)
    assert precision_score(PageScore(0.0, 0.0, 1.0)) == 0.0
    assert recall_score(PageScore(0.0, 1.0, 0.0)) == 0.0


def test_aggregate_means_over_pages_and_skips_empty_predictions() -> None:
    pages = [
        PageScore(1.0, 0.0, 0.0),  # perfect
        PageScore(0.5, 0.5, 0.0),  # precision 0.5, recall 1
        PageScore(0.0, 0.0, 1.0),  # nothing predicted: left out of the precision mean
    ]
    scores = aggregate(pages)
    assert scores.precision == pytest.approx(0.75)
    assert scores.recall == pytest.approx((1 + 1 + 0) / 3)
    assert scores.f1 == pytest.approx(2 * 0.75 * (2 / 3) / (0.75 + 2 / 3))


def test_evaluate_requires_matching_pages() -> None:
    with pytest.raises(ValueError, match="do not match"):
        evaluate({"a": "x y z w"}, {"b": "x y z w"})
    scores = evaluate({"a": "x y z w", "b": "p q r s"}, {"a": "x y z w", "b": ""})
    assert (scores.precision, scores.recall, scores.f1) == pytest.approx((1.0, 0.5, 2 / 3))
    assert scores.as_dict() == {"precision": 1.0, "recall": 0.5, "f1": 0.6667}


def test_date_scores_by_half_and_dates_given_where_none_is_shown() -> None:
    from bench.evaluation.metadata import Prediction, half_of, score_by_half, unfounded

    assert (half_of("0002"), half_of("0007")) == ("even", "odd")
    assert half_of("page-x") in ("even", "odd")  # non-numeric ids still fall in a half
    ids = ["0002", "0003", "0004", "0005"]
    truths: list[dict[str, str | None]] = [
        {"title": "A", "date": "2025-01-02", "author": None},
        {"title": "B", "date": "2025-01-03", "author": None},
        {"title": "C", "date": None, "author": None},  # the page shows no date
        {"title": "D", "date": "2025-01-05", "author": None},
    ]
    predictions = [
        Prediction(date="2025-01-02T10:00:00+00:00"),
        Prediction(date="2025-01-04"),
        Prediction(date="2025-01-01"),  # invented: counted apart, not in the accuracy
        Prediction(date="2025-01-05"),
    ]
    halves = score_by_half(ids, truths, predictions)
    assert (halves["even"]["date"].correct, halves["even"]["date"].total) == (1, 1)
    assert (halves["odd"]["date"].correct, halves["odd"]["date"].total) == (1, 2)
    invented = unfounded(truths, predictions, "date")
    assert (invented.correct, invented.total) == (1, 1)
