"""The most expensive searches the API accepts, timed beside a plain one.

What it answers: with the cost bounds of issue 11 in place (a few fuzzy or
prefix words at most, fuzzy expansions capped, no expanding word in the
highlighter, a server-side timeout, page size capped), how long does the
worst query anyone may send take, alone and eight at once; the goal is under
a second. Before the bounds, 100 fuzzy words with 100 hits took 10.9 s (503)
on 300 articles.

How:

1. index ``--docs`` synthetic articles (search_latency.py's: real sentences
   from the extraction ground truth) into a throwaway namespace;
2. start the real service (``services.search.app.main``) on a free port, its
   cache and rate limits off, so every request reaches Elasticsearch and
   the eight concurrent queries stand for eight clients;
3. for each query below, ``--repeat`` sequential requests, then the worst of
   them ``--concurrency`` at once while a plain query is timed beside them;
   every answer must be a 200 (a 422 means the query is not within the
   limits and the bench is wrong);
4. print a markdown table (median and max ms, Elasticsearch ``took``) with
   the baseline, a plain one-word query, first, and what the query of the
   report gets now (a 422, at once); write
   ``bench/results/search_worst_case.json``; delete the namespace.

Usage::

    .venv/bin/python bench/search_worst_case.py [--docs 2000] [--repeat 3] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from elasticsearch import AsyncElasticsearch
from search_latency import drop, free_port, index, synthetic_articles, wait_ready

from shared.runtime.settings import SearchSettings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "search_worst_case.json"

LIMITS = SearchSettings.model_fields
MAX_EXPANDING = int(LIMITS["max_expanding_terms"].default)
MAX_SIZE = int(LIMITS["max_page_size"].default)
MAX_CHARS = int(LIMITS["max_query_chars"].default)

# Frequent words of the ground-truth sentences: every one matches many articles.
COMMON = [
    "the",
    "said",
    "year",
    "people",
    "would",
    "time",
    "first",
    "government",
    "also",
    "could",
    "new",
    "two",
    "state",
    "police",
    "president",
    "last",
    "news",
    "world",
    "told",
    "minister",
    "country",
    "election",
    "company",
    "city",
    "week",
    "officials",
    "public",
    "report",
    "former",
    "national",
    "million",
    "percent",
]


def _fill(head: str, words: Sequence[str], sep: str) -> str:
    """`head` followed by `words` (cycled) up to the query length limit."""
    parts = [head] if head else []
    i = 0
    while len(sep.join([*parts, words[i % len(words)]])) <= MAX_CHARS:
        parts.append(words[i % len(words)])
        i += 1
    return sep.join(parts)


def _fuzzy(words: Sequence[str]) -> str:
    return "|".join(f"{w}~2" for w in words[:MAX_EXPANDING])


def _prefix(words: Sequence[str]) -> str:
    return "|".join(f"{w}*" for w in words[:MAX_EXPANDING])


BIG = {"size": MAX_SIZE, "facet_size": 100}
LETTERS = list("abcdefghij")
PAIRS = ["ab", "bi", "cp", "dw", "ed"]
LONG_WORDS = ["government", "president", "officials", "election", "minister"]

BASELINE = ("baseline: one word, 20 hits (the UI's page)", {"q": "government"})
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("baseline: one word, 100 hits", {"q": "government", **BIG}),
    (f"{MAX_EXPANDING} fuzzy two-letter words ~2", {"q": _fuzzy(PAIRS), **BIG}),
    (f"{MAX_EXPANDING} fuzzy long words ~2", {"q": _fuzzy(LONG_WORDS), **BIG}),
    (f"{MAX_EXPANDING} one-letter prefixes", {"q": _prefix(LETTERS), **BIG}),
    (
        f"{MAX_EXPANDING} prefixes + OR of common words to {MAX_CHARS} chars",
        {"q": _fill(_prefix(LETTERS), COMMON, "|"), **BIG},
    ),
    (
        f"{MAX_EXPANDING} fuzzy + OR of common words to {MAX_CHARS} chars",
        {"q": _fill(_fuzzy(PAIRS), COMMON, "|"), **BIG},
    ),
    (f"AND of common words to {MAX_CHARS} chars", {"q": _fill("", COMMON, " "), **BIG}),
    ("sloppy phrase of common words", {"q": '"' + " ".join(COMMON[:12]) + '"~50', **BIG}),
    (
        "fuzzy words, newest first, deepest page",
        {"q": _fuzzy(PAIRS), "sort": "newest", "page": 10_000 // MAX_SIZE, "size": MAX_SIZE},
    ),
]


def reported_query() -> str:
    """The query of issue 11: 100 two-letter fuzzy words, 499 characters."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = [letters[i % 26] + letters[(i * 7 + 1) % 26] + "~2" for i in range(100)]
    return "|".join(words)[:499]


