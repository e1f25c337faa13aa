"""Driving the real pipeline: post articles, watch them become searchable.

"Searchable" is taken literally: an article counts when an Elasticsearch search
finds it, because that is what a reader sees. The indexer's ``articles.indexed``
notice is sent when the bulk request returns, before the index refresh that makes
the document visible (``refresh_interval``, 1 s), so it would understate the
latency by up to a second. Throughput runs poll ``_count`` on the namespace's
alias (a search-side count, refreshed segments only); latency runs poll an
``ids`` search for the articles in flight every ``POLL_S`` and read the stage
timestamps the document carries (received, cleaned, enriched, grouped, indexed), which
split each article's latency by stage.
"""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from _corpus import BenchArticle, ndjson_batches
from _stack import MachineCpu, Service, Services, cpu_seconds
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, TopicPartition

from shared.contracts.topics import TOPICS

POLL_S = 0.05
# A throughput run fails rather than hangs when nothing new becomes searchable
# for this long (a worker died, a rebalance never settled...).
STALL_TIMEOUT_S = 180.0


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99 (nearest rank) and the mean, in the values' unit."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "mean": None, "n": 0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]

    return {
        "p50": round(rank(0.50), 4),
        "p95": round(rank(0.95), 4),
        "p99": round(rank(0.99), 4),
        "mean": round(statistics.fmean(ordered), 4),
        "n": len(ordered),
    }


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


