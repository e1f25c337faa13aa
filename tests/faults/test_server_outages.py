"""Each server stopped for a while under load, then started again on the same
data (``stack.sh stop-one`` / ``start-one``): Kafka, Elasticsearch, Redis.

What must hold: the ingestion API says 503 + Retry-After quickly while Kafka
is down (never hangs), the indexer backs off while Elasticsearch is down, and
Redis is optional for all but the entities and stories stages (dedup and status
pause; those two stages, whose shared state is in Redis — the entity registry and
the stories — wait and retry rather than hand out ids a replay could not give
again). Every article accepted with a 202 is
indexed in the end.
"""

from __future__ import annotations

import threading
import time
from functools import partial
from pathlib import Path

import httpx
import pytest

from services.ingestion.core import SEND_TIMEOUT_S
from tests.conftest import wait_until
from tests.faults.conftest import server_down
from tests.faults.pipeline import STAGES, Pipeline, articles, report

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OUTAGE_S = 20


class Sender:
    """Posts articles one by one in a thread, as a client would: on 503 it
    waits a little and sends the same article again."""

    def __init__(self, pipe: Pipeline, source: str, count: int) -> None:
        self.pipe = pipe
        self.pending = articles(source, count)
        self.sent = count
        self.accepted: set[str] = set()
        self.answers: list[tuple[float, int, float, bool]] = []  # at, code, took, retry-after
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Sender:
        self._thread.start()
        return self

    def _run(self) -> None:
        with httpx.Client(
            base_url=self.pipe.api,
            timeout=60,
            headers={"X-API-Key": self.pipe.http.headers["X-API-Key"]},
        ) as client:
            while self.pending and not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = client.post("/v1/articles", json=self.pending[0])
                    code = response.status_code
                except httpx.HTTPError:
                    code, response = -1, None
                took = time.monotonic() - started
                retry_after = bool(response is not None and response.headers.get("Retry-After"))
                self.answers.append((started, code, took, retry_after))
                if code == 202 and response is not None:
                    self.accepted.add(response.json()["article_id"])
                    self.pending.pop(0)
                    time.sleep(0.01)
                else:
                    time.sleep(0.2)

    def finish(self, timeout: float = 120) -> None:
        self._thread.join(timeout)
        self._stop.set()
        assert not self.pending, f"{len(self.pending)} articles never accepted"


def test_kafka_down_during_ingestion(running: Pipeline, artifacts_dir: Path) -> None:
    source = "kafka-outage.fault"
    sender = Sender(running, source, 400).start()
    wait_until(lambda: len(sender.accepted) >= 100, 60, "100 articles accepted")
    with server_down("kafka"):
        down_at = time.monotonic()
        time.sleep(OUTAGE_S / 2)
        ready = httpx.get(f"{running.api}/readyz", timeout=10)
        status = running.newsflow("status", "--interval", "0")
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        up_at = time.monotonic()
    sender.finish()
    during = [a for a in sender.answers if down_at + 1 < a[0] < up_at]
    refused = [a for a in during if a[1] == 503]
    slowest = max((a[2] for a in refused), default=0.0)

    found = running.wait_indexed(source, sender.accepted, timeout=180)
    lost = len(sender.accepted - set(found))
    report(
        artifacts_dir,
        "kafka down 20 s during ingestion",
        sent=sender.sent,
        accepted=len(sender.accepted),
        indexed=len(set(found) & sender.accepted),
        dead_lettered=0,
        lost=lost,
        extra=f"503s-while-down={len(refused)} slowest-503={slowest:.2f}s",
    )

    assert ready.status_code == 503 and ready.json()["kafka"] != "ok", ready.text
    # The operator's view says it too, and fails (exit 1) for scripts.
    assert status.exit_code == 1 and "kafka DOWN" in status.output, status.output
    assert len(refused) >= 10, during[:20]
    assert all(a[3] for a in refused), "a 503 without Retry-After"
    # Answered, not hung: one request may wait out the send timeout, the rest
    # are refused at once while Kafka is known to be down.
    assert slowest <= SEND_TIMEOUT_S + 2, slowest
    assert sum(1 for a in during if a[1] == -1) == 0, "a request hung past the client timeout"
    assert lost == 0 and len(found) == len(set(found))
    for stage in STAGES:
        assert running.alive(stage), running.services[stage].log_tail()


