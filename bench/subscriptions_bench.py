"""Subscriptions under load: 1,000 and 10,000 saved searches while articles
flow at half the pipeline's capacity; "indexed" -> "webhook received"
latency, matcher CPU per article, and how the cost grows from 1,000 to
10,000 subscriptions.

    .venv/bin/python bench/subscriptions_bench.py [--sizes 1000,10000] [--seconds 60]
        [--webhooks 100] [--stress] [--strategies]

What runs, in a private namespace (deleted at the end): the indexer, the
matcher and the webhooks stages as worker processes (as `newsflow worker`
runs them), a webhook receiver on 127.0.0.1, and a producer writing
enriched articles to ``articles.grouped`` at ``--rate`` articles/s (5/s is
half the pipeline's measured capacity, docs/benchmarks.md). Latency is the
receiver's clock minus the record's ``indexed_at`` (the indexer's clock,
same host); "matched" is the record's ``matched_at`` minus ``indexed_at``,
for every match (read back from ``subscriptions.matched``).

Each run starts after a few unmeasured articles have gone through: the
matcher reads new or changed subscriptions at its next batch, and what is
measured is the steady state, not the one-off load of 9,000 new ones.

Workload (stated, because it decides the result):

* subscriptions are drawn from the sample corpus (../shared/eval/extraction:
  125 pages' titles and the entities spaCy finds in their bodies), as people
  make them: a name as a phrase (30 %), an entity filter, the "Follow"
  button (20 %), two title words (25 %), one name or another (10 %), a
  title word within an entity filter (10 %), a title word from one source
  (5 %). Many people follow the same names, as they would;
* the articles that flow are *other* articles: the 772 news articles of
  ../shared/eval/stories (ECB+), with their own entities, so an article
  matches the subscriptions whose names or words it happens to contain (the
  bench prints how many per article), not the ones made from it;
* ``--webhooks 100``: the first 100 subscriptions (a random draw, the same
  at every size) have a webhook, the others only their feed and the Kafka
  record; so the webhook load is the same at every size and the growth
  measured is the matcher's. ``--stress`` adds a run where every one of the
  largest size's subscriptions has a webhook.

Strategies (``--strategies``), on the same batches of indexed articles,
with a check that all find the same matches: the matcher's presearch +
combined searches of the candidates (named queries, see
``ArticleIndex.verify``); combined searches of every subscription (no
presearch); and one search per candidate subscription in ``_msearch``
(the form the issue names first).
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from elasticsearch import AsyncElasticsearch, Elasticsearch  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from services.subscriptions.matching import ArticleIndex, restricted  # noqa: E402
from services.subscriptions.models import Subscription, SubscriptionIn  # noqa: E402
from services.subscriptions.presearch import document_keys  # noqa: E402
from services.subscriptions.stage import Subscriptions  # noqa: E402
from services.subscriptions.store import SubscriptionStore  # noqa: E402
from shared.contracts.index import ensure_index  # noqa: E402
from shared.contracts.models import EntityV1, GroupedArticleV1  # noqa: E402
from shared.runtime.kafka_admin import admin_client, create_topics, delete_namespace  # noqa: E402
from tests.subscriptions.rig import Receiver, Worker  # noqa: E402

KAFKA, ES_URL, REDIS_URL = "127.0.0.1:9092", "http://127.0.0.1:9200", "redis://127.0.0.1:6379/0"
EVAL = REPO.parent / "shared" / "eval"
CACHE = Path("/tmp/newsflow-bench-subscriptions-material.json")
STREAM_CACHE = Path("/tmp/newsflow-bench-subscriptions-stories.json")
_STOP_WORDS = (
    "that with from this have were been their they which would there about after also into "
    "more said than when what other some could them these only over such most like just "
    "where then while many those because being very even before under since will your "
    "does here each both much made make through against between during news says year "
    "years first last"
)
_STOP = frozenset(_STOP_WORDS.split())
_LABELS = {"people": "PERSON", "organisations": "ORG", "places": "GPE"}
PHASES = ("read", "presearch", "visible", "verify", "claim", "records")


# ----------------------------------------------------------------- material
def _entities(texts: list[str]) -> list[list[dict[str, str]]]:
    from services.entities.extract import extract_entities, load_pipeline

    found = extract_entities(load_pipeline(), [t[:3000] for t in texts])
    return [
        [{"name": e.canonical, "group": e.group} for e in entities if e.group in _LABELS]
        for _, entities in found
    ]


def material() -> list[dict[str, Any]]:
    """Title, body and entities of each sample article (NER once, cached):
    what the subscriptions are made of."""
    if CACHE.exists():
        return list(json.loads(CACHE.read_text()))
    truth = json.loads((EVAL / "extraction" / "ground-truth.json").read_text())
    items = []
    for page_id, row in truth.items():
        page = REPO / "samples" / "pages" / f"{page_id}.html.gz"
        raw = gzip.decompress(page.read_bytes()).decode("utf-8", "replace") if page.exists() else ""
        found = re.search(r"<title[^>]*>(.*?)</title>", raw, re.S | re.I)
        title = html.unescape(found.group(1)).strip() if found else ""
        title = max(re.split(r"\s[|\-–—]\s", title), key=len).strip() if title else ""
        items.append({"title": title, "body": row["articleBody"][:6000]})
    for item, entities in zip(items, _entities([i["body"] for i in items]), strict=True):
        item["entities"] = entities
    CACHE.write_text(json.dumps(items))
    return items


def stream_material() -> list[dict[str, Any]]:
    """The articles that flow: the ECB+ news stories (NER once, cached)."""
    if STREAM_CACHE.exists():
        return list(json.loads(STREAM_CACHE.read_text()))
    rows = [json.loads(line) for line in (EVAL / "stories" / "documents.jsonl").open()]
    items = [{"id": r["id"], "text": r["text"][:6000]} for r in rows]
    for item, entities in zip(items, _entities([i["text"] for i in items]), strict=True):
        item["entities"] = entities
    STREAM_CACHE.write_text(json.dumps(items))
    return items


def words_of(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z]{5,}", text) if w.lower() not in _STOP]


def subscription_mix(
    items: list[dict[str, Any]], n: int, rng: random.Random
) -> list[SubscriptionIn]:
    """Saved searches as people make them, drawn from the sample corpus."""
    titled = [i for i in items if words_of(i["title"])]
    named = [e for i in items for e in i["entities"] if '"' not in e["name"]]
    sources = [f"site{k}.example" for k in range(20)]
    subs = []
    for k in range(n):
        words = words_of(rng.choice(titled)["title"])
        entity = rng.choice(named)
        roll = rng.random()
        body: dict[str, Any] = {"name": f"bench {k}"}
        if roll < 0.30:
            body["q"] = f'"{entity["name"]}"'
        elif roll < 0.50:
            body[entity["group"]] = [entity["name"]]
        elif roll < 0.75:
            body["q"] = " ".join(rng.sample(words, min(len(words), 2)))
        elif roll < 0.85:
            body["q"] = f'"{entity["name"]}" | "{rng.choice(named)["name"]}"'
        elif roll < 0.95:
            body[entity["group"]] = [entity["name"]]
            body["q"] = rng.choice(words)
        else:
            body["q"] = rng.choice(words)
            body["source"] = [rng.choice(sources)]
        subs.append(SubscriptionIn.model_validate(body))
    return subs


def article(story: dict[str, Any], aid: str, rng: random.Random) -> GroupedArticleV1:
    """A new article from one story: its first words as the title. Sent straight to
    the indexer's input (articles.grouped), each a story of its own: the stories
    stage is not what this bench measures."""
    text = story["text"]
    now = datetime.now(UTC)
    source = f"site{rng.randrange(20)}.example"
    entities = [
        EntityV1(canonical=e["name"], label=_LABELS[e["group"]], group=e["group"], count=1)
        for e in story["entities"][:20]
    ]
    return GroupedArticleV1(
        article_id=aid,
        story_id=aid,
        url=f"https://{source}/news/{aid}",
        source=source,
        title=" ".join(text.split()[:12]),
        text=text,
        published_at=now,
        language="en",
        word_count=len(text.split()),
        fingerprint=aid[:16],
        input_format="text",
        received_at=now,
        entities=entities,
        ner_model="bench",
    )


# ----------------------------------------------------------------- helpers
def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def scrape(port: int) -> dict[str, float]:
    """A worker's own metrics: counters and the sums and counts of histograms."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name, value = line.rsplit(" ", 1)
        if name.startswith("newsflow_"):
            found[name] = float(value)
    return found


