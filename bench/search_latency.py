"""Latency of ``/v1/search`` beside the same query sent straight to Elasticsearch.

What it answers: how much the search service adds on top of Elasticsearch for
a full search page (words, filters, every facet, the histogram, highlights).

How:

1. index ``--docs`` synthetic articles (real sentences from the extraction
   ground truth, random sources, languages, dates and entities with ids)
   into a throwaway namespace, through the indexer's path (``ensure_index``
   + bulk), and write their entities' names into that namespace's registry
   (Redis), as the entities stage would: the service names facet and chip
   ids from there, one Redis round trip per search, as on real data;
2. start the real service (``services.search.app.main``) in a subprocess on a
   free port, its cache off (``NEWSFLOW_SEARCH_CACHE_TTL_S=0``: every request
   reaches Elasticsearch);
3. for each of ``--requests`` searches, drawn from a mix of queries and
   filters, grouped by story (the API's default) or not, time the API round
   trip and, on the direct side, the Elasticsearch requests the API makes for
   the same request, with the bodies the query builder makes (each encoded
   before the clock starts), POSTed to ``_search``: the search body (with
   the spelling suggester the API carries along on a first page, and its
   time budget), then what the API asks once that answer is back, sent
   together as the API sends them: for a grouped search the page's story
   counts (``build_page_stories_body`` over the hits' story
   ids), and when the results lie much closer together than the chart's
   range, the histogram at their own interval (``build_histogram_body``).
   Which side goes first alternates. Both sides use one aiohttp session, the
   HTTP client the service's Elasticsearch client runs on (elastic-transport's
   ``AiohttpHttpNode``): every Elasticsearch request then costs the direct
   side the client overhead it costs the service, however many a search
   makes. With httpx here (about 3 ms more per request than aiohttp on a
   2-core machine at load 5), a grouped search's second request cost the direct side
   more than the service paid for it, which flattered the grouped ratio and
   made an ungrouped search look ~2.4 ms dearer to the service than a grouped
   one;
4. print p50/p95/p99 and the ratio as a markdown table, for all searches
   and for grouped and ungrouped ones apart, write
   ``bench/results/search_latency.json``, and delete the namespace.

It also prints the search service's own CPU per search (``/proc``: user +
system over the timed searches), which the machine's load moves less than
latency.

With ``--floor`` a third side is timed: ``bench/_floor_proxy.py``, a bare
ASGI app on the API's server stack that replays the direct side's bodies
through aiohttp, as the API would with no work of its own. Its latency over
direct is what any Python service in between costs here; the API's latency
over the floor is the search service's own work. With the floor, an untimed
direct pass first gets each search's bodies (and warms Elasticsearch's caches
for all three), then the three sides take turns going first.

With ``--against DIR`` one more side is timed: the search API of another
checkout (DIR, e.g. a ``git worktree`` of an older commit), started beside
this one on the same namespace, so before and after are measured on the same
Elasticsearch, data and moment; on this machine (much CPU steal) runs of the
same tree differ by about 0.1 in ratio, so only sides of one run compare. It
takes its turn going first with the others (with or without ``--floor``).
Both services then get ``NEWSFLOW_SEARCH_RATE_LIMIT_REQUESTS`` far above what
the run sends: they count the same client in the same Redis counter, whose
600 requests a minute two services' searches would pass (429s), and a high
limit, unlike 0 (off), keeps the limiter's count sent with every search, as
in production. The ``--against`` service's CPU per search is printed too.

With ``--export N`` it measures an export instead: N synthetic articles are
indexed and the whole set is streamed from ``/v1/search/export`` (NDJSON,
the export cap raised to N), while the service's resident memory is sampled
(``/proc/<pid>/status``): rows, seconds, and peak RSS against the RSS before.

Usage::

    .venv/bin/python bench/search_latency.py [--docs 2000] [--requests 300] [--warmup 30] [--floor]
        [--tree DIR] [--against DIR]
    .venv/bin/python bench/search_latency.py --export 50000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import platform
import random
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import aiohttp
import httpx
import orjson
from _stack import cpu_seconds, free_port, memory_kib, wait_until
from elasticsearch import AsyncElasticsearch
from redis.asyncio import Redis

from services.entities.redis_layout import Layout
from services.search.histogram import finer
from services.search.models import SearchRequest
from services.search.query import (
    build_bounds_body,
    build_histogram_body,
    build_page_stories_body,
    build_search_body,
    choose_interval,
    histogram_span,
)
from services.search.results import bounds_from, results_span
from services.search.spelling import build_spelling_body
from services.search.syntax import parse
from shared.contracts.index import alias_name, ensure_index, template_name, to_document
from shared.contracts.models import EnrichedArticleV1, EntityV1
from shared.runtime.settings import SearchSettings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "search_latency.json"
GROUND_TRUTH = REPO.parent / "shared" / "eval" / "extraction" / "ground-truth.json"
JSON = {"Content-Type": "application/json"}
NO_COMPRESSION = ("Accept-Encoding",)  # see run()

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


def entity_id(name: str) -> str:
    return f"ent_{hashlib.sha256(name.encode()).hexdigest()[:16]}"


async def seed_registry(redis: Redis, namespace: str) -> None:
    """The entity registry's names of the synthetic entities, as the entities
    stage leaves them: the service names facet and chip ids from there, as in
    production (an id the registry does not know costs an Elasticsearch
    request for the stored names, which real data does not make)."""
    names = {entity_id(name): name for name in (*PEOPLE, *ORGANISATIONS, *PLACES)}
    await redis.hset(Layout(namespace).names, items=[x for pair in names.items() for x in pair])


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
                # With ids, as the entities stage gives them: facets count ids
                # and the service asks the registry for their names (one Redis
                # round trip alongside the search's follow-ups), as on real data.
                entities=[
                    EntityV1(
                        canonical=name,
                        id=entity_id(name),
                        label=label,
                        group=group,
                        count=rng.randint(1, 4),
                    )
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
                # Grouped by story is the API's default: two searches in three.
                group="none" if rng.random() < 1 / 3 else "story",
                **filters,
            )
        )
    return requests


def api_params(request: SearchRequest) -> httpx.QueryParams:
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("q", request.q),
        ("sort", request.sort),
        ("size", "20"),
        ("group", request.group),
    ]
    for name, values in request.filters().items():
        params += [(name, v) for v in values]
    if request.date_from:
        params.append(("from", request.date_from.isoformat()))
    if request.date_to:
        params.append(("to", request.date_to.isoformat()))
    return httpx.QueryParams(params)


def start_service(
    namespace: str, port: int, tree: Path = REPO, **extra: str
) -> subprocess.Popen[bytes]:
    """The search API of the source tree `tree` (this one unless told)."""
    env = {
        **os.environ,
        "NEWSFLOW_NAMESPACE": namespace,
        "NEWSFLOW_SEARCH_CACHE_TTL_S": "0",
        "NEWSFLOW_LOG_LEVEL": "WARNING",
        **extra,
    }
    code = f"from services.search.app import main; main({port})"
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=tree)


def start_floor(port: int, search_url: str) -> subprocess.Popen[bytes]:
    """The bare proxy of ``bench/_floor_proxy.py`` (``--floor``)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = str(REPO / "bench" / "_floor_proxy.py")
    return subprocess.Popen([sys.executable, script, str(port), search_url], env=env, cwd=REPO)


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


