"""Workers stopped in the middle of a load lose nothing and duplicate nothing.

``kill -9`` gives a worker no chance to finish: its uncommitted batches are
delivered again to its replacement, and the indexer's ``_id = article_id``
absorbs the repeats: every article ends as exactly one document. SIGTERM asks
it to finish the batch in hand, deliver its outputs and commit before it
exits, so a restart repeats nothing: every stage writes exactly one output
per article, which is what sets the graceful stop apart from the kill.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.faults.pipeline import STAGES, Pipeline, articles, report

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The topic each stage writes one message per article to (key = article_id).
STAGE_OUTPUT = {
    "cleaning": "articles.clean",
    "entities": "articles.enriched",
    "stories": "articles.grouped",
    "indexer": "articles.indexed",
}


def _repeats(pipe: Pipeline, ids: set[str]) -> dict[str, int]:
    """Per stage, how many outputs beyond one per article it wrote for these
    ids: an article processed again after a restart shows here."""
    repeats = {}
    for stage, topic in STAGE_OUTPUT.items():
        counts = pipe.key_counts(topic, ids)
        repeats[stage] = sum(n - 1 for n in counts.values() if n > 1)
    return repeats


def _assert_one_document_each(pipe: Pipeline, source: str, ids: list[str]) -> None:
    """Exactly the sent articles are searchable, each as one document."""
    per_article = pipe.docs_per_article(source)
    assert set(per_article) == set(ids), (
        f"missing {len(set(ids) - set(per_article))}, unexpected {len(set(per_article) - set(ids))}"
    )
    doubled = {aid: n for aid, n in per_article.items() if n != 1}
    assert not doubled, f"articles indexed as more than one document: {doubled}"
    assert pipe.count_docs(source) == len(ids)


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
    repeats = _repeats(running, set(ids))
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
    assert not dead and lost == 0
    # Re-delivery after a kill is expected (it is reported, above), and must
    # not show in the index: still one document per article.
    _assert_one_document_each(running, source, ids)
    # Only the killed stage can have repeated work: cleaning ran throughout.
    assert repeats["cleaning"] == 0, repeats


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
    repeats = _repeats(running, set(ids))
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
    assert not dead and lost == 0
    _assert_one_document_each(running, source, ids)
    # The property of a graceful stop: no article processed twice by any stage
    # (each wrote exactly one output per article across the restart).
    for stage, topic in STAGE_OUTPUT.items():
        counts = running.key_counts(topic, set(ids))
        assert set(counts) == set(ids), (stage, len(set(ids) - set(counts)))
    assert repeats == {stage: 0 for stage in STAGES}, repeats
