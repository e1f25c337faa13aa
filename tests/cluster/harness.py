"""What the cluster fault tests drive and measure: the three-node profile
(deploy/local/cluster.sh), the pipeline pointed at it, a steady load of
articles, a search probe, and the counts each test reports.

The pipeline is the one the single-node fault tests run
(:class:`tests.faults.pipeline.Pipeline`: ingestion API + one worker per stage
as real processes), with its server addresses switched to the cluster's.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaConnectionError

from shared.contracts.topics import TOPICS
from shared.runtime.kafka_admin import admin_client
from tests.conftest import REPO, Service, free_port, wait_until
from tests.faults.pipeline import Pipeline, articles

CLUSTER_SH = REPO / "deploy" / "local" / "cluster.sh"
KAFKA_NODES = {n: f"127.0.0.1:{19091 + n}" for n in (1, 2, 3)}
ES_NODES = {n: f"http://127.0.0.1:{19199 + n}" for n in (1, 2, 3)}
BOOTSTRAP = ",".join(KAFKA_NODES.values())
REDIS_URL = "redis://127.0.0.1:16379/0"
# What the services of a replicated deployment set (the settings fields of
# CommonSettings; topics are made by the fixture with the same values).
REPLICATION_ENV = {
    "NEWSFLOW_TOPIC_REPLICATION_FACTOR": "3",
    "NEWSFLOW_TOPIC_MIN_INSYNC_REPLICAS": "2",
    "NEWSFLOW_INDEX_REPLICAS": "1",
}


# ---------------------------------------------------------------- the cluster
def cluster_sh(*args: str, timeout: float = 600) -> str:
    """Run deploy/local/cluster.sh; its output. Fails the test on an error."""
    done = subprocess.run(
        ["bash", str(CLUSTER_SH), *args],
        cwd=REPO,
        timeout=timeout,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 and args[0] != "status":
        raise AssertionError(f"cluster.sh {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextmanager
def node_killed(node: str) -> Iterator[Callable[[], float]]:
    """`cluster.sh kill-9 node` for the block. Yields `restart()`, which starts
    the node again and returns how long that took; a block that ends before
    calling it (a failed assertion) still gets the node back, so one failing
    test does not leave the next ones a broken cluster."""
    cluster_sh("kill-9", node)
    restarted = False

    def restart() -> float:
        nonlocal restarted
        started = time.monotonic()
        cluster_sh("start-one", node)
        restarted = True
        return time.monotonic() - started

    try:
        yield restart
    finally:
        if not restarted:
            cluster_sh("start-one", node)


def kafka_admin() -> Any:
    return admin_client(list(KAFKA_NODES.values()), client_id="cluster-faults")


def quorum_leader() -> int:
    """The active KRaft controller: the leader of the metadata quorum (not the
    `controller_id` of the metadata answer, which KRaft brokers fill with a
    random live broker); -1 while the quorum has none (an election) or while
    the node asked is the one just killed (its connection is refused)."""
    admin = kafka_admin()
    try:
        described = admin.describe_metadata_quorum()
        return int(described["topics"][0]["partitions"][0]["leader_id"])
    except KafkaConnectionError:
        return -1
    finally:
        admin.close()


def partitions(ns: str) -> list[dict[str, Any]]:
    """Every partition of the namespace's topics: topic, leader, replicas, isr."""
    admin = kafka_admin()
    try:
        described = admin.describe_topics([t.full_name(ns) for t in TOPICS])
    finally:
        admin.close()
    return [
        {
            "topic": d["name"],
            "partition": p["partition_index"],
            "leader": p["leader_id"],
            "replicas": list(p["replica_nodes"]),
            "isr": list(p["isr_nodes"]),
        }
        for d in described
        if not d.get("error_code")
        for p in d["partitions"]
    ]


def es_client() -> Elasticsearch:
    """The tests' own reader knows all three nodes, so counting goes on while
    any one of them is down."""
    return Elasticsearch(list(ES_NODES.values()), request_timeout=30, retry_on_timeout=True)


def es_master(es: Elasticsearch) -> int:
    """The node number (1..3) of the elected master."""
    rows: list[dict[str, str]] = es.cat.nodes(format="json", h="name,master").body  # type: ignore[assignment]
    return next(int(r["name"].rsplit("-", 1)[1]) for r in rows if r["master"] == "*")