async def post_json(session: aiohttp.ClientSession, url: str, body: bytes) -> bytes:
    """POST an encoded JSON body; the answer's bytes (an error status raises)."""
    async with session.post(url, data=body, headers=JSON) as answer:
        answer.raise_for_status()
        return await answer.read()


@dataclass(frozen=True)
class Row:
    """One timed search: its group and each side's milliseconds (a side not
    measured is NaN)."""

    group: str
    api: float
    direct: float
    took: float  # Elasticsearch's ``took`` of the direct side, summed
    floor: float = math.nan
    against: float = math.nan


Side = Callable[[SearchRequest], Awaitable[None]]


def api_side(session: aiohttp.ClientSession, url: str, times: list[float]) -> Side:
    """A search API's side (this tree's or ``--against``'s), its times put in `times`."""

    async def side(request: SearchRequest) -> None:
        params = list(api_params(request).multi_items())
        started = time.perf_counter()
        async with session.get(f"{url}/v1/search", params=params) as api:
            content = await api.read()
        times.append((time.perf_counter() - started) * 1000)
        if api.status != 200 or api.headers.get("X-Cache") != "BYPASS":
            raise SystemExit(f"unexpected answer of {url}: {api.status}: {content[:300]!r}")

    return side


async def measure(
    session: aiohttp.ClientSession,
    api_url: str,
    es_url: str,
    alias: str,
    requests: list[SearchRequest],
    bounds: Any,
    floor_url: str | None = None,
    against_url: str | None = None,
) -> list[Row]:
    """Per search, each side's time: the API's, direct, and the floor's and
    the ``--against`` API's when their URLs are given."""
    api_ms: list[float] = []
    against_ms: list[float] = []
    es_ms: list[float] = []
    es_took: list[float] = []
    floor_ms: list[float] = []
    sent: list[bytes] = []  # the direct side's bodies of the current search

    async def direct(request: SearchRequest) -> None:
        # The body is built and encoded before the clock starts: the API's
        # side pays for building its body, this side must not pay for ours.
        body = orjson.dumps(first_body(request, bounds))
        url = f"{es_url}/{alias}/_search"
        sent[:] = [body]
        started = time.perf_counter()
        answer = await post_json(session, url, body)
        elapsed = time.perf_counter() - started
        found = orjson.loads(answer)
        took = float(found["took"])
        # What the API asks once the page is back, built and encoded off the
        # clock (they need the first answer) and sent together, as the API
        # sends them (service.search): the page's story counts of a grouped
        # search (stories.page_stories) and, when the results lie much closer
        # together than the range the chart spans, the histogram at their own
        # interval (service._fit_histogram).
        followups = [orjson.dumps(body) for body in followup_bodies(request, found, bounds)]
        sent.extend(followups)
        if followups:
            started = time.perf_counter()
            answers = await asyncio.gather(*(post_json(session, url, body) for body in followups))
            elapsed += time.perf_counter() - started
            for extra in answers:
                took += float(orjson.loads(extra)["took"])
        es_ms.append(elapsed * 1000)
        es_took.append(took)

    async def via_floor(_: SearchRequest) -> None:
        # The direct side's bodies, registered off the clock (_floor_proxy.py).
        assert floor_url is not None
        key = str(len(floor_ms))
        registered = b"[" + b",".join(sent) + b"]"
        async with session.put(f"{floor_url}/bodies/{key}", data=registered) as put:
            put.raise_for_status()
        started = time.perf_counter()
        async with session.get(f"{floor_url}/run/{key}") as floor:
            await floor.read()
            floor.raise_for_status()
        floor_ms.append((time.perf_counter() - started) * 1000)

    # Which side goes first alternates: the next one finds Elasticsearch's
    # caches (filters, pages of the index) warmed by the one before. With the
    # floor, which needs the direct side's bodies, an untimed direct pass
    # first gets them (and warms the caches for all sides). Each search, the
    # order turns by one: every side goes first as often as the others.
    sides = [api_side(session, api_url, api_ms), direct]
    if floor_url is not None:
        sides.append(via_floor)
    if against_url is not None:
        sides.append(api_side(session, against_url, against_ms))
    for i, request in enumerate(requests):
        if floor_url is not None:
            await direct(request)
            del es_ms[-1], es_took[-1]
        turn = i % len(sides)
        for side in sides[turn:] + sides[:turn]:
            await side(request)
    unmeasured = [math.nan] * len(requests)
    return [
        Row(r.group, a, e, t, f, g)
        for r, a, e, t, f, g in zip(
            requests,
            api_ms,
            es_ms,
            es_took,
            floor_ms or unmeasured,
            against_ms or unmeasured,
            strict=True,
        )
    ]


