"""Workers stopped in the middle of a load lose nothing and duplicate nothing.

``kill -9`` gives a worker no chance to finish: its uncommitted batches are
delivered again to its replacement, and the indexer's ``_id = article_id``
absorbs the repeats. SIGTERM asks it to finish the batch in hand, deliver its
outputs and commit before it exits, so a restart repeats (almost) nothing.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from shared.contracts.models import IndexedArticleV1
from tests.conftest import wait_until
from tests.faults.conftest import STAGES, Pipeline, articles, report

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _notices(pipe: Pipeline, ids: set[str]) -> Counter[str]:
    """How many `articles.indexed` notices each of these articles got: more
    than one means it was processed again (re-delivered), not duplicated."""
    counts: Counter[str] = Counter()
    for _, value in pipe.read_topic("articles.indexed"):
        notice = IndexedArticleV1.model_validate_json(value)
        if notice.article_id in ids:
            counts[notice.article_id] += 1
    return counts


def test_kill_9_entity_worker_with_500_in_flight(running: Pipeline, artifacts_dir: Path) -> None:
    source = "kill9.fault"
    batch = articles(source, 500)
    ids: list[str] = []
    for i in range(0, len(batch), 100):
        ids.extend(running.send_accepted(batch[i : i + 100]))
    # Kill it once it is well into them, with most still ahead of it.
    wait_until(
        lambda: (
            running.metric("entities", "newsflow_messages_in_total", stage="entities") > 0
            and running.count_docs(source) >= 20
        ),
        60,
        "the entity worker busy with the load",
        interval=0.1,
    )
    before = running.count_docs(source)
    running.signal("entities", signal.SIGKILL)
    assert running.wait_exit("entities") == -signal.SIGKILL
    restarted = time.monotonic()
    running.start("entities")
    found = running.wait_indexed(source, set(ids), timeout=240)
    recovered = time.monotonic() - restarted
    dead = [d for d in running.dead_letters("entities") if d.key in set(ids)]
    lost = len(set(ids) - set(found))
    repeats = sum(n - 1 for n in _notices(running, set(ids)).values())
    report(
        artifacts_dir,
        "kill -9 entities (500 in flight)",
        sent=len(batch),
        accepted=len(ids),
        indexed=len(found),
        dead_lettered=len(dead),
        lost=lost,
        extra=f"indexed-before-kill={before} reprocessed={repeats} "
        f"all-indexed-after={recovered:.0f}s",
    )
    assert len(found) == len(set(found)) == 500
    assert running.count_docs(source) == 500
    assert not dead and lost == 0


def test_sigterm_every_worker_during_load(running: Pipeline, artifacts_dir: Path) -> None:
    source = "sigterm.fault"
    batch = articles(source, 400)
    ids: list[str] = []
    for i in range(0, len(batch), 100):
        ids.extend(running.send_accepted(batch[i : i + 100]))
    wait_until(lambda: running.count_docs(source) >= 20, 60, "the load under way", interval=0.1)
    before = running.count_docs(source)
    for stage in STAGES:
        running.signal(stage, signal.SIGTERM)
    codes = {stage: running.wait_exit(stage, timeout=60) for stage in STAGES}
    for stage in STAGES:
        running.start(stage)
    found = running.wait_indexed(source, set(ids), timeout=240)
    dead = [d for stage in STAGES for d in running.dead_letters(stage) if d.key in set(ids)]
    lost = len(set(ids) - set(found))
    repeats = sum(n - 1 for n in _notices(running, set(ids)).values())
    report(
        artifacts_dir,
        "SIGTERM every worker during load",
        sent=len(batch),
        accepted=len(ids),
        indexed=len(found),
        dead_lettered=len(dead),
        lost=lost,
        extra=f"indexed-before-stop={before} reprocessed={repeats} exit-codes={codes}",
    )
    assert all(code == 0 for code in codes.values()), codes
    assert len(found) == len(set(found)) == len(ids)
    assert running.count_docs(source) == len(ids)
    assert not dead and lost == 0