def test_elasticsearch_down_indexer_backs_off(running: Pipeline, artifacts_dir: Path) -> None:
    source = "es-outage.fault"
    retries_before = running.metric("indexer", "newsflow_retries_total", stage="indexer")
    ids = running.send_accepted(articles(source, 150))
    with server_down("elasticsearch"):
        # Kafka is fine: the API goes on accepting while the indexer waits.
        ids += running.send_accepted(articles(source, 150))
        time.sleep(OUTAGE_S)
        retries_during = running.metric("indexer", "newsflow_retries_total", stage="indexer")
        assert running.alive("indexer"), running.services["indexer"].log_tail()
    found = running.wait_indexed(source, set(ids), timeout=180)
    lost = len(set(ids) - set(found))
    report(
        artifacts_dir,
        "elasticsearch down 20 s",
        sent=len(ids),
        accepted=len(ids),
        indexed=len(found),
        dead_lettered=0,
        lost=lost,
        extra=f"indexer-retries={retries_during - retries_before:.0f}",
    )

    assert retries_during > retries_before, "the indexer never retried"
    log = running.log_text("indexer")
    assert "temporary failure, retrying the batch" in log
    assert lost == 0 and len(found) == len(set(found)) == len(ids)
    assert not [d for d in running.dead_letters("indexer") if d.key in set(ids)]


def _redis_ok(url: str) -> bool:
    return bool(httpx.get(url).json()["redis"] == "ok")


def test_redis_down_pipeline_runs_degraded(running: Pipeline, artifacts_dir: Path) -> None:
    source = "redis-outage.fault"
    batch = articles(source, 40)
    retries_before = running.metric("entities", "newsflow_retries_total", stage="entities")
    with server_down("redis"):
        ids = running.send_accepted(batch)
        # Without Redis there is no dedup: the same article is accepted again.
        again = running.post_batch(batch[:1]).json()["articles"][0]["status"]
        ingestion_ready = httpx.get(f"{running.api}/readyz", timeout=10)
        status = running.http.get(f"/v1/articles/{ids[0]}/status")
        wait_until(
            lambda: (
                running.metric("entities", "newsflow_retries_total", stage="entities")
                > retries_before
            ),
            60,
            "the entities stage waiting for its registry",
        )
        found_down = running.indexed_ids(source)
        workers_ready = {
            stage: httpx.get(running.worker_url(stage, "/readyz"), timeout=10) for stage in STAGES
        }
    # Back: dedup and status resume. A service tries a failed Redis again at
    # most every 2 s (or when /readyz pings it): wait until every one has.
    for url in [f"{running.api}/readyz", *(running.worker_url(s, "/readyz") for s in STAGES)]:
        wait_until(partial(_redis_ok, url), 30, f"{url} sees Redis again")
    later = articles(source, 20)
    later_ids = running.send_accepted(later)
    found = running.wait_indexed(source, set(ids) | set(later_ids), timeout=120)
    dup = running.post_batch(later[:1]).json()["articles"][0]["status"]
    wait_until(
        lambda: (
            [
                s["stage"]
                for s in running.http.get(f"/v1/articles/{later_ids[0]}/status").json()["stages"]
            ][-1:]
            == ["indexed"]
        ),
        30,
        "status of an article sent after Redis came back",
    )
    accepted = set(ids) | set(later_ids)
    lost = len(accepted - set(found))
    report(
        artifacts_dir,
        "redis down (degraded, then back)",
        sent=len(batch) + len(later),
        accepted=len(accepted),
        indexed=len(set(found) & accepted),
        dead_lettered=0,
        lost=lost,
        extra=f"indexed-while-down={len(found_down)}",
    )

    assert again == "accepted"
    assert ingestion_ready.status_code == 200, ingestion_ready.text
    assert ingestion_ready.json()["redis"].startswith("degraded"), ingestion_ready.text
    assert status.status_code == 503 and status.headers.get("Retry-After")
    for stage, ready in workers_ready.items():
        assert ready.status_code == 200 and ready.json()["redis"].startswith("degraded"), (
            stage,
            ready.text,
        )
    assert "redis unavailable, continuing without dedup/status" in running.log_text("ingestion")
    assert dup == "duplicate"
    assert lost == 0
