"""Subscriptions under load: 1,000 and 10,000 saved searches while articles
flow steadily; "indexed" -> "webhook received" latency, matcher CPU per
article, and how the cost grows from 1,000 to 10,000 subscriptions.

    .venv/bin/python bench/subscriptions_bench.py [--rate 5] [--seconds 60]

What runs, in a private namespace (deleted at the end): the indexer, the
matcher and the webhooks stages as worker processes (as `newsflow worker`
will run them), a webhook receiver on 127.0.0.1, and a producer writing
enriched articles to ``articles.enriched`` at ``--rate`` articles/s (5/s is
half the pipeline's measured capacity, docs/benchmarks.md). Latency is the
receiver's clock minus the record's ``indexed_at`` (the indexer's clock,
same host).

Subscriptions and articles come from the sample corpus (../shared/eval:
125 real articles' bodies, their pages' titles, and the entities spaCy finds
in them): words of titles, entity names as phrases and as filters, a few OR
queries, a source filter; every subscription has a webhook.

Strategies (``--strategies``): the matcher's presearch + ``_msearch`` of the
candidates, beside ``_msearch`` of every subscription restricted to the
batch (what the issue names first), on the same batches of indexed articles,
with a check that both find the same matches.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import html
import json
import random
import re
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from elasticsearch import AsyncElasticsearch, Elasticsearch  # noqa: E402
from kafka import KafkaProducer  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from services.subscriptions.matching import ArticleIndex  # noqa: E402
from services.subscriptions.models import SubscriptionIn  # noqa: E402
from services.subscriptions.presearch import document_keys  # noqa: E402
from services.subscriptions.stage import Subscriptions  # noqa: E402
from services.subscriptions.store import SubscriptionStore  # noqa: E402
from shared.contracts.index import ensure_index  # noqa: E402
from shared.runtime.kafka_admin import admin_client, create_topics, delete_namespace  # noqa: E402
from tests.subscriptions.rig import Receiver, Worker, enriched  # noqa: E402

KAFKA, ES_URL, REDIS_URL = "127.0.0.1:9092", "http://127.0.0.1:9200", "redis://127.0.0.1:6379/0"
EVAL = REPO.parent / "shared" / "eval" / "extraction"
CACHE = Path("/tmp/newsflow-bench-subscriptions-material.json")
_STOP_WORDS = (
    "that with from this have were been their they which would there about after also into "
    "more said than when what other some could them these only over such most like just "
    "where then while many those because being very even before under since will your "
    "does here each both much made make through against between during news says year "
    "years first last"
)
_STOP = frozenset(_STOP_WORDS.split())


# ----------------------------------------------------------------- material
def material() -> list[dict[str, Any]]:
    """Title, body and entities of each sample article (NER once, cached)."""
    if CACHE.exists():
        return list(json.loads(CACHE.read_text()))
    from services.entities.extract import extract_entities, load_pipeline

    truth = json.loads((EVAL / "ground-truth.json").read_text())
    items = []
    for page_id, row in truth.items():
        page = REPO / "samples" / "pages" / f"{page_id}.html.gz"
        raw = gzip.decompress(page.read_bytes()).decode("utf-8", "replace") if page.exists() else ""
        found = re.search(r"<title[^>]*>(.*?)</title>", raw, re.S | re.I)
        title = html.unescape(found.group(1)).strip() if found else ""
        title = max(re.split(r"\s[|\-–—]\s", title), key=len).strip() if title else ""
        items.append({"title": title, "body": row["articleBody"][:6000]})
    nlp = load_pipeline()
    for item, (_, entities) in zip(
        items, extract_entities(nlp, [i["body"][:3000] for i in items]), strict=True
    ):
        item["entities"] = [
            {"name": e.canonical, "group": e.group}
            for e in entities
            if e.group in ("people", "organisations", "places")
        ]
    CACHE.write_text(json.dumps(items))
    return items


def words_of(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z]{5,}", text) if w.lower() not in _STOP]


def subscription_mix(
    items: list[dict[str, Any]], n: int, rng: random.Random
) -> list[SubscriptionIn]:
    """Saved searches as people make them, drawn from the corpus."""
    titled = [i for i in items if words_of(i["title"])]
    named = [e for i in items for e in i["entities"]]
    sources = sorted({f"site{k}.example" for k in range(20)})
    subs = []
    for k in range(n):
        item = rng.choice(titled)
        words = words_of(item["title"])
        roll = rng.random()
        body: dict[str, Any] = {"name": f"bench {k}"}
        if roll < 0.40:
            body["q"] = " ".join(rng.sample(words, min(len(words), rng.randint(1, 2))))
        elif roll < 0.65 and named:
            body["q"] = f'"{rng.choice(named)["name"]}"'
        elif roll < 0.80 and named:
            entity = rng.choice(named)
            body[entity["group"]] = [entity["name"]]
            if rng.random() < 0.5:
                body["q"] = rng.choice(words)
        elif roll < 0.90:
            other = words_of(rng.choice(titled)["title"])
            body["q"] = f"{rng.choice(words)} | {rng.choice(other)}"
        else:
            body["q"] = rng.choice(words)
            body["source"] = [rng.choice(sources)]
        subs.append(SubscriptionIn.model_validate(body))
    return subs


def article(items: list[dict[str, Any]], n: int, tag: str, rng: random.Random) -> Any:
    item = items[n % len(items)]
    paragraphs = [p for p in item["body"].split("\n") if p.strip()] or [item["body"]]
    start = rng.randrange(len(paragraphs))
    text = "\n\n".join(paragraphs[start : start + 6]) or item["body"][:2000]
    people = [e["name"] for e in item["entities"] if e["group"] == "people"][:5]
    source = f"site{rng.randrange(20)}.example"
    return enriched(item["title"] or "untitled", text, n=f"{tag}-{n}", people=people, source=source)


# ----------------------------------------------------------------- helpers
def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def scrape(port: int) -> dict[str, float]:
    """The matcher's own metrics (sums and counts of its histograms)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("newsflow_subscription_matches_total "):
            found["newsflow_subscription_matches_total"] = float(line.split()[1])
        if line.startswith("newsflow_matcher_") and ("_sum " in line or "_count " in line):
            name, value = line.split()
            found[name] = float(value)
    return found