def first_body(request: SearchRequest, bounds: Any) -> dict[str, Any]:
    """The first request's body as the API sends it (``service._first_page``):
    its per-shard time budget and, for a search that may be corrected, the
    spelling suggester carried along."""
    timeout = f"{int(SearchSettings.model_fields['es_search_timeout_s'].default * 1000)}ms"
    body = build_search_body(request, bounds=bounds, timeout=timeout)
    spelling = build_spelling_body(parse(request.q)) if request.correct else None
    if spelling is not None:
        body["suggest"] = spelling["suggest"]
    return body


def followup_bodies(
    request: SearchRequest, found: dict[str, Any], bounds: Any
) -> list[dict[str, Any]]:
    """The requests the API makes after the first page (see ``measure``)."""
    bodies = []
    ids = [
        keys[0]
        for hit in found["hits"]["hits"]
        if (keys := (hit.get("fields") or {}).get("story_id"))
    ]
    if request.group == "story" and ids:
        bodies.append(build_page_stories_body(request, ids))
    interval = choose_interval(*histogram_span(request, bounds))
    span = results_span(found.get("aggregations"))
    if span is not None and finer(choose_interval(*span), interval):
        bodies.append(build_histogram_body(request, span))
    return bodies


def summary(values: Sequence[float]) -> dict[str, float]:
    return {f"p{p}": round(percentile(values, p), 2) for p in (50, 95, 99)}