# ---------------------------------------------------------------- the pipeline
class ClusterPipeline(Pipeline):
    """The fault tests' pipeline, talking to the cluster. Its services reach
    Elasticsearch through `es_entry` alone (NEWSFLOW_ELASTICSEARCH_URL takes
    one URL), the tests' reads through all three nodes."""

    def __init__(self, ns: str, log_dir: Path, es_entry: int) -> None:
        super().__init__(ns, log_dir)
        self.es_entry = es_entry
        self.env.update(
            NEWSFLOW_KAFKA_BOOTSTRAP=BOOTSTRAP,
            NEWSFLOW_ELASTICSEARCH_URL=ES_NODES[es_entry],
            NEWSFLOW_REDIS_URL=REDIS_URL,
            **REPLICATION_ENV,
        )
        self.es.close()
        self.es = es_client()
        self.search_port = free_port()

    def start_search(self) -> Service:
        service = Service(
            "search", ["api", "search", "--port", str(self.search_port)], self.env, self.log_dir
        )
        self.services["search"] = service
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{self.search_port}/healthz").status_code == 200,
            120,
            "search API up",
        )
        return service

    def read_records(self, name: str) -> list[Any]:
        topic = f"{self.ns}{name}"
        consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
        try:
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            consumer.assign(parts)
            consumer.seek_to_beginning()
            end = consumer.end_offsets(parts)
            records: list[Any] = []
            deadline = time.monotonic() + 60
            while any(consumer.position(tp) < end[tp] for tp in parts):
                assert time.monotonic() < deadline, f"could not read {topic}"
                for batch in consumer.poll(timeout_ms=500).values():
                    records.extend(batch)
            return records
        finally:
            consumer.close()

    def indexed_times(self, source: str) -> dict[str, tuple[datetime, datetime]]:
        """{article id: (received_at, indexed_at)} of a source's documents."""
        self.es.options(ignore_status=404).indices.refresh(index=self.alias)
        found = self.es.options(ignore_status=404).search(
            index=self.alias,
            query={"term": {"source": source}},
            size=10_000,
            source_includes=["received_at", "indexed_at"],
        )
        return {
            h["_id"]: (
                datetime.fromisoformat(h["_source"]["received_at"]),
                datetime.fromisoformat(h["_source"]["indexed_at"]),
            )
            for h in found.get("hits", {}).get("hits", [])
        }