@dataclass
class Run:
    label: str
    subscriptions: int
    articles: int
    deliveries: int
    p50: float
    p95: float
    p99: float
    matcher_cpu_ms: float
    candidates_per_batch: float
    visibility_wait_ms: float
    batches: int
    matched_p_article: float
    to_match_ms: float


async def create_subscriptions(
    ns: str, subs: list[SubscriptionIn], hook: str, first: int, webhooks: int
) -> None:
    """Store the subscriptions (the API's own store call); the first
    `webhooks` of all get a webhook, so that the webhook load is the same
    at every size and the growth measured is the matcher's."""
    redis = Redis.from_url(REDIS_URL)
    store = SubscriptionStore(redis, ns)
    for k, body in enumerate(subs, start=first):
        if k < webhooks:
            body = body.model_copy(update={"webhook_url": f"{hook}/{k}"})
        await store.create(body, "0" * 32, max_per_key=10**6, max_total=10**6)
    await redis.aclose()


def flow(
    ns: str,
    items: list[dict[str, Any]],
    args: argparse.Namespace,
    tag: str,
    receiver: Receiver,
    workers: dict[str, Worker],
    matcher_port: int,
    subscriptions: int,
    label: str,
) -> Run:
    """Articles at a steady rate; the deliveries they cause, timed."""
    rng = random.Random(tag)
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all", linger_ms=5)
    before, cpu0 = len(receiver.requests), workers["matcher"].cpu_seconds()
    metrics0 = scrape(matcher_port)
    count = int(args.rate * args.seconds)
    started = time.monotonic()
    for n in range(count):
        a = article(items, n, tag, rng)
        producer.send(
            f"{ns}articles.enriched", key=a.article_id.encode(), value=a.model_dump_json().encode()
        )
        time.sleep(max(0.0, started + (n + 1) / args.rate - time.monotonic()))
    producer.flush()
    producer.close()
    # Let the last ones through: until no delivery for 5 s.
    last = len(receiver.requests)
    quiet = time.monotonic()
    while time.monotonic() - quiet < 5:
        time.sleep(0.5)
        if len(receiver.requests) != last:
            last, quiet = len(receiver.requests), time.monotonic()
    cpu = workers["matcher"].cpu_seconds() - cpu0
    metrics1 = scrape(matcher_port)
    latencies = []
    for got in receiver.requests[before:]:
        indexed = json.loads(got.body)["indexed_at"]
        from datetime import datetime

        latencies.append(got.at - datetime.fromisoformat(indexed).timestamp())

    def delta(name: str) -> float:
        return metrics1.get(name, 0.0) - metrics0.get(name, 0.0)

    batches = delta("newsflow_matcher_candidates_count")
    waits = delta("newsflow_matcher_visibility_wait_seconds_count")
    return Run(
        label=label,
        subscriptions=subscriptions,
        articles=count,
        deliveries=len(latencies),
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        matcher_cpu_ms=cpu / max(1, count) * 1000,
        candidates_per_batch=delta("newsflow_matcher_candidates_sum") / max(1.0, batches),
        visibility_wait_ms=delta("newsflow_matcher_visibility_wait_seconds_sum")
        / max(1.0, waits)
        * 1000,
        batches=int(batches),
        matched_p_article=delta("newsflow_subscription_matches_total") / max(1, count),
        to_match_ms=delta("newsflow_matcher_latency_seconds_sum")
        / max(1.0, delta("newsflow_matcher_latency_seconds_count"))
        * 1000,
    )