def ratios(side: dict[str, float], direct: dict[str, float]) -> dict[str, float]:
    return {p: round(side[p] / direct[p], 3) for p in ("p50", "p95", "p99")}


def figures(rows: Sequence[Row]) -> dict[str, Any]:
    api = summary([r.api for r in rows])
    es = summary([r.direct for r in rows])
    found: dict[str, Any] = {
        "searches": len(rows),
        "api_ms": api,
        "elasticsearch_ms": es,
        "elasticsearch_took_ms": summary([r.took for r in rows]),
        "ratio": ratios(api, es),
    }
    if rows and not math.isnan(rows[0].floor):  # the floor was measured
        floor = summary([r.floor for r in rows])
        found["floor_ms"] = floor
        found["floor_ratio"] = ratios(floor, es)
    # None without --against (JSON has no NaN).
    against = (
        summary([r.against for r in rows]) if rows and not math.isnan(rows[0].against) else None
    )
    found["against_ms"] = against
    found["against_ratio"] = None if against is None else ratios(against, es)
    return found


def cells(ms: dict[str, float], ratio: dict[str, float]) -> str:
    """A side's two cells: p50 / p95 ms, and its ratio to direct."""
    return f" {ms['p50']:.1f} / {ms['p95']:.1f} | {ratio['p50']:.2f} / {ratio['p95']:.2f} |"