# ---------------------------------------------------------------- load
class Load:
    """A client posting `batch` new articles every `interval` seconds in a
    thread. Articles refused (503) or left unanswered are offered again with
    the next batch, as a client following Retry-After would; an article the
    API calls a duplicate on a later try was taken by the earlier one."""

    def __init__(self, pipe: Pipeline, source: str, batch: int = 4, interval: float = 0.5) -> None:
        self.pipe, self.source, self.batch, self.interval = pipe, source, batch, interval
        self.offered = 0
        self.accepted: dict[str, float] = {}  # article id -> when the 202 came
        self.answers: list[tuple[float, int]] = []  # (when answered, status or -1)
        self._pending: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Load:
        self._thread.start()
        return self

    def _post(self, client: httpx.Client, batch: list[dict[str, Any]]) -> None:
        import json

        body = "\n".join(json.dumps(a) for a in batch).encode()
        try:
            response = client.post(
                "/v1/articles:batch",
                content=body,
                headers={"Content-Type": "application/x-ndjson"},
            )
            code = response.status_code
        except httpx.HTTPError:
            code, response = -1, None
        now = time.monotonic()
        self.answers.append((now, code))
        if code == 202 and response is not None:
            for answer in response.json()["articles"]:
                self.accepted.setdefault(answer["article_id"], now)
        else:
            self._pending.extend(batch)

    def _run(self) -> None:
        headers = {"X-API-Key": str(self.pipe.http.headers["X-API-Key"])}
        with httpx.Client(base_url=self.pipe.api, timeout=30, headers=headers) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                fresh = articles(self.source, self.batch)
                self.offered += len(fresh)
                batch, self._pending = self._pending + fresh, []
                self._post(client, batch)
                time.sleep(max(0.0, self.interval - (time.monotonic() - started)))
            # Whatever is still refused is offered until taken, new articles no more.
            deadline = time.monotonic() + 120
            while self._pending and time.monotonic() < deadline:
                batch, self._pending = self._pending, []
                self._post(client, batch)
                if self._pending:
                    time.sleep(1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(180)
        assert not self._pending, f"{len(self._pending)} articles never accepted"

    def halt(self) -> None:
        """Stop offering anything (a test ending early): no waiting, no checks."""
        self._stop.set()
        self._pending.clear()

    def refused(self) -> int:
        return sum(1 for _, code in self.answers if code != 202)

    def longest_gap(self) -> float:
        """The longest time without a 202: how long ingestion stalled."""
        times = [t for t, code in self.answers if code == 202]
        return max((b - a for a, b in pairwise(times)), default=0.0)


class SearchProbe:
    """GET /v1/search every `interval` s in a thread, each query distinct so
    that the result cache never answers for Elasticsearch."""

    def __init__(self, base: str, interval: float = 0.25) -> None:
        self.base, self.interval = base, interval
        self.answers: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> SearchProbe:
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        with httpx.Client(base_url=self.base, timeout=15) as client:
            while not self._stop.is_set():
                i += 1
                try:
                    code = client.get(
                        "/v1/search", params={"q": f"summit item {i}", "size": 3}
                    ).status_code
                except httpx.HTTPError:
                    code = -1
                self.answers.append((time.monotonic(), code))
                time.sleep(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def between(self, start: float, end: float) -> list[int]:
        return [code for t, code in self.answers if start <= t <= end]

    def longest_failure(self) -> float:
        """The longest run of answers that were not 200, in seconds."""
        longest, began = 0.0, None
        for t, code in self.answers:
            if code != 200 and began is None:
                began = t
            elif code == 200 and began is not None:
                longest, began = max(longest, t - began), None
        if began is not None:
            longest = max(longest, self.answers[-1][0] - began)
        return longest


# ---------------------------------------------------------------- counting
@dataclass
class FaultResult:
    name: str
    sent: int
    accepted: int
    indexed: int
    lost: int
    dup_raw: int  # extra copies of an article in articles.raw (producer retries)
    dup_indexed: int  # extra notices in articles.indexed (stage re-deliveries)
    dup_docs: int  # articles with more than one search document (must be 0)
    refused: int  # POSTs answered other than 202 (retried)
    ingest_stall_s: float
    index_stall_s: float
    worst_latency_s: float
    extra: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in self.extra.items())
        return (
            f"CLUSTER {self.name}: sent={self.sent} accepted={self.accepted} "
            f"indexed={self.indexed} lost={self.lost} duplicated(raw/indexed/docs)="
            f"{self.dup_raw}/{self.dup_indexed}/{self.dup_docs} refused={self.refused} "
            f"stall(ingest/index)={self.ingest_stall_s:.1f}s/{self.index_stall_s:.1f}s "
            f"worst-latency={self.worst_latency_s:.1f}s {extra}".rstrip()
        )

    def row(self) -> str:
        extra = "; ".join(f"{k} {v}" for k, v in self.extra.items())
        return (
            f"| {self.name} | {self.sent} | {self.accepted} | {self.indexed} | {self.lost} | "
            f"{self.dup_raw} / {self.dup_indexed} / {self.dup_docs} | {self.refused} | "
            f"{self.ingest_stall_s:.1f} s / {self.index_stall_s:.1f} s | "
            f"{self.worst_latency_s:.1f} s | {extra} |"
        )


TABLE_HEAD = (
    "| fault | sent | accepted | indexed | lost | duplicated raw / indexed / docs | "
    "refused POSTs | stall ingest / index | worst POST→searchable | notes |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def extra_copies(counts: Counter[str]) -> int:
    return sum(n - 1 for n in counts.values() if n > 1)


def longest_gap(times: list[datetime]) -> float:
    ordered = sorted(times)
    return max(((b - a).total_seconds() for a, b in pairwise(ordered)), default=0.0)


def measure(pipe: ClusterPipeline, load: Load, name: str, timeout: float = 180) -> FaultResult:
    """Wait until every accepted article is searchable (or `timeout`), then count."""
    expected = set(load.accepted)
    deadline = time.monotonic() + timeout
    found: set[str] = set()
    while time.monotonic() < deadline:
        found = set(pipe.indexed_ids(load.source))
        if expected <= found:
            break
        time.sleep(1)
    times = pipe.indexed_times(load.source)
    ours = [times[a] for a in expected if a in times]
    return FaultResult(
        name=name,
        sent=load.offered,
        accepted=len(expected),
        indexed=len(expected & found),
        lost=len(expected - found),
        dup_raw=extra_copies(pipe.key_counts("articles.raw", expected)),
        dup_indexed=extra_copies(pipe.key_counts("articles.indexed", expected)),
        dup_docs=sum(1 for n in pipe.docs_per_article(load.source).values() if n > 1),
        refused=load.refused(),
        ingest_stall_s=load.longest_gap(),
        index_stall_s=longest_gap([indexed for _, indexed in ours]),
        worst_latency_s=max(((i - r).total_seconds() for r, i in ours), default=0.0),
    )


def write_report(artifacts: Path, results: list[FaultResult], preface: list[str]) -> Path:
    """tests/artifacts/cluster-faults.md (this run) and a line per fault
    appended to tests/artifacts/fault-counts.txt, beside the single-node ones."""
    path = artifacts / "cluster-faults.md"
    lines = ["# Cluster fault tests (tests/cluster)", "", *preface, "", TABLE_HEAD]
    lines += [r.row() for r in results]
    path.write_text("\n".join(lines) + "\n")
    with (artifacts / "fault-counts.txt").open("a") as out:
        for r in results:
            out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {r.line()}\n")
    return path


def poll_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> float:
    """Seconds until `check` held (a figure to report, never to assert on)."""
    started = time.monotonic()
    wait_until(check, timeout, what, interval=every)
    return time.monotonic() - started
