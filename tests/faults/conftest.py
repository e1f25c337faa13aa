"""Fixtures of the fault tests: one namespace and one running pipeline
(ingestion API + one worker per stage, real processes on the real servers)
for the whole folder, plus helpers to break things and count what survived.

Starting the four services (consumer-group joins, the spaCy model) costs
tens of seconds on a 2-core machine, so the tests share one pipeline and each
restores it before it ends; every test tags its articles with its own
``source`` so that its counts never mix with another test's.

A test that stops a server restarts it in a ``finally`` block and waits until
it is healthy again (:func:`server_down`): the servers are shared with every
other test and with the people working on this machine.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from shared.contracts.models import DeadLetterV1
from tests.conftest import (
    ES_URL,
    KAFKA,
    REDIS_URL,
    REPO,
    Service,
    _delete_es_namespace,
    _delete_redis_namespace,
    free_port,
    new_namespace,
    service_env,
    wait_until,
)

STACK_SH = REPO / "deploy" / "local" / "stack.sh"
API_KEY = "fault-key-" + uuid.uuid4().hex[:8]
STAGES = ("cleaning", "entities", "indexer")
STAGE_INPUT = {
    "cleaning": "articles.raw",
    "entities": "articles.clean",
    "indexer": "articles.enriched",
}
# Big enough for the hostile 10 MB bodies to reach the refusal logic (413) rather
# than being cut by the transport; small enough to keep the test machine calm.
MAX_BODY = 12_000_000


# ---------------------------------------------------------------- servers
def server_healthy(name: str) -> bool:
    try:
        if name == "kafka":
            from shared.runtime.kafka_admin import admin_client

            admin = admin_client([KAFKA], client_id="fault-health")
            try:
                return bool(admin.list_topics() is not None)
            finally:
                admin.close()
        if name == "elasticsearch":
            es = Elasticsearch(ES_URL, request_timeout=5)
            try:
                return es.cluster.health(wait_for_status="yellow", timeout="5s")["status"] in (
                    "green",
                    "yellow",
                )
            finally:
                es.close()
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def stack(action: str, name: str) -> None:
    subprocess.run(
        ["bash", str(STACK_SH), action, name],
        check=True,
        cwd=REPO,
        timeout=300,
        stdout=subprocess.DEVNULL,
    )


@contextmanager
def server_down(name: str) -> Iterator[None]:
    """Stop one server for the duration of the block; always start it again
    (a second time if the first start fails) and wait until it answers,
    whatever happened inside, even if stopping it failed half-way."""
    try:
        stack("stop-one", name)
        yield
    finally:
        try:
            stack("start-one", name)
        except subprocess.SubprocessError:
            stack("stop-one", name)
            stack("start-one", name)
        wait_until(lambda: server_healthy(name), 120, f"{name} healthy again", interval=1)


# ---------------------------------------------------------------- the pipeline
def story(tag: str) -> str:
    """A short article of distinct paragraphs with entities for the NER stage."""
    return (
        f"A summit on {tag} drew officials from across Europe on Monday, according to "
        "reports filed by correspondents on the scene.\n\n"
        "The meeting in Berlin was chaired by Ursula von der Leyen, who told reporters that "
        "the European Commission would publish its proposals before the end of the month.\n\n"
        "Critics said the plan did not go far enough, and several ministers asked for more "
        "time to consult their parliaments before any vote was held."
    )


def articles(source: str, count: int) -> list[dict[str, Any]]:
    """`count` distinct articles of one source (each its own URL, so its own id)."""
    return [
        {
            "source": source,
            "url": f"https://{source}/news/{uuid.uuid4().hex}",
            "text": story(f"{source} item {i}"),
        }
        for i in range(count)
    ]


class Pipeline:
    """The running services of the fault tests and what they have produced."""

    def __init__(self, ns: str, log_dir: Path) -> None:
        self.ns = ns
        self.log_dir = log_dir
        self.api_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.env = service_env(
            ns,
            NEWSFLOW_INGESTION_API_KEYS=API_KEY,
            NEWSFLOW_INGESTION_MAX_BODY_BYTES=str(MAX_BODY),
            # Back off at most 5 s: an outage test should not wait 30 s after
            # the server is back for the indexer's next try.
            NEWSFLOW_INDEXER_RETRY_MAX_BACKOFF_S="5",
            # Faust's own setting (it reads BROKER_SESSION_TIMEOUT itself): the
            # group drops a killed worker after 15 s instead of 60 s, which only
            # shortens the wait of the kill -9 test; the mechanism is the same.
            BROKER_SESSION_TIMEOUT="15",
        )
        self.web_ports = {stage: free_port() for stage in STAGES}
        self.services: dict[str, Service] = {}
        self._generation: dict[str, int] = {}
        self.http = httpx.Client(base_url=self.api, timeout=60, headers={"X-API-Key": API_KEY})
        self.es = Elasticsearch(ES_URL, request_timeout=30)

    # ------------------------------------------------------------ processes
    def start(self, name: str, **extra_env: str) -> Service:
        """Start (or start again) one service; its log goes to `<name>-<n>.log`."""
        gen = self._generation.get(name, 0) + 1
        self._generation[name] = gen
        if name == "ingestion":
            args = ["api", "ingestion", "--port", str(self.api_port)]
        else:
            args = ["worker", name, "--web-port", str(self.web_ports[name])]
        service = Service(f"{name}-{gen}", args, {**self.env, **extra_env}, self.log_dir)
        self.services[name] = service
        return service

    def signal(self, name: str, sig: signal.Signals) -> None:
        self.services[name].proc.send_signal(sig)

    def wait_exit(self, name: str, timeout: float = 60) -> int:
        return self.services[name].proc.wait(timeout)

    def alive(self, name: str) -> bool:
        return self.services[name].proc.poll() is None

    def ensure_running(self) -> None:
        """Restart whatever a test left stopped, and wait until all answer."""
        for name in ("ingestion", *STAGES):
            if name not in self.services or not self.alive(name):
                self.start(name)
        self.wait_ready()

    def wait_ready(self, timeout: float = 120) -> None:
        wait_until(
            lambda: httpx.get(f"{self.api}/healthz").status_code == 200,
            timeout,
            "the ingestion API",
        )
        for stage in STAGES:
            url = f"http://127.0.0.1:{self.web_ports[stage]}/readyz"
            wait_until(
                lambda url=url: httpx.get(url).status_code == 200,
                timeout,  # type: ignore[misc]
                f"{url} ready",
            )

    def worker_url(self, stage: str, path: str) -> str:
        return f"http://127.0.0.1:{self.web_ports[stage]}{path}"

    def metrics(self, stage: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """The worker's /metrics as {(sample name, sorted labels): value}."""
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(self.worker_url(stage, "/metrics"), timeout=10).text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def metric(self, worker: str, name: str, **labels: str) -> float:
        """Sum of the samples of `name` whose labels include `labels`."""
        return sum(
            v
            for (n, ls), v in self.metrics(worker).items()
            if n == name and set(labels.items()) <= set(ls)
        )

    def newsflow(self, *args: str) -> Any:
        """Run a `newsflow` command in this process, against this namespace,
        through the real CLI (typer's runner); its click Result."""
        from typer.testing import CliRunner

        from services.console.cli import app

        env = {k: v for k, v in self.env.items() if k.startswith("NEWSFLOW_")}
        return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)

    def log_text(self, name: str) -> str:
        return self.services[name].log_path.read_text(errors="replace")

    def logs(self, lines: int = 25) -> str:
        return "\n".join(f"--- {s.name}\n{s.log_tail(lines)}" for s in self.services.values())

    def stop_all(self) -> None:
        for service in self.services.values():
            service.stop()

    # ------------------------------------------------------------ sending
    def post_batch(self, batch: list[dict[str, Any]]) -> httpx.Response:
        body = "\n".join(json.dumps(a) for a in batch).encode()
        return self.http.post(
            "/v1/articles:batch", content=body, headers={"Content-Type": "application/x-ndjson"}
        )

    def send_accepted(self, batch: list[dict[str, Any]]) -> list[str]:
        """Post a batch that must be accepted whole; its article ids."""
        response = self.post_batch(batch)
        assert response.status_code == 202, response.text
        return [a["article_id"] for a in response.json()["articles"]]

    # ------------------------------------------------------------ looking
    def indexed_ids(self, source: str) -> list[str]:
        """Ids of the documents of one source, as search sees them; a list, so
        that a duplicate would show (it cannot, _id = article_id, but we look)."""
        alias = f"{self.ns}articles"
        self.es.options(ignore_status=404).indices.refresh(index=alias)
        found = self.es.options(ignore_status=404).search(
            index=alias,
            query={"term": {"source": source}},
            size=10_000,
            source=False,
            track_total_hits=True,
        )
        if "hits" not in found:
            return []
        return [hit["_id"] for hit in found["hits"]["hits"]]

    def count_docs(self, source: str) -> int:
        alias = f"{self.ns}articles"
        self.es.options(ignore_status=404).indices.refresh(index=alias)
        found = self.es.options(ignore_status=404).count(
            index=alias, query={"term": {"source": source}}
        )
        return int(found.get("count", 0))

    def wait_indexed(self, source: str, expected: set[str], timeout: float) -> list[str]:
        """Wait until every expected id of `source` is searchable; the ids found."""
        deadline = time.monotonic() + timeout
        found: list[str] = []
        while time.monotonic() < deadline:
            found = self.indexed_ids(source)
            if expected <= set(found):
                return found
            time.sleep(1)
        missing = expected - set(found)
        raise AssertionError(
            f"{len(missing)} of {len(expected)} articles of {source} not "
            f"indexed after {timeout}s\n{self.logs()}"
        )

    def dead_letters(self, stage: str) -> list[DeadLetterV1]:
        """Every dead letter of a stage's DLQ topic, read from the beginning
        (the DLQ test also writes a record that is no dead letter: skipped)."""
        letters = []
        for _, value in self.read_topic(f"{STAGE_INPUT[stage]}.dlq"):
            try:
                letters.append(DeadLetterV1.model_validate_json(value))
            except ValidationError:
                continue
        return letters

    def read_topic(self, name: str) -> list[tuple[bytes | None, bytes]]:
        """(key, value) of every message of a namespaced topic, from the beginning."""
        topic = f"{self.ns}{name}"
        consumer = KafkaConsumer(
            bootstrap_servers=KAFKA,
            enable_auto_commit=False,
            max_partition_fetch_bytes=20_000_000,
            fetch_max_bytes=60_000_000,
        )
        try:
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            consumer.assign(parts)
            consumer.seek_to_beginning()
            end = consumer.end_offsets(parts)
            messages: list[tuple[bytes | None, bytes]] = []
            deadline = time.monotonic() + 60
            while any(consumer.position(tp) < end[tp] for tp in parts):
                assert time.monotonic() < deadline, f"could not read {topic}"
                for records in consumer.poll(timeout_ms=500).values():
                    messages.extend((r.key, r.value) for r in records)
            return messages
        finally:
            consumer.close()

    def close(self) -> None:
        self.http.close()
        self.es.close()