@dataclass
class Run:
    label: str
    subscriptions: int
    webhooks: int
    articles: int
    matches: int
    matched_p50: float
    matched_p95: float
    deliveries: int
    p50: float
    p95: float
    p99: float
    matcher_cpu_ms: float
    searches_per_batch: float
    refresh_wait_ms: float
    batches: int
    batch_ms: float
    phases: dict[str, float]


def matched_records(ns: str, ids: set[str]) -> list[float]:
    """indexed -> matched of every match record of these articles."""
    consumer = KafkaConsumer(
        f"{ns}subscriptions.matched",
        bootstrap_servers=KAFKA,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    ages = []
    for message in consumer:
        record = json.loads(message.value)
        if record["article_id"] in ids:
            indexed = datetime.fromisoformat(record["indexed_at"])
            ages.append((datetime.fromisoformat(record["matched_at"]) - indexed).total_seconds())
    consumer.close()
    return ages


def drain(
    ports: dict[str, int], m0: dict[str, dict[str, float]], count: int, receiver: Receiver
) -> None:
    """Until the matcher read every notice, the webhooks stage every match,
    and no webhook arrived for 3 s (at most 10 minutes)."""
    deadline = time.monotonic() + 600

    def read(stage: str, name: str) -> float:
        key = f'newsflow_messages_{name}_total{{stage="{stage}"}}'
        return scrape(ports[stage]).get(key, 0.0) - m0[stage].get(key, 0.0)

    while time.monotonic() < deadline and read("matcher", "in") < count:
        time.sleep(0.5)
    while time.monotonic() < deadline and read("webhooks", "in") < read("matcher", "out"):
        time.sleep(0.5)
    last, quiet = len(receiver.requests), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet < 3:
        time.sleep(0.5)
        if len(receiver.requests) != last:
            last, quiet = len(receiver.requests), time.monotonic()


def warm_up(ctx: dict[str, Any], stories: list[dict[str, Any]], count: int = 5) -> None:
    """A few articles, not measured, until the matcher has handled them: it
    reads new or changed subscriptions at its next batch (all 9,000 new ones
    at once here), and a steady state is what is measured."""
    ns, ports = ctx["ns"], ctx["ports"]
    key = 'newsflow_messages_in_total{stage="matcher"}'
    before = scrape(ports["matcher"]).get(key, 0.0)
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
    rng = random.Random(0)
    for _ in range(count):
        a = article(stories[rng.randrange(len(stories))], uuid.uuid4().hex, rng)
        producer.send(
            f"{ns}articles.grouped", key=a.article_id.encode(), value=a.model_dump_json().encode()
        )
    producer.flush()
    producer.close()
    deadline = time.monotonic() + 300
    while scrape(ports["matcher"]).get(key, 0.0) - before < count and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # its webhooks, if any, out of the way


def flow(
    ctx: dict[str, Any], stories: list[dict[str, Any]], label: str, sizes: tuple[int, int]
) -> Run:
    """Articles at a steady rate; the matches and deliveries they cause, timed."""
    args, ns, receiver, workers, ports = (
        ctx[k] for k in ("args", "ns", "receiver", "workers", "ports")
    )
    rng = random.Random(label)
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all", linger_ms=5)
    before, cpu0 = len(receiver.requests), workers["matcher"].cpu_seconds()
    m0 = {stage: scrape(port) for stage, port in ports.items()}
    count = int(args.rate * args.seconds)
    ids: set[str] = set()
    started = time.monotonic()
    for n in range(count):
        aid = uuid.uuid4().hex
        ids.add(aid)
        a = article(stories[rng.randrange(len(stories))], aid, rng)
        producer.send(f"{ns}articles.grouped", key=aid.encode(), value=a.model_dump_json().encode())
        time.sleep(max(0.0, started + (n + 1) / args.rate - time.monotonic()))
    producer.flush()
    producer.close()
    drain(ports, m0, count, receiver)
    cpu = workers["matcher"].cpu_seconds() - cpu0
    m1 = scrape(ports["matcher"])
    latencies = [
        got.at - datetime.fromisoformat(json.loads(got.body)["indexed_at"]).timestamp()
        for got in receiver.requests[before:]
    ]
    matched = matched_records(ns, ids)

    def delta(name: str) -> float:
        return m1.get(name, 0.0) - m0["matcher"].get(name, 0.0)

    batches = delta("newsflow_matcher_candidates_count")
    waits = delta("newsflow_matcher_visibility_wait_seconds_count")
    return Run(
        label=label,
        subscriptions=sizes[0],
        webhooks=sizes[1],
        articles=count,
        matches=len(matched),
        matched_p50=percentile(matched, 50),
        matched_p95=percentile(matched, 95),
        deliveries=len(latencies),
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        matcher_cpu_ms=cpu / max(1, count) * 1000,
        searches_per_batch=delta("newsflow_matcher_candidates_sum") / max(1.0, batches),
        refresh_wait_ms=delta("newsflow_matcher_visibility_wait_seconds_sum")
        / max(1.0, waits)
        * 1000,
        batches=int(batches),
        phases={
            phase: delta(f'newsflow_matcher_phase_seconds_sum{{phase="{phase}"}}')
            / max(1.0, delta(f'newsflow_matcher_phase_seconds_count{{phase="{phase}"}}'))
            * 1000
            for phase in PHASES
        },
        batch_ms=delta('newsflow_batch_seconds_sum{stage="matcher"}')
        / max(1.0, delta('newsflow_batch_seconds_count{stage="matcher"}'))
        * 1000,
    )


async def create_subscriptions(
    ns: str, subs: list[SubscriptionIn], hook: str, first: int, webhooks: int
) -> None:
    """Store the subscriptions (the API's own store call); the first
    `webhooks` of all get a webhook."""
    redis = Redis.from_url(REDIS_URL)
    store = SubscriptionStore(redis, ns)
    for k, body in enumerate(subs, start=first):
        if k < webhooks:
            body = body.model_copy(update={"webhook_url": f"{hook}/{k}"})
        await store.create(body, "0" * 32, max_per_key=10**6, max_total=10**6)
    await redis.aclose()


async def webhooks_for_all(ns: str, hook: str) -> None:
    """The stress case: every subscription gets a webhook (one version bump)."""
    redis = Redis.from_url(REDIS_URL)
    store = SubscriptionStore(redis, ns)
    subs: list[Subscription] = await store.all()
    async with redis.pipeline(transaction=False) as pipe:
        for sub in subs:
            changed = sub.model_copy(update={"webhook_url": f"{hook}/all/{sub.id}"})
            pipe.set(store.key("sub", sub.id), changed.model_dump_json())
        await pipe.execute()
    await store.touch([s.id for s in subs])
    await redis.aclose()


async def strategies(
    ns: str, article_ids: list[str], sizes: Sequence[int], rounds: int
) -> list[dict[str, Any]]:
    """The three ways of verifying, on the same batches of (refreshed) articles."""
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
            brute = await index.verify({sid: ids for sid in subs.active}, subs.queries)
            t2 = time.perf_counter()
            single = await one_per_subscription(es, index.alias, candidates, subs.queries)
            t3 = time.perf_counter()
            rows.append(
                {
                    "subscriptions": len(subs.active),
                    "batch": size,
                    "presearch_ms": (t1 - t0) * 1000,
                    "presearch_cpu_ms": (cpu1 - cpu0) * 1000,
                    "searches": len(candidates),
                    "all_ms": (t2 - t1) * 1000,
                    "single_ms": (t3 - t2) * 1000,
                    "matches": len(found),
                    "same": sorted(found) == sorted(brute) == sorted(single),
                }
            )
    await es.close()
    await redis.aclose()
    return rows


async def one_per_subscription(
    es: AsyncElasticsearch,
    alias: str,
    candidates: dict[str, list[str]],
    queries: dict[str, dict[str, Any]],
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    order = sorted(candidates)
    for start in range(0, len(order), 500):
        chunk = order[start : start + 500]
        searches: list[dict[str, Any]] = []
        for sid in chunk:
            searches += [{}, restricted(queries[sid], candidates[sid])]
        answer = await es.msearch(index=alias, searches=searches)
        for sid, response in zip(chunk, answer["responses"], strict=True):
            found += [(sid, hit["_id"]) for hit in response["hits"]["hits"]]
    return found


RUN_HEADER = [
    "run",
    "subscriptions",
    "webhooks",
    "articles",
    "matches/article",
    "indexed->matched p50/p95 s",
    "webhooks received",
    "indexed->webhook p50 s",
    "p95 s",
    "p99 s",
    "matcher CPU ms/article",
    "searches/batch",
    "refresh wait ms",
    "batches",
    "matcher ms/batch",
]
STRATEGY_HEADER = [
    "subscriptions",
    "batch",
    "presearch + combined ms",
    "of which matcher CPU ms",
    "candidate subscriptions",
    "combined, all subscriptions ms",
    "one search per candidate ms",
    "matches",
    "same",
]


def run_row(r: Run) -> list[str]:
    return [
        r.label,
        f"{r.subscriptions:,}",
        f"{r.webhooks:,}",
        str(r.articles),
        f"{r.matches / max(1, r.articles):.2f}",
        f"{r.matched_p50:.2f} / {r.matched_p95:.2f}",
        str(r.deliveries),
        f"{r.p50:.2f}",
        f"{r.p95:.2f}",
        f"{r.p99:.2f}",
        f"{r.matcher_cpu_ms:.1f}",
        f"{r.searches_per_batch:.1f}",
        f"{r.refresh_wait_ms:.0f}",
        str(r.batches),
        f"{r.batch_ms:.0f}",
    ]


def growth_row(small: Run, large: Run) -> list[str]:
    """How each cost grew from the smallest size to the largest (same webhooks)."""

    def ratio(a: float, b: float) -> str:
        return f"x{b / a:.2f}" if a > 0 else "-"

    return [
        "growth",
        ratio(small.subscriptions, large.subscriptions),
        "",
        "",
        ratio(small.matches / max(1, small.articles), large.matches / max(1, large.articles)),
        ratio(small.matched_p95, large.matched_p95),
        "",
        ratio(small.p50, large.p50),
        ratio(small.p95, large.p95),
        ratio(small.p99, large.p99),
        ratio(small.matcher_cpu_ms, large.matcher_cpu_ms),
        ratio(small.searches_per_batch, large.searches_per_batch),
        "",
        "",
        ratio(small.batch_ms, large.batch_ms),
    ]


def strategy_row(c: dict[str, Any]) -> list[str]:
    return [
        f"{c['subscriptions']:,}",
        str(c["batch"]),
        f"{c['presearch_ms']:.0f}",
        f"{c['presearch_cpu_ms']:.0f}",
        str(c["searches"]),
        f"{c['all_ms']:.0f}",
        f"{c['single_ms']:.0f}",
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


def cleanup(ns: str) -> None:
    import redis as redis_sync

    admin = admin_client([KAFKA])
    delete_namespace(admin, ns)
    admin.close()
    es = Elasticsearch(ES_URL).options(ignore_status=404)
    es.indices.delete(index=f"{ns}articles-v*")
    es.indices.delete_index_template(name=f"{ns}newsflow-articles")
    client = redis_sync.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{ns}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
    client.close()


def compare(ns: str, size: int) -> list[dict[str, Any]]:
    es = Elasticsearch(ES_URL)
    es.indices.refresh(index=f"{ns}articles")
    hits = es.search(index=f"{ns}articles", size=500, source=False)["hits"]["hits"]
    es.close()
    return asyncio.run(strategies(ns, [h["_id"] for h in hits], (1, 10), 3 if size <= 1000 else 1))


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=5.0, help="articles/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="per run")
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--webhooks", type=int, default=100, help="subscriptions with a webhook")
    parser.add_argument("--stress", action="store_true", help="then every subscription a webhook")
    parser.add_argument("--strategies", action="store_true", help="compare with _msearch of all")
    parser.add_argument("--json", default="/tmp/newsflow-bench-subscriptions.json")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    items, stories = material(), stream_material()
    ns = f"bench-subs-{uuid.uuid4().hex[:8]}-"
    admin = admin_client([KAFKA])
    create_topics(admin, ns)
    admin.close()

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
    ctx = {"args": args, "ns": ns, "receiver": receiver, "workers": workers, "ports": ports}
    runs: list[Run] = []
    compared: list[dict[str, Any]] = []
    created = 0
    rng = random.Random(16)
    hook = receiver.url("/hooks")
    try:
        wait_ready(ports)
        for size in sizes:
            mix = subscription_mix(items, size - created, rng)
            asyncio.run(create_subscriptions(ns, mix, hook, created, args.webhooks))
            created = size
            warm_up(ctx, stories)
            runs.append(flow(ctx, stories, f"{size:,} subs", (size, min(size, args.webhooks))))
            if args.strategies:
                compared += compare(ns, size)
        if args.stress:
            asyncio.run(webhooks_for_all(ns, hook))
            warm_up(ctx, stories)
            runs.append(flow(ctx, stories, "stress: all webhooks", (created, created)))
    finally:
        for worker in workers.values():
            worker.stop()
        receiver.close()
        cleanup(ns)
    print(f"\nrate {args.rate:g} articles/s for {args.seconds:g} s per run; namespace {ns}")
    rows = [run_row(r) for r in runs]
    if len(sizes) > 1:
        rows.append(growth_row(runs[0], runs[len(sizes) - 1]))
    print(table(RUN_HEADER, rows))
    print("\nmatcher, mean ms per batch by step")
    print(
        table(["run", *PHASES], [[r.label] + [f"{r.phases[p]:.0f}" for p in PHASES] for r in runs])
    )
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
