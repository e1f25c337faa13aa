"""A running Newsflow pipeline for tests that break things: the ingestion API
and one worker per stage as real processes on the real servers, in a private
namespace, plus what a test needs to count what became of its articles.

It lives apart from ``conftest.py`` so that other test folders
(``tests/security``) can start the same pipeline without importing a conftest.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from shared.contracts.models import DeadLetterV1
from tests.conftest import ES_URL, KAFKA, Service, free_port, service_env, wait_until

API_KEY = "fault-key-" + uuid.uuid4().hex[:8]
# The stages every article goes through, in order...
STAGES = ("cleaning", "entities", "stories", "indexer")
# ...and every worker the pipeline runs: the relabel stage reads merges, not articles.
WORKERS = (*STAGES, "relabel")
STAGE_INPUT = {
    "cleaning": "articles.raw",
    "entities": "articles.clean",
    "stories": "articles.enriched",
    "indexer": "articles.grouped",
    "relabel": "identities.merged",
}
# Big enough for the hostile 10 MB bodies to reach the refusal logic (413) rather
# than being cut by the transport; small enough to keep the test machine calm.
MAX_BODY = 12_000_000


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


def _answers_200(url: str) -> bool:
    return httpx.get(url).status_code == 200


class Pipeline:
    """The running services of a test folder and what they have produced.

    `service_env` adds environment variables to one service (by name) every
    time it is started, e.g. a small dead-letter window for cleaning."""

    def __init__(
        self,
        ns: str,
        log_dir: Path,
        service_env_extra: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
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
        self.service_env_extra = {k: dict(v) for k, v in (service_env_extra or {}).items()}
        self.web_ports = {stage: free_port() for stage in WORKERS}
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
        env = {**self.env, **self.service_env_extra.get(name, {}), **extra_env}
        service = Service(f"{name}-{gen}", args, env, self.log_dir)
        self.services[name] = service
        return service

    def signal(self, name: str, sig: signal.Signals) -> None:
        self.services[name].proc.send_signal(sig)

    def wait_exit(self, name: str, timeout: float = 60) -> int:
        return self.services[name].proc.wait(timeout)

    def alive(self, name: str) -> bool:
        return self.services[name].proc.poll() is None

    def ensure_running(self, names: Iterable[str] = ("ingestion", *WORKERS)) -> None:
        """Restart whatever a test left stopped, and wait until all answer."""
        names = tuple(names)
        for name in names:
            if name not in self.services or not self.alive(name):
                self.start(name)
        self.wait_ready(names)

    def wait_ready(
        self, names: Iterable[str] = ("ingestion", *WORKERS), timeout: float = 120
    ) -> None:
        for name in names:
            url = f"{self.api}/healthz" if name == "ingestion" else self.worker_url(name, "/readyz")
            wait_until(partial(_answers_200, url), timeout, f"{url} ready")

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
        answers = response.json()["articles"]
        assert [a["status"] for a in answers] == ["accepted"] * len(batch), answers
        return [a["article_id"] for a in answers]

    # ------------------------------------------------------------ looking
    @property
    def alias(self) -> str:
        return f"{self.ns}articles"

    def indexed_ids(self, source: str) -> list[str]:
        """Ids of the documents of one source, as search sees them."""
        self.es.options(ignore_status=404).indices.refresh(index=self.alias)
        found = self.es.options(ignore_status=404).search(
            index=self.alias,
            query={"term": {"source": source}},
            size=10_000,
            source=False,
            track_total_hits=True,
        )
        if "hits" not in found:
            return []
        return [hit["_id"] for hit in found["hits"]["hits"]]

    def doc(self, aid: str) -> dict[str, Any] | None:
        """One article as search sees it (after a refresh), or None."""
        self.es.options(ignore_status=404).indices.refresh(index=self.alias)
        found = self.es.options(ignore_status=(404, 503)).search(
            index=self.alias, query={"ids": {"values": [aid]}}
        )
        hits = found.get("hits", {}).get("hits", [])
        return dict(hits[0]["_source"]) if hits else None

    def count_docs(self, source: str) -> int:
        self.es.options(ignore_status=404).indices.refresh(index=self.alias)
        found = self.es.options(ignore_status=404).count(
            index=self.alias, query={"term": {"source": source}}
        )
        return int(found.get("count", 0))

    def docs_per_article(self, source: str) -> Counter[str]:
        """How many documents carry each `article_id` field value of a source.

        Not the ``_id`` (unique by construction, so counting it proves
        nothing): a document indexed twice under two ids would show here as 2."""
        self.es.options(ignore_status=404).indices.refresh(index=self.alias)
        found = self.es.options(ignore_status=404).search(
            index=self.alias,
            query={"term": {"source": source}},
            size=0,
            aggs={"ids": {"terms": {"field": "article_id", "size": 10_000}}},
        )
        buckets = found.get("aggregations", {}).get("ids", {}).get("buckets", [])
        return Counter({b["key"]: int(b["doc_count"]) for b in buckets})

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

    def seconds_until_searchable(self, aid: str, since: float, timeout: float) -> float:
        """Seconds from `since` (a time.monotonic()) until article `aid` is
        searchable, polled every 0.1 s; fails after `timeout`. A measure to
        report, never to assert on (the machine is shared)."""
        deadline = since + timeout
        while time.monotonic() < deadline:
            if self.doc(aid) is not None:
                return time.monotonic() - since
            time.sleep(0.1)
        raise AssertionError(f"article {aid} not searchable after {timeout}s\n{self.logs()}")

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

    def key_counts(self, name: str, keys: set[str]) -> Counter[str]:
        """How many messages of a namespaced topic carry each of these keys."""
        counts: Counter[str] = Counter()
        for key, _ in self.read_topic(name):
            text = key.decode(errors="replace") if key is not None else ""
            if text in keys:
                counts[text] += 1
        return counts

    def read_topic(self, name: str) -> list[tuple[bytes | None, bytes]]:
        """(key, value) of every message of a namespaced topic, from the beginning."""
        return [(r.key, r.value) for r in self.read_records(name)]

    def read_records(self, name: str) -> list[Any]:
        """Every record (key, value, partition, offset…) of a namespaced topic,
        from the beginning."""
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
            messages: list[Any] = []
            deadline = time.monotonic() + 60
            while any(consumer.position(tp) < end[tp] for tp in parts):
                assert time.monotonic() < deadline, f"could not read {topic}"
                for records in consumer.poll(timeout_ms=500).values():
                    messages.extend(records)
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
