"""Search relevance on the judged queries (tests/search/judgements.yaml):
nDCG@10 and recall@10 of the newsflow analysis beside plain ``standard``
analysis, the same documents indexed in the same run.

Three systems, each in a private namespace deleted at the end:

* **newsflow**: the index template of shared/contracts/index.py (the
  analysis plugin's folding, word parts, stemming per language, edge
  n-grams) searched through ``/v1/search`` (in-process), spelling remedies
  included;
* **standard**: the same template with every field analysed by
  ``standard``, searched through the same ``/v1/search`` code;
* **standard + v1 query**: that index searched the way search worked before
  issue 14 (``simple_query_string`` over title^3 and body, every word
  required).

The corpus is ``samples/`` (cleaned by the cleaning stage's own function)
plus the few French, Spanish and C++ articles of
tests/search/fixtures/supplement.json (the samples have none).

Usage::

    .venv/bin/python bench/eval_search.py [--verbose]

Prints a markdown table per query group and writes bench/results/eval_search.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import httpx  # noqa: E402 (path set up above)
from elasticsearch import AsyncElasticsearch  # noqa: E402

from services.search.app import create_app  # noqa: E402
from shared.contracts.index import alias_name, ensure_index, index_name, to_document  # noqa: E402
from shared.contracts.models import EnrichedArticleV1  # noqa: E402
from shared.runtime.settings import SearchSettings  # noqa: E402
from tests.search.relevance import (  # noqa: E402
    Judged,
    K,
    Outcome,
    load_judgements,
    run_judged,
    standard_template,
    summary,
)
from tests.search.samples import judged_corpus  # noqa: E402

RESULTS = REPO / "bench" / "results" / "eval_search.json"
GROUPS = (
    None,
    "observed",
    "folding",
    "symbols",
    "typo",
    "prefix",
    "stemming",
    "names",
    "byline",
    "syntax",
    "topic",
    "fr",
    "es",
)
SYSTEMS = ("newsflow", "standard", "standard + v1 query")


async def index_articles(
    es: AsyncElasticsearch,
    namespace: str,
    articles: Sequence[EnrichedArticleV1],
    standard: bool,
) -> None:
    if standard:
        template = standard_template(namespace)
        await es.indices.put_index_template(name=f"{namespace}newsflow-articles", **template)
        await es.indices.create(
            index=index_name(namespace), aliases={alias_name(namespace): {"is_write_index": True}}
        )
    else:
        await ensure_index(es, namespace)
    operations: list[dict[str, Any]] = []
    for article in articles:
        operations += [
            {"index": {"_index": alias_name(namespace), "_id": article.article_id}},
            to_document(article),
        ]
    response = await es.bulk(operations=operations, refresh="wait_for")
    if response["errors"]:
        raise SystemExit(f"bulk indexing failed: {response['items'][:2]}")


async def drop(es: AsyncElasticsearch, namespace: str) -> None:
    await es.options(ignore_status=404).indices.delete(index=f"{namespace}articles-v*")
    await es.options(ignore_status=404).indices.delete_index_template(
        name=f"{namespace}newsflow-articles"
    )


@asynccontextmanager
async def api(namespace: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = SearchSettings(
        namespace=namespace, cache_ttl_s=0, rate_limit_requests=0, max_concurrent_per_client=0
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://search") as client:
            yield client


async def through_api(
    namespace: str, judged: Sequence[Judged], key_of: dict[str, str]
) -> list[Outcome]:
    async with api(namespace) as client:

        async def fetch(params: dict[str, Any]) -> dict[str, Any]:
            response = await client.get("/v1/search", params=params)
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

        return await run_judged(judged, fetch, key_of)


async def v1_query(
    es: AsyncElasticsearch, namespace: str, judged: Sequence[Judged], key_of: dict[str, str]
) -> list[Outcome]:
    """The query of search before issue 14, on the standard index."""

    async def fetch(params: dict[str, Any]) -> dict[str, Any]:
        body = {
            "size": params["size"],
            "track_total_hits": True,
            "_source": False,
            "query": {
                "simple_query_string": {
                    "query": params["q"],
                    "fields": ["title^3", "body"],
                    "default_operator": "and",
                    "lenient": True,
                }
            },
        }
        found = await es.search(index=alias_name(namespace), body=body)
        return {
            "total": found["hits"]["total"]["value"],
            "hits": [{"id": hit["_id"]} for hit in found["hits"]["hits"]],
        }

    return await run_judged(judged, fetch, key_of)


def table(results: dict[str, list[Outcome]]) -> str:
    head = "| queries | n | " + " | ".join(f"{s} nDCG@{K} | {s} recall@{K}" for s in SYSTEMS) + " |"
    lines = [head, "|---|---:|" + "---:|" * (2 * len(SYSTEMS))]
    for tag in GROUPS:
        cells = []
        count = 0
        for system in SYSTEMS:
            count, ndcg, recall = summary(results[system], tag)
            cells += [f"{ndcg:.3f}", f"{recall:.3f}"]
        lines.append(f"| {tag or 'all'} | {count} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def details(results: dict[str, list[Outcome]]) -> str:
    lines = ["| q | " + " | ".join(SYSTEMS) + " |", "|---|" + "---:|" * len(SYSTEMS)]
    for n, outcome in enumerate(results[SYSTEMS[0]]):
        cells = []
        for system in SYSTEMS:
            other = results[system][n]
            flag = " (+extra)" if other.extra else ""
            cells.append(f"{other.ndcg:.2f}/{other.recall:.2f} ({other.total}){flag}")
        lines.append(f"| `{outcome.judged.q}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def run(verbose: bool) -> dict[str, Any]:
    started = time.perf_counter()
    judged = load_judgements()
    print("cleaning the samples (the cleaning stage's own function) ...", flush=True)
    corpus = judged_corpus()
    key_of = {article.article_id: key for key, article in corpus.items()}
    run_id = uuid4().hex[:8]
    new_ns, std_ns = f"eval-{run_id}-new-", f"eval-{run_id}-std-"
    es = AsyncElasticsearch(SearchSettings().es_url, request_timeout=60)
    try:
        await index_articles(es, new_ns, list(corpus.values()), standard=False)
        await index_articles(es, std_ns, list(corpus.values()), standard=True)
        results = {
            "newsflow": await through_api(new_ns, judged, key_of),
            "standard": await through_api(std_ns, judged, key_of),
            "standard + v1 query": await v1_query(es, std_ns, judged, key_of),
        }
    finally:
        await drop(es, new_ns)
        await drop(es, std_ns)
        await es.close()
    print(f"\n{len(judged)} judged queries over {len(corpus)} articles\n")
    print(table(results))
    violations = [o.judged.q for o in results["newsflow"] if o.extra]
    print(f"\nexclusive queries with unjudged hits (newsflow): {violations or 'none'}")
    if verbose:
        print("\nper query: nDCG@10/recall@10 (total hits)\n")
        print(details(results))
    return {
        "queries": len(judged),
        "articles": len(corpus),
        "systems": {
            system: {
                (tag or "all"): dict(
                    zip(("n", "ndcg@10", "recall@10"), summary(outs, tag), strict=True)
                )
                for tag in GROUPS
            }
            for system, outs in results.items()
        },
        "per_query": {
            o.judged.q: {s: round(results[s][n].ndcg, 4) for s in SYSTEMS}
            for n, o in enumerate(results["newsflow"])
        },
        "seconds": round(time.perf_counter() - started, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--verbose", action="store_true", help="print every query's figures")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.verbose))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten: {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
