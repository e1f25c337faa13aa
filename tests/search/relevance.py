"""The relevance check: judged queries (judgements.yaml), their metrics, and
running them through the search API.

Shared by ``bench/eval_search.py`` (the table: the newsflow analysis beside
plain ``standard`` analysis, same documents, same run) and
``tests/search/test_relevance.py`` (fails under a floor).

Metrics, over the first 10 hits:

* nDCG@10: gain 2^grade - 1, discount log2(rank + 1), divided by the ideal
  ordering of the judged grades;
* recall@10: share of the relevant articles (grade >= 1) found.

A query judged to find nothing scores 1 on both when it finds nothing, 0
otherwise.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

import yaml

from shared.contracts.index import index_template

JUDGEMENTS = Path(__file__).resolve().parent / "judgements.yaml"
K = 10


@dataclass(frozen=True)
class Judged:
    q: str
    relevant: dict[str, int]
    tags: tuple[str, ...] = ()
    exclusive: bool = False


@dataclass
class Outcome:
    """One query's result: the keys of its hits, best first, and its total."""

    judged: Judged
    keys: list[str]
    total: int
    extra: list[str] = field(default_factory=list)  # hits not judged (exclusive queries)

    @property
    def ndcg(self) -> float:
        return ndcg_at(self.keys, self.judged.relevant, self.total)

    @property
    def recall(self) -> float:
        return recall_at(self.keys, self.judged.relevant, self.total)


def load_judgements(path: Path = JUDGEMENTS) -> list[Judged]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Judged(
            q=str(item["q"]),
            relevant={str(k): int(v) for k, v in (item.get("relevant") or {}).items()},
            tags=tuple(item.get("tags") or ()),
            exclusive=bool(item.get("exclusive", False)),
        )
        for item in raw["queries"]
    ]


def dcg(grades: Iterable[int]) -> float:
    return sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(grades))


def ndcg_at(keys: Sequence[str], relevant: dict[str, int], total: int, k: int = K) -> float:
    if not relevant:
        return 1.0 if total == 0 else 0.0
    ideal = dcg(sorted(relevant.values(), reverse=True)[:k])
    return dcg(relevant.get(key, 0) for key in keys[:k]) / ideal


def recall_at(keys: Sequence[str], relevant: dict[str, int], total: int, k: int = K) -> float:
    if not relevant:
        return 1.0 if total == 0 else 0.0
    wanted = {key for key, grade in relevant.items() if grade > 0}
    return len(wanted & set(keys[:k])) / len(wanted)


def summary(outcomes: Sequence[Outcome], tag: str | None = None) -> tuple[int, float, float]:
    """Queries, mean nDCG@10, mean recall@10 (of those with `tag`)."""
    chosen = [o for o in outcomes if tag is None or tag in o.judged.tags]
    if not chosen:
        return 0, float("nan"), float("nan")
    return len(chosen), mean(o.ndcg for o in chosen), mean(o.recall for o in chosen)


# ----------------------------------------------------------------- running
Fetch = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


async def run_judged(
    judged: Sequence[Judged], fetch: Fetch, key_of: dict[str, str]
) -> list[Outcome]:
    """Each query through `fetch` (a GET of /v1/search with these params,
    returning the JSON); hits are named by their corpus key."""
    outcomes = []
    for item in judged:
        size = 100 if item.exclusive else K
        body = await fetch({"q": item.q, "size": size, "facets": "false"})
        keys = [key_of.get(hit["id"], hit["id"]) for hit in body["hits"]]
        extra = [key for key in keys if key not in item.relevant] if item.exclusive else []
        outcomes.append(Outcome(item, keys[:K], int(body["total"]), extra))
    return outcomes


# ----------------------------------------------------------------- the baseline
def _standard(node: Any) -> Any:
    """A mapping with every analyzer replaced by `standard`."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("analyzer", "search_analyzer"):
                out[key] = "standard"
            else:
                out[key] = _standard(value)
        return out
    if isinstance(node, list):
        return [_standard(v) for v in node]
    return node


def standard_template(namespace: str) -> dict[str, Any]:
    """The articles template with plain `standard` analysis on every text
    field: the same fields and documents, so the same queries run. (The
    newsflow analyzers stay defined, unused by the fields: the query's
    synonym clause and the spelling suggester name them.)"""
    template = copy.deepcopy(index_template(namespace))
    template["template"]["mappings"] = _standard(template["template"]["mappings"])
    return template
