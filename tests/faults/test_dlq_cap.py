"""The DLQ cap (``DlqPolicy`` in shared/runtime/policies.py): a worker whose
input partition is mostly systemic failures stops with exit code 3 and says
why, instead of draining its input into the dead-letter topic; it
acknowledges nothing of the batch that tripped the cap, so once restarted
nothing is lost.

The cause here is a producer writing junk that breaks the topic's contract
(systemic: our own topics are written by our own producers). Bad articles
from callers are dead-lettered without counting, and never stop a stage:
tests/security/test_workers_hostile_articles.py. With the junk already in the
topic, a restart with the same cap would stop again on it: the operator
either lets that known backlog drain into the DLQ by raising the cap for one
run (what this test does, then the default cap applies again) or skips it
with ``newsflow replay``. Either way it is a decision, never a silent drain.
"""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path

import pytest
from kafka import KafkaProducer

from shared.contracts.models import RawArticleV1
from shared.runtime.faust_runner import DLQ_LIMIT_EXIT_CODE
from tests.conftest import KAFKA, wait_until
from tests.faults.pipeline import Pipeline, report, story

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A small window, so that the cap trips within a few batches.
CAP_ENV = {
    "NEWSFLOW_CLEANING_DLQ_WINDOW": "20",
    "NEWSFLOW_CLEANING_DLQ_MAX_RATIO": "0.5",
    "NEWSFLOW_CLEANING_BATCH_SIZE": "10",
}


def _good(source: str) -> tuple[str, bytes]:
    raw = RawArticleV1(article_id=uuid.uuid4().hex, source=source, text=story(uuid.uuid4().hex))
    return raw.article_id, raw.model_dump_json().encode()


def test_mostly_bad_input_stops_the_worker_and_loses_nothing(
    running: Pipeline, artifacts_dir: Path
) -> None:
    source = "dlq-cap.fault"
    topic = f"{running.ns}articles.raw"
    # One partition, so that the order the worker sees is the order sent.
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")

    def send(key: str, value: bytes) -> None:
        producer.send(topic, key=key.encode(), value=value, partition=0).get(30)

    running.signal("cleaning", signal.SIGTERM)
    assert running.wait_exit("cleaning") == 0
    good: set[str] = set()
    bad: set[str] = set()
    for _ in range(20):
        aid, value = _good(source)
        send(aid, value)
        good.add(aid)
    for i in range(80):
        key = f"junk-{i}-{uuid.uuid4().hex[:6]}"
        send(key, json.dumps({"junk": i}).encode())
        bad.add(key)

    capped = running.start("cleaning", **CAP_ENV)
    code = capped.proc.wait(120)
    log = running.log_text("cleaning")
    letters_at_stop = {d.key for d in running.dead_letters("cleaning")} & bad

    # The cause is fixed: good input again. The known junk is let through once.
    for _ in range(100):
        aid, value = _good(source)
        send(aid, value)
        good.add(aid)
    producer.close()
    running.start("cleaning", **{**CAP_ENV, "NEWSFLOW_CLEANING_DLQ_MAX_RATIO": "1.0"})
    found = running.wait_indexed(source, good, timeout=180)
    wait_until(
        lambda: bad <= {d.key for d in running.dead_letters("cleaning")},
        60,
        "every junk message in the DLQ",
    )
    letters = [d for d in running.dead_letters("cleaning") if d.key in bad]
    lost = len(good - set(found)) + len(bad - {d.key for d in letters})
    report(
        artifacts_dir,
        "DLQ cap (80 junk among 120 good)",
        sent=len(good) + len(bad),
        accepted=len(good) + len(bad),
        indexed=len(set(found) & good),
        dead_lettered=len({d.key for d in letters}),
        lost=lost,
        extra=f"exit-code={code} dead-lettered-before-stop={len(letters_at_stop)} "
        f"dead-letters-written={len(letters)}",
    )

    assert code == DLQ_LIMIT_EXIT_CODE, running.services["cleaning"].log_tail()
    assert "stopping instead of draining the topic into the DLQ" in log
    assert '"level": "CRITICAL"' in log
    # It stopped early: most of the junk was still in the topic, not in the DLQ.
    assert len(letters_at_stop) < len(bad) / 2
    assert lost == 0
    # Back to the default cap for the tests that follow.
    running.signal("cleaning", signal.SIGTERM)
    running.wait_exit("cleaning")