def table(parts: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| searches | n | direct p50 / p95 ms | API p50 / p95 ms | ratio p50 / p95 | took p50 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    floors = all("floor_ms" in f for f in parts.values())
    against = all(f.get("against_ms") is not None for f in parts.values())
    if floors:
        lines[0] += " floor p50 / p95 ms | floor ratio p50 / p95 |"
        lines[1] += "---:|---:|"
    if against:
        lines[0] += " against p50 / p95 ms | against ratio p50 / p95 |"
        lines[1] += "---:|---:|"
    for label, f in parts.items():
        es, api, ratio = f["elasticsearch_ms"], f["api_ms"], f["ratio"]
        line = (
            f"| {label} | {f['searches']} | {es['p50']:.1f} / {es['p95']:.1f} "
            f"|{cells(api, ratio)} {f['elasticsearch_took_ms']['p50']:.0f} |"
        )
        if floors:
            line += cells(f["floor_ms"], f["floor_ratio"])
        if against:
            line += cells(f["against_ms"], f["against_ratio"])
        lines.append(line)
    return "\n".join(lines)


# With --against, both services' rate limit: far above what a run sends (see
# the module docstring).
RATE_LIMIT_FOR_TWO = {"NEWSFLOW_SEARCH_RATE_LIMIT_REQUESTS": "1000000"}


async def start_sides(
    args: argparse.Namespace,
    settings: SearchSettings,
    processes: dict[str, subprocess.Popen[bytes]],
) -> dict[str, str]:
    """Start the processes the run times, each put in `processes` by side as
    it starts (the caller stops them whatever happens); their URLs by side,
    once they answer."""
    urls: dict[str, str] = {}
    extra = RATE_LIMIT_FOR_TWO if args.against else {}
    trees = {"service": args.tree, **({"against": args.against} if args.against else {})}
    for side, tree in trees.items():
        port = free_port()
        processes[side] = start_service(settings.namespace, port, tree, **extra)
        urls[side] = f"http://127.0.0.1:{port}"
    if args.floor:
        floor_port = free_port()
        search = f"{settings.es_url}/{alias_name(settings.namespace)}/_search"
        processes["floor"] = start_floor(floor_port, search)
        urls["floor"] = f"http://127.0.0.1:{floor_port}"
    async with httpx.AsyncClient(timeout=30) as client:
        for side in trees:
            await wait_ready(client, urls[side])
    if args.floor:
        wait_until(lambda: accepts(floor_port), 30, "the floor proxy")
    return urls


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = SearchSettings(namespace=f"bench-{uuid4().hex[:8]}-", cache_ttl_s=0)
    alias = alias_name(settings.namespace)
    es = AsyncElasticsearch(settings.es_url, request_timeout=120)
    redis = Redis.from_url(settings.redis_dsn)
    processes: dict[str, subprocess.Popen[bytes]] = {}  # by side: service, floor, against
    try:
        print(f"indexing {args.docs} synthetic articles into {alias} ...", flush=True)
        await index(es, settings.namespace, synthetic_articles(args.docs))
        await seed_registry(redis, settings.namespace)
        bounds = bounds_from(dict((await es.search(index=alias, body=build_bounds_body())).body))
        urls = await start_sides(args, settings, processes)
        # No Accept-Encoding, as the service's Elasticsearch client sends
        # none (elastic-transport skips aiohttp's "gzip, deflate"): with it,
        # Elasticsearch gzips the direct side's answers, and compressing and
        # inflating ~23 KB cost that side time the service never pays.
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30), skip_auto_headers=NO_COMPRESSION
        ) as session:

            async def timed(requests: list[SearchRequest]) -> list[Row]:
                return await measure(
                    session,
                    urls["service"],
                    settings.es_url,
                    alias,
                    requests,
                    bounds,
                    urls.get("floor"),
                    urls.get("against"),
                )

            await timed(request_mix(args.warmup, 3))
            before = {side: process_cpu(p.pid) for side, p in processes.items()}
            rows = await timed(request_mix(args.requests))
            # Each process's CPU per search (user + system, all its threads).
            cpu_ms = {
                side: round((process_cpu(p.pid) - before[side]) * 1000 / len(rows), 2)
                for side, p in processes.items()
            }
    finally:
        for process in processes.values():
            process.terminate()
            process.wait(timeout=15)
        await drop(es, settings.namespace)
        await redis.delete(Layout(settings.namespace).names)
        await redis.aclose()
        await es.close()
    return {
        "docs": args.docs,
        "requests": args.requests,
        "warmup": args.warmup,
        # The search API's checkout, and --against's (None without it).
        "tree": revision(args.tree),
        "against_tree": revision(args.against) if args.against else None,
        # Direct side: the search body, plus the page-stories body for grouped
        # searches (the same Elasticsearch requests as the API).
        **figures(rows),
        # The service's own CPU per search (user + system, all its threads):
        # what the API costs whatever the machine's load, unlike latency.
        "service_cpu_ms_per_search": cpu_ms["service"],
        # None without --floor / --against.
        "floor_cpu_ms_per_search": cpu_ms.get("floor"),
        "against_cpu_ms_per_search": cpu_ms.get("against"),
        "grouped": figures([r for r in rows if r.group == "story"]),
        "ungrouped": figures([r for r in rows if r.group != "story"]),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def revision(tree: Path) -> str:
    """A checkout and its commit, for the record (read only: ``rev-parse``)."""
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return f"{tree.resolve()} @ {done.stdout.strip() or '?'}"


def accepts(port: int) -> bool:
    """Whether something accepts connections on a local port (raises until then)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process that must still be running."""
    if (seconds := cpu_seconds(pid)) is None:
        raise SystemExit(f"process {pid} is gone")
    return seconds


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
            before = memory_kib(service.pid)
            peak, received, lines = before["VmRSS"], 0, 0
            started = time.perf_counter()
            url = f"http://127.0.0.1:{port}/v1/search/export"
            async with client.stream("GET", url, params={"format": "ndjson"}) as response:
                response.raise_for_status()
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    lines += chunk.count(b"\n")
                    peak = max(peak, memory_kib(service.pid)["VmRSS"])
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
    parser.add_argument(
        "--tree",
        type=Path,
        default=REPO,
        help="run the search API from another checkout of the repository "
        "(before/after comparisons; the bodies sent directly come from this one)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        default=None,
        metavar="DIR",
        help="also time the search API of another checkout (e.g. a git worktree of an "
        "older commit), in the same run: before/after on the same Elasticsearch and moment",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time bench/_floor_proxy.py, a bare Python proxy replaying the same "
        "Elasticsearch requests: the least any Python service adds here",
    )
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
    print(
        table(
            {
                "all": result,
                "grouped (`group=story`)": result["grouped"],
                "ungrouped (`group=none`)": result["ungrouped"],
            }
        )
    )
    print(f"service CPU per search: {result['service_cpu_ms_per_search']:.2f} ms", end="")
    if result["floor_cpu_ms_per_search"] is not None:
        print(f" (the bare proxy's: {result['floor_cpu_ms_per_search']:.2f} ms)", end="")
    print()
    if result["against_cpu_ms_per_search"] is not None:
        print(
            f"against service CPU per search: {result['against_cpu_ms_per_search']:.2f} ms"
            f" ({result['against_tree']})"
        )
    print(f"load average at the end: {result['load_average']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten: {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