@dataclass
class Pipeline:
    """One namespace's running pipeline, as the bench sees it."""

    namespace: str
    ingestion: Service
    services: Services
    api_key: str
    es: Elasticsearch
    kafka: str
    extra_pids: dict[str, int] = field(default_factory=dict)
    _dlq: KafkaConsumer | None = None

    @property
    def alias(self) -> str:
        return f"{self.namespace}articles"

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.ingestion.url,
            timeout=120,
            headers={"X-API-Key": self.api_key},
        )

    # ------------------------------------------------------------ observing
    def searchable_count(self) -> int:
        """Documents a search sees. A fresh index answers 503 while its shard
        starts, and a missing one 404: both count as nothing yet."""
        for _ in range(50):
            found = self.es.options(ignore_status=(404, 503)).count(index=self.alias)
            if "count" in found or found.meta.status == 404:
                return int(found.get("count", 0))
            time.sleep(0.1)
        raise RuntimeError(f"index {self.alias} still unavailable after 5 s")

    def dead_letters(self) -> int:
        """Messages in the namespace's DLQ topics (end offsets; never consumed)."""
        names = [t.full_name(self.namespace) for t in TOPICS if t.name.endswith(".dlq")]
        if self._dlq is None:
            self._dlq = KafkaConsumer(bootstrap_servers=self.kafka, client_id="newsflow-bench-dlq")
        parts = [
            TopicPartition(name, p)
            for name in names
            for p in sorted(self._dlq.partitions_for_topic(name) or ())
        ]
        return int(sum(self._dlq.end_offsets(parts).values())) if parts else 0

    def close(self) -> None:
        if self._dlq is not None:
            self._dlq.close()
            self._dlq = None

    def cpu_snapshot(self) -> dict[str, float]:
        snap = {s.name: s.cpu() for s in self.services.all if s.alive()}
        for name, pid in self.extra_pids.items():
            value = cpu_seconds(pid)
            if value is not None:
                snap[name] = value
        return snap

    # ------------------------------------------------------------ sending
    def post_batches(self, bodies: Sequence[bytes]) -> tuple[float, int]:
        """POST each NDJSON body in turn; returns (time of the first POST, accepted)."""
        accepted = 0
        first = 0.0
        with self.http() as client:
            for n, body in enumerate(bodies):
                if n == 0:
                    first = time.time()
                response = client.post(
                    "/v1/articles:batch",
                    content=body,
                    headers={"Content-Type": "application/x-ndjson"},
                )
                if response.status_code != 202:
                    raise RuntimeError(
                        f"ingestion refused a batch ({response.status_code}): {response.text[:500]}"
                    )
                accepted += sum(a["status"] == "accepted" for a in response.json()["articles"])
        return first, accepted

    def warm_up(self, articles: Sequence[BenchArticle], timeout: float = 240) -> float:
        """Send a few articles and wait until all are searchable: consumer groups
        joined, models loaded, index created. Returns the seconds it took."""
        started = time.monotonic()
        before = self.searchable_count()
        self.post_batches(ndjson_batches(list(articles)))
        deadline = time.monotonic() + timeout
        while self.searchable_count() < before + len(articles):
            self.services.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"warm-up articles not searchable in {timeout:.0f}s\n" + self.services.tails()
                )
            time.sleep(0.25)
        return time.monotonic() - started

    # ------------------------------------------------------------ throughput
    def throughput(
        self,
        articles: Sequence[BenchArticle],
        profile: Callable[[], Callable[[], None]] | None = None,
    ) -> dict[str, Any]:
        """Post every article as fast as the API takes them (batches of 100, one
        client, like ``newsflow import``) and time first POST -> last searchable."""
        bodies = ndjson_batches(list(articles))
        before = self.searchable_count()
        dlq_before = self.dead_letters()
        cpu_before = self.cpu_snapshot()
        machine_before = MachineCpu.now()
        posted: dict[str, Any] = {}
        stop_profile = profile() if profile else None

        def poster() -> None:
            try:
                posted["first"], posted["accepted"] = self.post_batches(bodies)
                posted["done_at"] = time.time()
            except Exception as exc:  # surfaced by the main loop
                posted["error"] = exc

        thread = threading.Thread(target=poster, name="bench-poster", daemon=True)
        started = time.time()
        thread.start()
        last_count, last_change = before, time.monotonic()
        dead, next_dlq_check = 0, time.monotonic() + 2
        end = None
        while end is None:
            time.sleep(0.2)
            if "error" in posted:
                raise RuntimeError(f"posting failed: {posted['error']!r}")
            count = self.searchable_count()
            now_wall = time.time()
            if count != last_count:
                last_count, last_change = count, time.monotonic()
            if time.monotonic() >= next_dlq_check:
                dead = self.dead_letters() - dlq_before
                next_dlq_check = time.monotonic() + 2
                self.services.check_alive()
                self.services.sample_memory()
            if "accepted" in posted and count - before >= posted["accepted"] - dead:
                dead = self.dead_letters() - dlq_before
                if count - before >= posted["accepted"] - dead:
                    end = now_wall
            if time.monotonic() - last_change > STALL_TIMEOUT_S:
                raise RuntimeError(
                    f"no progress for {STALL_TIMEOUT_S:.0f}s ({count - before} searchable)\n"
                    + self.services.tails()
                )
        if stop_profile:
            stop_profile()
        machine_after = MachineCpu.now()
        cpu_after = self.cpu_snapshot()
        self.services.sample_memory()
        first = float(posted["first"])
        seconds = end - first
        accepted = int(posted["accepted"])
        searchable = last_count - before
        cpu = {
            name: round(cpu_after[name] - cpu_before.get(name, 0.0), 1)
            for name in cpu_after
            if name in cpu_before
        }
        entities_cpu = sum(v for k, v in cpu.items() if k.startswith("entities"))
        ours = sum(v for k, v in cpu.items() if k not in self.extra_pids)
        return {
            "articles_posted": len(articles),
            "accepted": accepted,
            "dead_lettered": dead,
            "searchable": searchable,
            "seconds": round(seconds, 2),
            "articles_per_s": round(searchable / seconds, 2),
            "posting_seconds": round(float(posted["done_at"]) - first, 2),
            "started_at": datetime.fromtimestamp(started, UTC).isoformat(),
            "stage_finished_after_s": self.stage_timeline(first),
            "cpu_seconds": cpu,
            "cpu_ms_per_article": {
                name: round(value * 1000 / max(searchable, 1), 1) for name, value in cpu.items()
            },
            "machine_busy_cores": round(machine_after.busy_cores_since(machine_before, seconds), 2),
            # What the entities workers got of the machine, and what the Newsflow
            # processes (not the shared servers) used in all: the rest of the
            # busy cores went to Kafka, Elasticsearch, Redis and other users.
            "entities_cores": round(entities_cpu / seconds, 2),
            "newsflow_processes_cores": round(ours / seconds, 2),
        }

    def stage_timeline(self, since: float) -> dict[str, float | None]:
        """Seconds after the first POST at which each stage stamped its last
        article of the run: the stage that finishes last, long after the one
        before it, is the bottleneck."""
        fields = ("received_at", "cleaned_at", "enriched_at", "grouped_at", "indexed_at")
        response = self.es.search(
            index=self.alias,
            size=0,
            query={
                "range": {"received_at": {"gte": datetime.fromtimestamp(since, UTC).isoformat()}}
            },
            aggs={f: {"max": {"field": f}} for f in fields},
        )
        aggs = response["aggregations"]
        out: dict[str, float | None] = {}
        for f in fields:
            value = aggs[f].get("value")
            out[f.removesuffix("_at")] = round(value / 1000 - since, 1) if value else None
        return out

    # ------------------------------------------------------------ latency
    def latency(self, articles: Sequence[BenchArticle], rate: float) -> dict[str, Any]:
        """Offer ``rate`` articles/s (open loop: each POST leaves at its scheduled
        time, whatever the previous ones do) and time each from the start of its
        POST to the first search that finds it."""
        posted: dict[str, float] = {}
        acked: dict[str, float] = {}
        found: dict[str, tuple[float, dict[str, Any]]] = {}
        errors: list[str] = []
        lock = threading.Lock()
        local = threading.local()

        def send(article: BenchArticle) -> None:
            if not hasattr(local, "client"):
                local.client = self.http()
            with lock:
                posted[article.article_id] = time.time()
            try:
                response = local.client.post(
                    "/v1/articles",
                    content=article.ndjson_line(),
                    headers={"Content-Type": "application/json"},
                )
                if response.status_code != 202:
                    errors.append(f"{response.status_code}: {response.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
            with lock:
                acked[article.article_id] = time.time()

        done = threading.Event()

        def watch() -> None:
            source = ["received_at", "cleaned_at", "enriched_at", "grouped_at", "indexed_at"]
            while not done.is_set():
                with lock:
                    waiting = [a for a in posted if a not in found]
                if waiting:
                    asked_at = time.time()
                    response = self.es.options(ignore_status=(404, 503)).search(
                        index=self.alias,
                        query={"ids": {"values": waiting}},
                        size=len(waiting),
                        source_includes=source,
                    )
                    for hit in response.get("hits", {}).get("hits", []):
                        # Visible at `asked_at` at the latest: the upper bound.
                        found[hit["_id"]] = (asked_at, hit["_source"])
                time.sleep(POLL_S)

        watcher = threading.Thread(target=watch, name="bench-watcher", daemon=True)
        watcher.start()
        machine_before, cpu_before = MachineCpu.now(), self.cpu_snapshot()
        started = time.time()
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="bench-sender") as pool:
            for k, article in enumerate(articles):
                delay = started + k / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(send, article)
        deadline = time.time() + 120
        while len(found) < len(posted) - len(errors) and time.time() < deadline:
            time.sleep(0.1)
        done.set()
        watcher.join(5)
        self.services.sample_memory()
        elapsed = time.time() - started
        machine = MachineCpu.now().busy_cores_since(machine_before, elapsed)
        cpu_after = self.cpu_snapshot()
        ours = sum(
            cpu_after[name] - cpu_before[name]
            for name in cpu_after
            if name in cpu_before and name not in self.extra_pids
        )

        totals: list[float] = []
        segments: dict[str, list[float]] = {
            "post_to_received": [],
            "received_to_cleaned": [],
            "cleaned_to_enriched": [],
            "enriched_to_grouped": [],
            "grouped_to_indexed": [],
            "indexed_to_searchable": [],
        }
        api_ack: list[float] = []
        for aid, (seen_at, doc) in found.items():
            sent = posted[aid]
            totals.append(seen_at - sent)
            if aid in acked:
                api_ack.append(acked[aid] - sent)
            marks = [
                sent,
                *(
                    _ts(doc.get(k))
                    for k in (
                        "received_at",
                        "cleaned_at",
                        "enriched_at",
                        "grouped_at",
                        "indexed_at",
                    )
                ),
                seen_at,
            ]
            for (_name, values), a, b in zip(segments.items(), marks, marks[1:], strict=False):
                if a is not None and b is not None:
                    values.append(b - a)
        return {
            "offered_per_s": round(rate, 2),
            "articles": len(articles),
            "seconds_offered": round(len(articles) / rate, 1),
            "searchable": len(found),
            "errors": errors[:5],
            "post_to_searchable_s": percentiles(totals),
            "post_to_202_s": percentiles(api_ack),
            "segments_s": {name: percentiles(values) for name, values in segments.items()},
            # Busy cores over the run, anyone's, and the Newsflow processes' share:
            # a tail far above the median usually comes with a busy machine.
            "machine_busy_cores": round(machine, 2),
            "newsflow_processes_cores": round(ours / elapsed, 2),
            "method": f"ids search every {POLL_S * 1000:.0f} ms on the articles in flight; "
            "an article counts as searchable at the start of the first search that found it",
        }


def entity_group_stable(kafka: str, group: str, members: int) -> bool:
    """The entities consumer group has settled with ``members`` members, each
    holding partitions (so a rebalance is not going to pause the next run)."""
    from shared.runtime.kafka_admin import admin_client

    admin = admin_client([kafka], client_id="newsflow-bench-groups")
    try:
        described = admin.describe_groups([group])
    finally:
        admin.close()
    info = described.get(group) if isinstance(described, dict) else None
    if not info:
        return False
    state, found = info.get("group_state"), info.get("members") or []
    return str(state).lower() == "stable" and len(found) == members


def start_profilers(
    services: Sequence[Service], out_dir: Path, rate: int = 50
) -> Callable[[], None]:
    """py-spy ``record`` on each process (all threads, raw collapsed stacks),
    until the returned function is called. For ``--profile`` only."""
    out_dir.mkdir(parents=True, exist_ok=True)
    procs = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(s.pid),
                "--rate",
                str(rate),
                "--threads",
                "--format",
                "raw",
                "--output",
                str(out_dir / f"{s.name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for s in services
    ]

    def stop() -> None:
        for proc in procs:
            proc.send_signal(2)  # SIGINT: py-spy writes its output and exits
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()

    return stop
