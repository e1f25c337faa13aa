"""The operator commands against the real servers and the running pipeline:
``newsflow status``, ``replay``, ``dlq list|show|replay`` and ``reindex``,
each run through the real CLI."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from services.console.stages import STAGES as REGISTRY
from shared.contracts.export import examples
from shared.contracts.models import DeadLetterV1, GroupedArticleV1
from tests.conftest import ES_URL, KAFKA, wait_until
from tests.faults.pipeline import WORKERS, Pipeline, articles

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _indexed_at(pipe: Pipeline, ids: list[str]) -> dict[str, str]:
    pipe.es.indices.refresh(index=f"{pipe.ns}articles")
    found = pipe.es.search(
        index=f"{pipe.ns}articles",
        query={"ids": {"values": ids}},
        size=len(ids),
        source_includes=["indexed_at"],
    )
    return {h["_id"]: h["_source"]["indexed_at"] for h in found["hits"]["hits"]}


# ---------------------------------------------------------------- status
def test_status_reports_every_stage_from_the_broker(running: Pipeline) -> None:
    stop = threading.Event()

    def feed() -> None:  # traffic while status measures its rates
        while not stop.is_set():
            running.send_accepted(articles("status.fault", 10))
            time.sleep(0.3)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        result = running.newsflow("status", "--json", "--interval", "3")
        table = running.newsflow("status", "--partitions")
    finally:
        stop.set()
        feeder.join(30)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {s["name"]: s["ok"] for s in data["servers"]} == {
        "kafka": True,
        "elasticsearch": True,
        "redis": True,
    }
    assert data["rate_window_s"] and data["rate_window_s"] >= 3
    stages = {s["stage"]: s for s in data["stages"]}
    # Every stage of the registry, those this pipeline runs (one worker each)
    # and those it does not (the subscription stages: no member).
    assert set(stages) == set(REGISTRY) and set(WORKERS) <= set(REGISTRY)
    for name, stage in stages.items():
        assert stage["group"] == f"{running.ns}newsflow-{name}"
        assert len(stage["partitions"]) == REGISTRY[name].input.partitions
        assert stage["lag"] == sum(
            p["end"] - max(p["committed"] or p["start"], p["start"]) for p in stage["partitions"]
        )
        if name in WORKERS:
            assert (stage["state"], stage["members"]) == ("Stable", 1), stage
            assert stage["received_per_s"] is not None
        else:
            assert stage["members"] == 0, stage
    assert stages["cleaning"]["received_per_s"] > 0 and stages["cleaning"]["done_per_s"] > 0
    assert stages["cleaning"]["dlq_depth"] == len(running.dead_letters("cleaning"))

    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    for name in WORKERS:
        assert any(
            line.startswith(name) and f"{running.ns}newsflow-{name}" in line for line in lines
        ), table.output
    assert sum("partition " in line for line in lines) == sum(
        spec.input.partitions for spec in REGISTRY.values()
    )
    # The stage table ends with its totals (server tables may follow it).
    rows = [i for i, line in enumerate(lines) if line.split()[:1] in ([n] for n in REGISTRY)]
    total = next(i for i, line in enumerate(lines) if line.startswith("total"))
    assert len(rows) == len(REGISTRY) and max(rows) < total, table.output


# ---------------------------------------------------------------- replay
def test_replay_refuses_while_workers_run_then_reruns_the_stage(running: Pipeline) -> None:
    source = "replay.fault"
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    ids = running.send_accepted(articles(source, 20))
    running.wait_indexed(source, set(ids), timeout=60)
    before = _indexed_at(running, ids)
    older = running.indexed_ids("warmup.fault")
    older_before = _indexed_at(running, older)

    refused = running.newsflow("replay", "indexer", "--from-time", since, "--yes")
    assert refused.exit_code == 2, refused.output
    assert "1 running worker(s)" in refused.output and "stop them first" in refused.output

    running.signal("indexer", signal.SIGTERM)
    assert running.wait_exit("indexer") == 0
    everything = running.newsflow("replay", "indexer", "--from-beginning", "--dry-run")
    assert everything.exit_code == 0, everything.output
    plan_rows = [
        line.split()
        for line in everything.output.splitlines()
        if re.match(r"^\s+\d+\s+(\d+|-)\s+\d+\s+\d+\s+-?\d+$", line)
    ]
    assert len(plan_rows) == 6 and all(row[2] == "0" for row in plan_rows)  # FROM = log start

    dry = running.newsflow("replay", "indexer", "--from-time", since, "--dry-run")
    again = int(re.search(r"(\d+) message\(s\) will be processed again", dry.output)[1])  # type: ignore[index]
    assert again >= len(ids), dry.output
    done = running.newsflow("replay", "indexer", "--from-time", since, "--yes")
    assert done.exit_code == 0 and "done: start the indexer workers" in done.output, done.output
    running.start("indexer")

    wait_until(
        lambda: all(at > before[i] for i, at in _indexed_at(running, ids).items()),
        90,
        "the replayed articles indexed again",
    )
    assert running.count_docs(source) == len(ids)  # overwritten, not duplicated
    assert _indexed_at(running, older) == older_before  # before the time: not replayed


# ---------------------------------------------------------------- dlq
def _letter(ns: str, payload: bytes, reason: str) -> DeadLetterV1:
    return DeadLetterV1.from_bytes(
        stage="indexer",
        reason=reason,
        error_type="IndexingRefused",
        topic=f"{ns}articles.grouped",
        partition=0,
        offset=0,
        key=None,
        value=payload,
    )


def test_dlq_list_show_and_replay_with_each_policy(running: Pipeline, tmp_path: Path) -> None:
    ns, source = running.ns, "dlq.fault"
    # Start from an empty backlog: whatever earlier tests left is dropped, on the record.
    drained = running.newsflow(
        "dlq",
        "replay",
        "indexer",
        "--on-error",
        "drop",
        "--drop-log",
        str(tmp_path / "earlier.jsonl"),
    )
    assert drained.exit_code == 0, drained.output

    template = examples()["articles.grouped"]
    assert isinstance(template, GroupedArticleV1)
    good = [
        template.model_copy(update={"article_id": uuid.uuid4().hex, "source": source})
        for _ in range(4)
    ]
    reason = "Elasticsearch refused the document (400): mapper_parsing_exception (since fixed)"
    records: list[bytes] = [
        _letter(ns, good[0].model_dump_json().encode(), reason).model_dump_json().encode(),
        _letter(ns, good[1].model_dump_json().encode(), reason).model_dump_json().encode(),
        _letter(ns, b'{"article_id": "broken"', "bad JSON").model_dump_json().encode(),
        _letter(ns, good[2].model_dump_json().encode(), reason).model_dump_json().encode(),
        b"this is not a dead letter",
        _letter(ns, good[3].model_dump_json().encode(), reason).model_dump_json().encode(),
    ]
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
    offsets = [
        producer.send(f"{ns}articles.grouped.dlq", value=r, partition=0).get(30).offset
        for r in records
    ]
    producer.close()

    listed = running.newsflow("dlq", "list", "indexer")
    assert listed.exit_code == 0, listed.output
    assert "mapper_parsing_exception" in listed.output and "(not a dead letter)" in listed.output
    shown = running.newsflow("dlq", "show", "indexer", f"0:{offsets[0]}")
    assert shown.exit_code == 0 and reason in shown.output and good[0].article_id in shown.output

    # stop: replays up to the bad letter, and starts there next time.
    first = running.newsflow("dlq", "replay", "indexer", "--on-error", "stop")
    assert first.exit_code == 1 and "2 were replayed" in first.output, first.output
    assert f"stopped: 0:{offsets[2]}" in first.output
    second = running.newsflow("dlq", "replay", "indexer", "--on-error", "stop")
    assert "0 were replayed" in second.output, second.output  # good[0..1] not sent twice
    # dead-letter: the two bad ones go back to the end of the DLQ, the rest is replayed.
    third = running.newsflow("dlq", "replay", "indexer", "--on-error", "dead-letter")
    assert third.exit_code == 0 and "2 were replayed, 2 put back in the DLQ" in third.output, (
        third.output
    )
    # drop: only what was put back is read now; each drop is recorded.
    drop_log = tmp_path / "dropped.jsonl"
    fourth = running.newsflow(
        "dlq", "replay", "indexer", "--on-error", "drop", "--drop-log", str(drop_log)
    )
    assert fourth.exit_code == 0 and "0 were replayed, 0 put back in the DLQ, 2 dropped" in (
        fourth.output
    ), fourth.output
    dropped = [json.loads(line) for line in drop_log.read_text().splitlines()]
    originals = {(0, o) for o in offsets}
    assert len(dropped) == 2
    assert all(
        d["error"] and (d["dlq_partition"], d["dlq_offset"]) not in originals for d in dropped
    )
    letters = [d["letter"] for d in dropped if d["letter"]]
    assert len(letters) == 1 and letters[0]["reason"].startswith("replay refused")
    assert sum(d["raw_base64"] is not None for d in dropped) == 1  # never was a letter

    found = running.wait_indexed(source, {g.article_id for g in good}, timeout=60)
    assert sorted(found) == sorted(g.article_id for g in good)
    status = json.loads(running.newsflow("status", "--json", "--interval", "0").output)
    indexer = next(s for s in status["stages"] if s["stage"] == "indexer")
    assert indexer["dlq_unreplayed"] == 0 and indexer["dlq_depth"] >= len(records) + 2


# ---------------------------------------------------------------- reindex
def test_reindex_builds_the_next_version_and_search_never_stops(running: Pipeline) -> None:
    alias = f"{running.ns}articles"
    es = Elasticsearch(ES_URL, request_timeout=30)
    es.indices.refresh(index=alias)
    old_index = next(iter(es.indices.get_alias(name=alias).body))
    total_before = int(es.count(index=alias)["count"])
    assert total_before > 0
    errors: list[str] = []
    seen: list[int] = []
    stop = threading.Event()

    def search() -> None:  # a reader that must never see the index shrink or fail
        reader = Elasticsearch(ES_URL, request_timeout=10)
        while not stop.is_set():
            try:
                seen.append(int(reader.count(index=alias)["count"]))
            except Exception as exc:
                errors.append(repr(exc))
            time.sleep(0.05)
        reader.close()

    live: list[str] = []

    def write() -> None:  # the indexer keeps writing through the alias meanwhile
        while not stop.is_set():
            live.extend(running.send_accepted(articles("reindex-live.fault", 5)))
            time.sleep(0.2)

    threads = [
        threading.Thread(target=search, daemon=True),
        threading.Thread(target=write, daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        result = running.newsflow("reindex", "--settle-s", "3", "--page-size", "500")
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert result.exit_code == 0, result.output
    new_index = next(iter(es.indices.get_alias(name=alias).body))
    assert new_index != old_index and new_index.startswith(f"{running.ns}articles-v")
    assert f"alias now -> {new_index}" in result.output

    running.wait_indexed("reindex-live.fault", set(live), timeout=90)
    es.indices.refresh(index=[old_index, new_index])
    old_ids = _all_ids(es, old_index)
    new_ids = _all_ids(es, new_index)
    assert old_ids <= new_ids, f"{len(old_ids - new_ids)} documents missing from {new_index}"
    assert set(live) <= new_ids
    assert not errors, errors[:5]
    assert seen and min(seen) >= total_before, (total_before, min(seen))
    mapping = es.indices.get_mapping(index=new_index)[new_index]["mappings"]
    assert mapping["dynamic"] == "strict"  # built from the template
    es.close()


def _all_ids(es: Elasticsearch, index: str) -> set[str]:
    ids: set[str] = set()
    after: list[Any] | None = None
    pit = es.open_point_in_time(index=index, keep_alive="1m")["id"]
    while True:
        page = es.search(
            pit={"id": pit, "keep_alive": "1m"},
            sort=["_shard_doc"],
            size=5000,
            source=False,
            search_after=after,
        )
        hits = page["hits"]["hits"]
        if not hits:
            break
        ids.update(h["_id"] for h in hits)
        after = hits[-1]["sort"]
    es.close_point_in_time(id=pit)
    return ids


# ---------------------------------------------------------------- scaling
def test_a_second_worker_takes_half_the_partitions(running: Pipeline) -> None:
    from services.console.offsets import describe_group, ops_admin
    from tests.conftest import Service, free_port

    group = f"{running.ns}newsflow-entities"
    port = free_port()
    extra = Service(
        "entities-extra",
        ["worker", "entities", "--web-port", str(port)],
        running.env,
        running.log_dir,
    )
    admin = ops_admin([KAFKA])

    def shares() -> list[int]:
        return sorted(len(m.partitions) for m in describe_group(admin, group).members)

    try:
        wait_until(lambda: shares() == [3, 3], 90, "6 partitions spread over 2 workers")
        status = json.loads(running.newsflow("status", "--json", "--interval", "0").output)
        entities = next(s for s in status["stages"] if s["stage"] == "entities")
        assert entities["members"] == 2
        ids = running.send_accepted(articles("scale.fault", 60))
        running.wait_indexed("scale.fault", set(ids), timeout=60)
        taken = running.metric("entities", "newsflow_messages_in_total", stage="entities")
        assert taken > 0
        extra_text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert 'newsflow_messages_in_total{stage="entities"}' in extra_text
    finally:
        assert extra.stop() == 0
        wait_until(lambda: shares() == [6], 60, "the remaining worker takes every partition")
        admin.close()
