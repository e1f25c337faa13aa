"""What grouping search results by story costs, and how its story counts are made.

A search page grouped by story (``group=story``) collapses on ``story_id``.
What each hit says of its story (N articles, M sources, its next best
articles) can come from inner hits in the same request (Elasticsearch then
runs one search per hit and per inner hit definition) or from one second
request for the whole page (a terms aggregation over the page's stories with
a cardinality of sources and top hits). This bench times, on the same searches:

* ``none``: the ungrouped page (the baseline, what every search cost before);
* ``collapse``: the collapsed page alone (no story counts);
* ``story``: what the API does: ``collapse`` then the page's stories
  request (both timed, one after the other);
* ``story_inner``: collapse with inner hits (top articles with N, and an
  inner collapse on source for M) in one request.

Every body is built by the API's own query builder and POSTed straight to
Elasticsearch with one keep-alive client. The corpus is ``search_latency``'s
synthetic one, placed in stories of Zipf-like sizes (most articles alone,
some stories of tens), as ``GroupedArticleV1`` documents.

Usage::

    .venv/bin/python bench/stories_search.py [--docs 4000] [--requests 150]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from elasticsearch import AsyncElasticsearch
from search_latency import drop, index, request_mix, summary, synthetic_articles

from services.search.query import (
    STORY_ARTICLE_SOURCE,
    STORY_OTHERS,
    build_page_stories_body,
    build_search_body,
    sort_clause,
)
from shared.contracts.index import alias_name
from shared.contracts.models import EnrichedArticleV1, GroupedArticleV1
from shared.runtime.settings import SearchSettings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "stories_search.json"


def in_stories(articles: list[EnrichedArticleV1], seed: int = 5) -> list[EnrichedArticleV1]:
    """Stories of Zipf-like sizes: a story takes 1 article with probability
    0.6, else up to 60."""
    rng = random.Random(seed)
    grouped: list[EnrichedArticleV1] = []
    i = 0
    while i < len(articles):
        size = 1 if rng.random() < 0.6 else min(60, int(rng.paretovariate(1.2)) + 1)
        story = articles[i].article_id
        for article in articles[i : i + size]:
            grouped.append(GroupedArticleV1(**article.model_dump(), story_id=story, copies=1))
        i += size
    return grouped


def inner_hits_variant(request: Any) -> dict[str, Any]:
    body = build_search_body(request)
    body["collapse"]["inner_hits"] = [
        {
            "name": "top",
            "size": STORY_OTHERS + 1,
            "sort": sort_clause(request.effective_sort),
            "_source": list(STORY_ARTICLE_SOURCE),
        },
        {"name": "sources", "size": 100, "_source": False, "collapse": {"field": "source"}},
    ]
    return body


VARIANTS = ("none", "collapse", "story", "story_inner")


def measure(es_url: str, alias: str, count: int, warmup: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {k: [] for k in VARIANTS}
    took: dict[str, list[float]] = {k: [] for k in VARIANTS}
    url = f"/{alias}/_search"
    with httpx.Client(base_url=es_url, timeout=60) as client:

        def post(body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
            started = time.perf_counter()
            response = client.post(url, json=body)
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            return elapsed, response.json()

        for n, request in enumerate(request_mix(warmup + count)):
            figures: dict[str, tuple[float, float]] = {}
            elapsed, raw = post(build_search_body(request.model_copy(update={"group": "none"})))
            figures["none"] = (elapsed, raw["took"])
            elapsed, raw = post(build_search_body(request))
            figures["collapse"] = (elapsed, raw["took"])
            page = [h["fields"]["story_id"][0] for h in raw["hits"]["hits"]]
            second, extra = (0.0, {"took": 0})
            if page:
                second, extra = post(build_page_stories_body(request, page))
            figures["story"] = (elapsed + second, raw["took"] + extra["took"])
            elapsed, raw = post(inner_hits_variant(request))
            figures["story_inner"] = (elapsed, raw["took"])
            if n >= warmup:
                for name, (ms, es_took) in figures.items():
                    times[name].append(ms)
                    took[name].append(float(es_took))
    return {
        "client_ms": {k: summary(v) for k, v in times.items()},
        "elasticsearch_took_ms": {k: summary(v) for k, v in took.items()},
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = SearchSettings(namespace=f"bench-{uuid4().hex[:8]}-")
    es = AsyncElasticsearch(settings.es_url, request_timeout=120)
    articles = in_stories(synthetic_articles(args.docs))
    stories = len({a.story_id for a in articles if isinstance(a, GroupedArticleV1)})
    try:
        await index(es, settings.namespace, articles)
        figures = await asyncio.to_thread(
            measure, settings.es_url, alias_name(settings.namespace), args.requests, args.warmup
        )
    finally:
        await drop(es, settings.namespace)
        await es.close()
    return {"docs": len(articles), "stories": stories, "requests": args.requests, **figures}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=4_000)
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=15)
    result = asyncio.run(run(parser.parse_args(argv)))
    print("| variant | client p50 | client p95 | ES took p50 | ES took p95 |")
    print("|---|---|---|---|---|")
    for name, client in result["client_ms"].items():
        took = result["elasticsearch_took_ms"][name]
        print(f"| {name} | {client['p50']} | {client['p95']} | {took['p50']} | {took['p95']} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"written: {RESULTS.relative_to(REPO)} ({result['docs']} docs, {result['stories']} stories)"
    )


if __name__ == "__main__":
    main()