async def strategies(
    ns: str, article_ids: list[str], sizes: Sequence[int], rounds: int
) -> list[dict[str, Any]]:
    """Presearch + candidates' _msearch beside _msearch of every subscription,
    on the same batches of (refreshed) articles; both must agree."""
    es = AsyncElasticsearch(ES_URL, request_timeout=600)
    redis = Redis.from_url(REDIS_URL)
    index = ArticleIndex(es, ns)
    subs = Subscriptions(SubscriptionStore(redis, ns), index, 0)
    await subs.refresh()
    rng = random.Random(7)
    rows = []
    for size in sizes:
        for _ in range(rounds):
            ids = rng.sample(article_ids, size)
            cpu0, t0 = time.process_time(), time.perf_counter()
            docs = await index.documents(ids, subs.fields)
            candidates: dict[str, list[str]] = {}
            for doc in docs.values():
                for sid in subs.presearcher.candidates(document_keys(doc.terms)):
                    candidates.setdefault(sid, []).append(doc.article_id)
            found = await index.verify(candidates, subs.queries)
            t1, cpu1 = time.perf_counter(), time.process_time()
            everything = {sid: ids for sid in subs.active}
            brute = await index.verify(everything, subs.queries)
            t2 = time.perf_counter()
            rows.append(
                {
                    "subscriptions": len(subs.active),
                    "batch": size,
                    "presearch_ms": (t1 - t0) * 1000,
                    "presearch_cpu_ms": (cpu1 - cpu0) * 1000,
                    "searches": len(candidates),
                    "msearch_all_ms": (t2 - t1) * 1000,
                    "matches": len(found),
                    "same": sorted(found) == sorted(brute),
                }
            )
    await es.close()
    await redis.aclose()
    return rows


RUN_HEADER = [
    "subscriptions",
    "visibility",
    "articles",
    "deliveries",
    "p50 s",
    "p95 s",
    "p99 s",
    "matcher CPU ms/article",
    "searches/batch",
    "wait for refresh ms",
    "batches",
    "matches/article",
    "indexed->matched mean ms",
]
STRATEGY_HEADER = [
    "subscriptions",
    "batch",
    "presearch+msearch ms",
    "of which matcher CPU ms",
    "searches",
    "msearch all ms",
    "matches",
    "same",
]


def run_row(r: Run) -> list[str]:
    return [
        f"{r.subscriptions:,}",
        r.label,
        str(r.articles),
        str(r.deliveries),
        f"{r.p50:.2f}",
        f"{r.p95:.2f}",
        f"{r.p99:.2f}",
        f"{r.matcher_cpu_ms:.1f}",
        f"{r.candidates_per_batch:.1f}",
        f"{r.visibility_wait_ms:.0f}",
        str(r.batches),
        f"{r.matched_p_article:.1f}",
        f"{r.to_match_ms:.0f}",
    ]


