"""What one ``_search`` request costs the search service, per client.

Why the service sends its searches through ``services/search/essearch.py``
rather than elasticsearch-py: this bench sends the same search bodies
(``search_latency``'s request mix over its synthetic articles) through

1. elasticsearch-py's ``AsyncElasticsearch.search`` with orjson, as the
   service did before (``index=…, ignore_unavailable, allow_no_indices``);
2. ``SearchClient.search``, the service's client now;
3. a bare aiohttp POST and ``orjson.loads``: the least any client costs
   (the baseline);

in turns (which one goes first rotates), one request at a time on one event
loop (uvloop, as the service), and prints per client the latency p50 / p95
and this process' CPU per request (``time.thread_time``; the loop runs in
this thread). Every client parses the answer into a dict.

Usage::

    .venv/bin/python bench/search_client_cost.py [--docs 2000] [--requests 300]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import uuid4

import aiohttp
import orjson
import uvloop
from elasticsearch import AsyncElasticsearch
from elasticsearch.serializer import OrjsonSerializer
from search_latency import NO_COMPRESSION, drop, first_body, index, request_mix, synthetic_articles

from services.search.essearch import SearchClient
from services.search.query import build_bounds_body
from services.search.results import bounds_from
from services.search.service import EMPTY_IF_MISSING
from shared.contracts.index import alias_name
from shared.runtime.settings import SearchSettings

Send = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


async def timed(send: Send, body: dict[str, Any]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one request."""
    cpu, wall = time.thread_time(), time.perf_counter()
    await send(body)
    return (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def run(args: argparse.Namespace) -> None:
    settings = SearchSettings(namespace=f"bench-{uuid4().hex[:8]}-", cache_ttl_s=0)
    alias = alias_name(settings.namespace)
    url = f"{settings.es_url}/{alias}/_search"
    admin = AsyncElasticsearch(settings.es_url, request_timeout=120)
    es = AsyncElasticsearch(settings.es_url, request_timeout=10, serializer=OrjsonSerializer())
    lean = SearchClient(settings.es_url, timeout_s=10)
    session = aiohttp.ClientSession(skip_auto_headers=NO_COMPRESSION)
    try:
        print(f"indexing {args.docs} synthetic articles into {alias} ...", flush=True)
        await index(admin, settings.namespace, synthetic_articles(args.docs))
        bounds = bounds_from(dict((await admin.search(index=alias, body=build_bounds_body())).body))

        async def via_elasticsearch_py(body: dict[str, Any]) -> dict[str, Any]:
            found = await es.search(
                index=alias, body=body, ignore_unavailable=True, allow_no_indices=True
            )
            return dict(found.body)

        async def via_search_client(body: dict[str, Any]) -> dict[str, Any]:
            return await lean.search(body, alias, EMPTY_IF_MISSING)

        async def via_bare_aiohttp(body: dict[str, Any]) -> dict[str, Any]:
            headers = {"Content-Type": "application/json"}
            async with session.post(url, data=orjson.dumps(body), headers=headers) as answer:
                found: dict[str, Any] = orjson.loads(await answer.read())
            return found

        clients: list[tuple[str, Send]] = [
            ("elasticsearch-py", via_elasticsearch_py),
            ("SearchClient (essearch)", via_search_client),
            ("bare aiohttp + orjson (baseline)", via_bare_aiohttp),
        ]
        bodies = [first_body(request, bounds) for request in request_mix(args.requests)]
        for body in bodies[: args.warmup]:
            for _, send in clients:
                await send(body)
        walls: dict[str, list[float]] = {name: [] for name, _ in clients}
        cpus: dict[str, list[float]] = {name: [] for name, _ in clients}
        for i, body in enumerate(bodies):
            for name, send in clients[i % 3 :] + clients[: i % 3]:
                wall, cpu = await timed(send, body)
                walls[name].append(wall)
                cpus[name].append(cpu)
    finally:
        await drop(admin, settings.namespace)
        await session.close()
        await lean.close()
        await es.close()
        await admin.close()
    print()
    print("| client | requests | latency p50 / p95 ms | CPU ms per request (mean) |")
    print("|---|---:|---:|---:|")
    for name, _ in clients:
        took = walls[name]
        print(
            f"| {name} | {len(took)} | {percentile(took, 50):.2f} / {percentile(took, 95):.2f} "
            f"| {statistics.mean(cpus[name]):.2f} |"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=2000, help="synthetic articles to index")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per client")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per client first")
    uvloop.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