async def refusal(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """What the reported query gets now (it took 10.9 s and a 503 before)."""
    started = time.perf_counter()
    response = await client.get(f"{url}/v1/search", params={"q": reported_query(), "size": 100})
    return {
        "status": response.status_code,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "reason": response.json().get("reason", ""),
    }


def start_service(namespace: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NEWSFLOW_NAMESPACE": namespace,
        "NEWSFLOW_SEARCH_CACHE_TTL_S": "0",
        "NEWSFLOW_SEARCH_RATE_LIMIT_REQUESTS": "0",
        # Off as well: the concurrent run stands for eight clients, not one.
        "NEWSFLOW_SEARCH_MAX_CONCURRENT_PER_CLIENT": "0",
        "NEWSFLOW_LOG_LEVEL": "WARNING",
    }
    code = f"from services.search.app import main; main({port})"
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO)


async def timed(client: httpx.AsyncClient, url: str, params: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    response = await client.get(f"{url}/v1/search", params=params)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code == 422:
        raise SystemExit(f"not within the limits, fix the bench: {response.text[:300]}")
    body = response.json() if response.status_code == 200 else {}
    return {
        "ms": elapsed,
        "status": response.status_code,
        "took": body.get("took_ms", 0),
        "timed_out": body.get("timed_out", False),
    }


async def series(
    client: httpx.AsyncClient, url: str, name: str, params: dict[str, Any], repeat: int
) -> dict[str, Any]:
    runs = [await timed(client, url, params) for _ in range(repeat)]
    return {
        "query": name,
        "q_chars": len(params.get("q", "")),
        "median_ms": round(statistics.median(r["ms"] for r in runs), 1),
        "max_ms": round(max(r["ms"] for r in runs), 1),
        "took_ms": max(r["took"] for r in runs),
        "timed_out": any(r["timed_out"] for r in runs),
        "statuses": sorted({r["status"] for r in runs}),
    }


async def concurrent(
    client: httpx.AsyncClient, url: str, params: dict[str, Any], count: int
) -> dict[str, Any]:
    """`count` copies of the worst query at once, and a baseline query sent
    while they run: how much one client's worst slows everyone else."""
    worst = [asyncio.create_task(timed(client, url, params)) for _ in range(count)]
    await asyncio.sleep(0.05)
    beside = await timed(client, url, BASELINE[1])
    done = await asyncio.gather(*worst)
    return {
        "worst_max_ms": round(max(r["ms"] for r in done), 1),
        "worst_statuses": sorted({r["status"] for r in done}),
        "baseline_beside_ms": round(beside["ms"], 1),
        "baseline_beside_status": beside["status"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| query | chars | median ms | max ms | ES took ms | timed out | status |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['query']} | {row['q_chars']} | {row['median_ms']:.0f} | "
            f"{row['max_ms']:.0f} | {row['took_ms']} | {'yes' if row['timed_out'] else 'no'} | "
            f"{','.join(map(str, row['statuses']))} |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = SearchSettings(namespace=f"bench-{uuid4().hex[:8]}-", cache_ttl_s=0)
    es = AsyncElasticsearch(settings.es_url, request_timeout=300)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service: subprocess.Popen[bytes] | None = None
    try:
        print(f"indexing {args.docs} synthetic articles ...", flush=True)
        await index(es, settings.namespace, synthetic_articles(args.docs))
        service = start_service(settings.namespace, port)
        async with httpx.AsyncClient(timeout=60) as client:
            await wait_ready(client, url)
            for _, params in [BASELINE, *QUERIES]:  # warm caches and JIT once
                await timed(client, url, params)
            rows = [await series(client, url, *BASELINE, args.repeat)]
            rows += [await series(client, url, n, p, args.repeat) for n, p in QUERIES]
            worst_name, worst_params = max(
                QUERIES, key=lambda q: next(r["max_ms"] for r in rows if r["query"] == q[0])
            )
            crowd = await concurrent(client, url, worst_params, args.concurrency)
            refused = await refusal(client, url)
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=15)
        await drop(es, settings.namespace)
        await es.close()
    return {
        "docs": args.docs,
        "repeat": args.repeat,
        "limits": {"max_expanding_terms": MAX_EXPANDING, "max_page_size": MAX_SIZE},
        "rows": rows,
        "concurrent": {"query": worst_name, "count": args.concurrency, **crowd},
        "reported_query": refused,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=2000, help="synthetic articles to index")
    parser.add_argument("--repeat", type=int, default=3, help="timed requests per query")
    parser.add_argument("--concurrency", type=int, default=8, help="worst queries at once")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print()
    print(table(result["rows"]))
    crowd = result["concurrent"]
    print(
        f"\n{crowd['count']} x '{crowd['query']}' at once: slowest {crowd['worst_max_ms']:.0f} ms"
        f" (status {crowd['worst_statuses']}); a baseline query beside them:"
        f" {crowd['baseline_beside_ms']:.0f} ms (status {crowd['baseline_beside_status']})"
    )
    refused = result["reported_query"]
    print(
        f"the reported query (100 fuzzy words, size 100): {refused['status']} in"
        f" {refused['ms']:.0f} ms: {refused['reason']}"
    )
    print(f"load average during the run: {result['load_average']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten: {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