def report(
    artifacts: Path,
    name: str,
    *,
    sent: int,
    accepted: int,
    indexed: int,
    dead_lettered: int,
    lost: int,
    extra: str = "",
) -> str:
    """The one line every fault test prints (and appends to
    tests/artifacts/fault-counts.txt) with what became of its messages."""
    line = (
        f"FAULT {name}: sent={sent} accepted={accepted} indexed={indexed} "
        f"dead-lettered={dead_lettered} lost={lost}" + (f" {extra}" if extra else "")
    )
    print(line)
    with (artifacts / "fault-counts.txt").open("a") as out:
        out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")
    return line


@pytest.fixture(scope="package")
def fault_namespace(stack: None) -> Iterator[str]:
    """One namespace for the whole folder, its topics made on the real broker
    and everything in it deleted after the folder's last test."""
    from shared.runtime.kafka_admin import admin_client, create_topics, delete_namespace

    ns = new_namespace()
    admin = admin_client([KAFKA])
    create_topics(admin, ns)
    admin.close()
    yield ns
    # Kafka may have just been restarted by a test: wait for it before cleaning.
    wait_until(lambda: server_healthy("kafka"), 60, "kafka healthy", interval=1)
    admin = admin_client([KAFKA])
    delete_namespace(admin, ns)
    admin.close()
    _delete_es_namespace(ns)
    _delete_redis_namespace(ns)


@pytest.fixture(scope="package")
def pipeline(fault_namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """The services, started once for the folder and stopped after its last
    test (package scope), so they do not idle through the rest of the suite."""
    pipe = Pipeline(fault_namespace, tmp_path_factory.mktemp("fault-logs"))
    try:
        pipe.ensure_running()
        # Warm up: the first article waits for group joins and the model load.
        ids = pipe.send_accepted(articles("warmup.fault", 1))
        pipe.wait_indexed("warmup.fault", set(ids), timeout=120)
        yield pipe
    finally:
        pipe.stop_all()
        pipe.close()


@pytest.fixture
def running(pipeline: Pipeline) -> Iterator[Pipeline]:
    """The shared pipeline, all services up before the test and again after
    it (a test that kills a worker need not restart it itself)."""
    pipeline.ensure_running()
    yield pipeline
    pipeline.ensure_running()
