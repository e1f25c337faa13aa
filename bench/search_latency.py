"""Latency of ``/v1/search`` beside the same query sent straight to Elasticsearch.

What it answers: how much the search service adds on top of Elasticsearch for
a full search page (words, filters, every facet, the histogram, highlights).

How:

1. index ``--docs`` synthetic articles (real sentences from the extraction
   ground truth, random sources, languages, dates and entities) into a
   throwaway namespace, through the indexer's path (``ensure_index`` + bulk);
2. start the real service (``services.search.app.main``) in a subprocess on a
   free port, its cache off (``NEWSFLOW_SEARCH_CACHE_TTL_S=0``: every request
   reaches Elasticsearch);
3. for each of ``--requests`` searches, drawn from a mix of queries and
   filters, time the API round trip and, right after, the body the query
   builder makes for the same request, POSTed to Elasticsearch's
   ``_search`` with the same HTTP client (so both sides pay the same client
   cost and the ratio isolates the service);
4. print p50/p95/p99 and the ratio as a markdown table, write
   ``bench/results/search_latency.json``, and delete the namespace.

With ``--export N`` it measures an export instead: N synthetic articles are
indexed and the whole set is streamed from ``/v1/search/export`` (NDJSON,
the export cap raised to N), while the service's resident memory is sampled
(``/proc/<pid>/status``): rows, seconds, and peak RSS against the RSS before.

Usage::

    .venv/bin/python bench/search_latency.py [--docs 2000] [--requests 300] [--warmup 30]
    .venv/bin/python bench/search_latency.py --export 50000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from elasticsearch import AsyncElasticsearch

from services.search.models import SearchRequest
from services.search.query import build_bounds_body, build_search_body
from services.search.results import bounds_from
from shared.contracts.index import alias_name, ensure_index, template_name, to_document
from shared.contracts.models import EnrichedArticleV1, EntityV1
from shared.runtime.settings import SearchSettings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "search_latency.json"
GROUND_TRUTH = REPO.parent / "shared" / "eval" / "extraction" / "ground-truth.json"

SOURCES = [
    f"{name}.example"
    for name in (
        "herald",
        "tribune",
        "courier",
        "gazette",
        "chronicle",
        "observer",
        "post",
        "times",
        "ledger",
        "dispatch",
        "sentinel",
        "monitor",
        "express",
        "journal",
        "record",
        "wire",
    )
]
LANGUAGES = ["en"] * 8 + ["fr", "de", "es", "it"]
PEOPLE = [
    "Ada Lovelace",
    "Alan Turing",
    "Grace Hopper",
    "Marie Curie",
    "Nikola Tesla",
    "Rosalind Franklin",
    "Katherine Johnson",
    "Tim Berners-Lee",
    "Linus Torvalds",
    "Margaret Hamilton",
    "Claude Shannon",
    "Hedy Lamarr",
]
ORGANISATIONS = [
    "Reuters",
    "NASA",
    "United Nations",
    "European Commission",
    "World Bank",
    "Apple",
    "Microsoft",
    "Google",
    "Amazon",
    "Red Cross",
    "FIFA",
    "OPEC",
]
PLACES = [
    "London",
    "Paris",
    "Berlin",
    "New York",
    "Tokyo",
    "Nairobi",
    "Sydney",
    "Toronto",
    "Mumbai",
    "Cairo",
    "Lima",
    "Oslo",
    "Seoul",
    "Madrid",
    "Rome",
    "Beijing",
]
QUERIES = [
    "",
    "government",
    "election results",
    '"interior minister"',
    "market -stock",
    "police | court",
    "climate",
    "technology company",
    "football",
    "new",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# ----------------------------------------------------------------- corpus
def sentences() -> list[str]:
    truth = json.loads(GROUND_TRUTH.read_text())
    found = []
    for row in truth.values():
        for sentence in row["articleBody"].replace("\n", " ").split(". "):
            if 40 <= len(sentence) <= 300:
                found.append(sentence.strip().rstrip(".") + ".")
    return found


def synthetic_articles(count: int, seed: int = 7) -> list[EnrichedArticleV1]:
    rng = random.Random(seed)
    pool = sentences()
    start = datetime(2022, 1, 1, tzinfo=UTC)
    articles = []
    for i in range(count):
        body = " ".join(rng.sample(pool, rng.randint(8, 40)))
        names = (
            [(n, "people", "PERSON") for n in rng.sample(PEOPLE, rng.randint(0, 3))]
            + [(n, "organisations", "ORG") for n in rng.sample(ORGANISATIONS, rng.randint(0, 3))]
            + [(n, "places", "GPE") for n in rng.sample(PLACES, rng.randint(0, 3))]
        )
        published = None if i % 25 == 0 else start + timedelta(minutes=rng.randint(0, 3 * 525_600))
        articles.append(
            EnrichedArticleV1(
                article_id=hashlib.sha256(f"bench-{seed}-{i}".encode()).hexdigest()[:32],
                source=rng.choice(SOURCES),
                title=rng.choice(pool)[:120],
                text=body,
                published_at=published,
                language=rng.choice(LANGUAGES),
                word_count=len(body.split()),
                fingerprint=hashlib.sha256(body.encode()).hexdigest()[:16],
                input_format="text",
                received_at=(published or start) + timedelta(minutes=5),
                entities=[
                    EntityV1(canonical=name, label=label, group=group, count=rng.randint(1, 4))
                    for name, group, label in names
                ],
                ner_model="bench==synthetic",
            )
        )
    return articles


async def index(es: AsyncElasticsearch, namespace: str, articles: list[EnrichedArticleV1]) -> None:
    await ensure_index(es, namespace)
    alias = alias_name(namespace)
    for start in range(0, len(articles), 500):
        operations: list[dict[str, Any]] = []
        for article in articles[start : start + 500]:
            operations.append({"index": {"_index": alias, "_id": article.article_id}})
            operations.append(to_document(article))
        response = await es.bulk(operations=operations)
        if response["errors"]:
            raise SystemExit("bulk indexing failed")
    await es.indices.refresh(index=alias)
    await es.indices.forcemerge(index=alias, max_num_segments=1)


async def drop(es: AsyncElasticsearch, namespace: str) -> None:
    await es.options(ignore_status=404).indices.delete(index=f"{namespace}articles-v*")
    await es.options(ignore_status=404).indices.delete_index_template(name=template_name(namespace))


# ----------------------------------------------------------------- requests
def request_mix(count: int, seed: int = 11) -> list[SearchRequest]:
    """Searches as people make them: words or none, zero to two filters,
    sometimes a date range, both sorts."""
    rng = random.Random(seed)
    requests = []
    for _ in range(count):
        filters: dict[str, Any] = {}
        if rng.random() < 0.4:
            filters["source"] = tuple(rng.sample(SOURCES, rng.randint(1, 2)))
        if rng.random() < 0.3:
            filters["places"] = (rng.choice(PLACES),)
        if rng.random() < 0.2:
            filters["language"] = ("en",)
        if rng.random() < 0.2:
            filters["date_from"] = "2023-01-01"
            filters["date_to"] = "2023-12-31"
        requests.append(
            SearchRequest(
                q=rng.choice(QUERIES),
                sort=rng.choice(["relevance", "newest"]),
                size=20,
                **filters,
            )
        )
    return requests


def api_params(request: SearchRequest) -> httpx.QueryParams:
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("q", request.q),
        ("sort", request.sort),
        ("size", "20"),
    ]
    for name, values in request.filters().items():
        params += [(name, v) for v in values]
    if request.date_from:
        params.append(("from", request.date_from.isoformat()))
    if request.date_to:
        params.append(("to", request.date_to.isoformat()))
    return httpx.QueryParams(params)


def start_service(namespace: str, port: int, **extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NEWSFLOW_NAMESPACE": namespace,
        "NEWSFLOW_SEARCH_CACHE_TTL_S": "0",
        "NEWSFLOW_LOG_LEVEL": "WARNING",
        **extra,
    }
    code = f"from services.search.app import main; main({port})"
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO)


async def wait_ready(client: httpx.AsyncClient, url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await client.get(f"{url}/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("the search service did not become ready")


async def measure(
    client: httpx.AsyncClient,
    api_url: str,
    es_url: str,
    alias: str,
    requests: list[SearchRequest],
    bounds: Any,
) -> tuple[list[float], list[float], list[float]]:
    api_ms, es_ms, es_took = [], [], []
    for request in requests:
        started = time.perf_counter()
        api = await client.get(f"{api_url}/v1/search", params=api_params(request))
        api_ms.append((time.perf_counter() - started) * 1000)
        if api.status_code != 200 or api.headers.get("X-Cache") != "BYPASS":
            raise SystemExit(f"unexpected API answer {api.status_code}: {api.text[:300]}")
        body = build_search_body(request, bounds=bounds)
        started = time.perf_counter()
        direct = await client.post(f"{es_url}/{alias}/_search", json=body)
        es_ms.append((time.perf_counter() - started) * 1000)
        direct.raise_for_status()
        es_took.append(float(direct.json()["took"]))
    return api_ms, es_ms, es_took


def summary(values: Sequence[float]) -> dict[str, float]:
    return {f"p{p}": round(percentile(values, p), 2) for p in (50, 95, 99)}


def table(api: dict[str, float], es: dict[str, float], took: dict[str, float]) -> str:
    def row(label: str, values: dict[str, float], fmt: str = ".1f", unit: str = "") -> str:
        cells = " | ".join(format(values[p], fmt) + unit for p in ("p50", "p95", "p99"))
        return f"| {label} | {cells} |"

    ratio = {p: api[p] / es[p] for p in ("p50", "p95", "p99")}
    return "\n".join(
        [
            "| path | p50 ms | p95 ms | p99 ms |",
            "|---|---:|---:|---:|",
            row("Elasticsearch `_search` direct", es),
            row("`GET /v1/search` (API, cache off)", api),
            row("ratio API / direct", ratio, ".2f")
            .replace(" |", "x |")
            .replace("directx", "direct"),
            row("(Elasticsearch `took`, server side)", took, ".0f"),
        ]
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = SearchSettings(namespace=f"bench-{uuid4().hex[:8]}-", cache_ttl_s=0)
    alias = alias_name(settings.namespace)
    es = AsyncElasticsearch(settings.es_url, request_timeout=120)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    service: subprocess.Popen[bytes] | None = None
    try:
        print(f"indexing {args.docs} synthetic articles into {alias} ...", flush=True)
        await index(es, settings.namespace, synthetic_articles(args.docs))
        bounds = bounds_from(dict((await es.search(index=alias, body=build_bounds_body())).body))
        service = start_service(settings.namespace, port)
        async with httpx.AsyncClient(timeout=30) as client:
            await wait_ready(client, api_url)
            await measure(
                client, api_url, settings.es_url, alias, request_mix(args.warmup, 3), bounds
            )
            api_ms, es_ms, took = await measure(
                client, api_url, settings.es_url, alias, request_mix(args.requests), bounds
            )
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=15)
        await drop(es, settings.namespace)
        await es.close()
    return {
        "docs": args.docs,
        "requests": args.requests,
        "warmup": args.warmup,
        "api_ms": summary(api_ms),
        "elasticsearch_ms": summary(es_ms),
        "elasticsearch_took_ms": summary(took),
        "ratio": {
            p: round(summary(api_ms)[p] / summary(es_ms)[p], 3) for p in ("p50", "p95", "p99")
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


async def run_export(rows: int) -> dict[str, Any]:
    """Index `rows` articles, export them all, sample the service's memory."""
    settings = SearchSettings(namespace=f"bench-{uuid4().hex[:8]}-", cache_ttl_s=0)
    es = AsyncElasticsearch(settings.es_url, request_timeout=300)
    port = free_port()
    service: subprocess.Popen[bytes] | None = None
    try:
        print(f"indexing {rows} synthetic articles ...", flush=True)
        await index(es, settings.namespace, synthetic_articles(rows))
        service = start_service(
            settings.namespace,
            port,
            NEWSFLOW_SEARCH_EXPORT_MAX_ROWS=str(rows),
            NEWSFLOW_SEARCH_RATE_LIMIT_REQUESTS="0",
        )
        async with httpx.AsyncClient(timeout=600) as client:
            await wait_ready(client, f"http://127.0.0.1:{port}")
            before = rss_kib(service.pid)
            peak, received, lines = before["VmRSS"], 0, 0
            started = time.perf_counter()
            url = f"http://127.0.0.1:{port}/v1/search/export"
            async with client.stream("GET", url, params={"format": "ndjson"}) as response:
                response.raise_for_status()
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    lines += chunk.count(b"\n")
                    peak = max(peak, rss_kib(service.pid)["VmRSS"])
            seconds = time.perf_counter() - started
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=15)
        await drop(es, settings.namespace)
        await es.close()
    return {
        "rows": lines,
        "mib": round(received / 2**20, 1),
        "seconds": round(seconds, 1),
        "rows_per_s": round(lines / seconds),
        "rss_before_mib": round(before["VmRSS"] / 1024, 1),
        "rss_peak_mib": round(peak / 1024, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=2000, help="synthetic articles to index")
    parser.add_argument("--requests", type=int, default=300, help="timed searches per side")
    parser.add_argument("--warmup", type=int, default=30, help="untimed searches first")
    parser.add_argument("--export", type=int, default=0, help="measure an export of N rows")
    args = parser.parse_args(argv)
    if args.export:
        figures = asyncio.run(run_export(args.export))
        print(json.dumps(figures, indent=2))
        out = RESULTS.with_name("search_export.json")
        out.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"written: {out.relative_to(REPO)}")
        return
    result = asyncio.run(run(args))
    print()
    print(table(result["api_ms"], result["elasticsearch_ms"], result["elasticsearch_took_ms"]))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten: {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