def strategy_row(c: dict[str, Any]) -> list[str]:
    return [
        f"{c['subscriptions']:,}",
        str(c["batch"]),
        f"{c['presearch_ms']:.0f}",
        f"{c['presearch_cpu_ms']:.0f}",
        str(c["searches"]),
        f"{c['msearch_all_ms']:.0f}",
        str(c["matches"]),
        str(c["same"]),
    ]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def wait_ready(ports: dict[str, int], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    for stage, port in ports.items():
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{stage} did not become ready")
            time.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=5.0, help="articles/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="per run")
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument(
        "--refresh-run", action="store_true", help="also 10k with visibility=refresh"
    )
    parser.add_argument("--strategies", action="store_true", help="compare with _msearch of all")
    parser.add_argument("--json", default="/tmp/newsflow-bench-subscriptions.json")
    parser.add_argument("--webhooks", type=int, default=1000, help="subscriptions with a webhook")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    items = material()
    ns = f"bench-subs-{uuid.uuid4().hex[:8]}-"
    admin = admin_client([KAFKA])
    create_topics(admin, ns)
    es_sync = Elasticsearch(ES_URL)

    async def make_index() -> None:
        client = AsyncElasticsearch(ES_URL)
        await ensure_index(client, ns)
        await client.close()

    asyncio.run(make_index())
    receiver = Receiver()
    logs = Path(f"/tmp/{ns}logs")
    logs.mkdir(exist_ok=True)
    from tests.conftest import free_port, service_env

    env = service_env(ns, NEWSFLOW_WEBHOOKS_ALLOWED_NETWORKS="127.0.0.0/8")
    ports = {s: free_port() for s in ("indexer", "matcher", "webhooks")}
    workers = {s: Worker(s, ports[s], env, logs) for s in ports}
    runs: list[Run] = []
    compared: list[dict[str, Any]] = []
    created = 0
    rng = random.Random(16)
    try:
        wait_ready(ports)
        for size in sizes:
            asyncio.run(
                create_subscriptions(
                    ns,
                    subscription_mix(items, size - created, rng),
                    receiver.url("/hooks"),
                    created,
                    args.webhooks,
                )
            )
            created = size
            time.sleep(3)
            runs.append(
                flow(
                    ns, items, args, f"run{size}", receiver, workers, ports["matcher"], size, "wait"
                )
            )
            if args.strategies:
                es_sync.indices.refresh(index=f"{ns}articles")
                ids = [
                    h["_id"]
                    for h in es_sync.search(index=f"{ns}articles", size=500, source=False)["hits"][
                        "hits"
                    ]
                ]
                rounds = 3 if size <= 1000 else 1
                compared += asyncio.run(strategies(ns, ids, (1, 10), rounds))
        if args.refresh_run:
            workers["matcher"].stop()
            workers["matcher"] = Worker(
                "matcher", ports["matcher"], {**env, "NEWSFLOW_MATCHER_VISIBILITY": "refresh"}, logs
            )
            time.sleep(8)
            runs.append(
                flow(
                    ns,
                    items,
                    args,
                    "refresh",
                    receiver,
                    workers,
                    ports["matcher"],
                    created,
                    "refresh",
                )
            )
    finally:
        for worker in workers.values():
            worker.stop()
        receiver.close()
        delete_namespace(admin, ns)
        admin.close()
        es_sync.options(ignore_status=404).indices.delete(index=f"{ns}articles-v*")
        es_sync.options(ignore_status=404).indices.delete_index_template(
            name=f"{ns}newsflow-articles"
        )
        import redis as redis_sync

        client = redis_sync.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{ns}*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        client.close()
    print(f"\nrate {args.rate:g} articles/s for {args.seconds:g} s per run; namespace {ns}")
    print(table(RUN_HEADER, [run_row(r) for r in runs]))
    if compared:
        print()
        print(table(STRATEGY_HEADER, [strategy_row(c) for c in compared]))
    out = Path(args.json)
    out.write_text(
        json.dumps({"runs": [r.__dict__ for r in runs], "strategies": compared}, indent=2)
    )
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
