"""The reference baseline for story clustering: TF-IDF single pass, cosine to the running
centroid. Kept apart from the real clusterer and deliberately plain, so the evaluation
shows what the real one adds.

Like the dataset's reference figure, it fits IDF on all the documents at once (which
an online system cannot do) and its threshold is picked on the same documents.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from services.stories.features import STOPWORDS, word_tokens
from services.stories.models import ArticleIn

__all__ = ["single_pass_tfidf"]


def _vectors(articles: Sequence[ArticleIn]) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """Per article: term column indices and L2-normalised TF-IDF weights."""
    counts = [
        Counter(t for t in word_tokens(a.text) if len(t) > 1 and t not in STOPWORDS)
        for a in articles
    ]
    vocab: dict[str, int] = {}
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
        for term in c:
            vocab.setdefault(term, len(vocab))
    n = len(articles)
    columns, weights = [], []
    for c in counts:
        cols = np.array([vocab[t] for t in c], dtype=np.int64)
        w = np.array([tf * (math.log((1 + n) / (1 + df[t])) + 1) for t, tf in c.items()])
        norm = float(np.linalg.norm(w)) or 1.0
        columns.append(cols)
        weights.append(w / norm)
    return columns, weights, len(vocab)


def single_pass_tfidf(articles: Sequence[ArticleIn], threshold: float) -> dict[str, str]:
    """Cluster label of each article: each joins the most similar running centroid if
    the cosine reaches ``threshold``, else starts a cluster."""
    columns, weights, width = _vectors(articles)
    centroids = np.zeros((max(1, len(articles)), max(1, width)))
    sq_norms = np.zeros(len(centroids))  # squared norms of the centroid sums
    labels: dict[str, str] = {}
    made = 0
    for article, cols, w in zip(articles, columns, weights, strict=True):
        best = -1
        if made and cols.size:
            sims = centroids[:made, cols] @ w / np.sqrt(np.maximum(sq_norms[:made], 1e-12))
            best = int(np.argmax(sims))
            if sims[best] < threshold:
                best = -1
        if best < 0:
            best, made = made, made + 1
        # |c + v|^2 = |c|^2 + 2 c.v + |v|^2, with |v| = 1
        sq_norms[best] += 2 * float(centroids[best, cols] @ w) + 1.0
        centroids[best, cols] += w
        labels[article.article_id] = f"c{best}"
    return labels
