"""Faults on the three-node profile, under a steady load of articles: one
Kafka broker killed with SIGKILL, then the active KRaft controller, then the
elected Elasticsearch master (holding the index's primary); each brought back
afterwards and seen to rejoin.

What must hold, with replication factor 3, min.insync.replicas 2, acks=all
and an index replica: every article accepted with a 202 becomes searchable
(nothing lost), no article has two search documents, the partition leaders
(or the controller, or the master and the primary) move to the survivors,
ingestion and indexing go on while the node is down, search keeps answering,
and the node, started again on its data, rejoins (back in every ISR; back in
the Elasticsearch cluster, which turns green). Each test reports sent /
accepted / indexed / lost / duplicated and how long the pipeline stalled
(tests/artifacts/cluster-faults.md); stalls are figures, never assertions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from services.console.cluster_health import ClusterView, render, take
from shared.contracts.index import index_name
from tests.cluster.harness import (
    ES_NODES,
    ClusterPipeline,
    FaultResult,
    Load,
    SearchProbe,
    es_client,
    es_master,
    kafka_admin,
    measure,
    node_killed,
    partitions,
    poll_until,
    quorum_leader,
)

pytestmark = [pytest.mark.cluster, pytest.mark.integration, pytest.mark.slow]

WARM_S = 5  # load before the fault
DOWN_S = 15  # load while the node is down, counted from the kill
BATCH, EVERY_S = 2, 0.5  # 4 articles/s: what this two-core machine drains as it comes


def _status(pipe: ClusterPipeline, artifacts: Path, name: str) -> ClusterView:
    """`newsflow status`'s cluster section now, also kept as an artifact."""
    admin = kafka_admin()
    try:
        view = take(admin, ES_NODES[pipe.es_entry], pipe.ns, pipe.alias)
    finally:
        admin.close()
    text = render(view, pipe.ns, problems_only=True)
    (artifacts / f"cluster-status-{name.replace(' ', '-')}.txt").write_text(text + "\n")
    return view


def _assert_status_shows_dead_broker(view: ClusterView, victim: int) -> None:
    """The dead broker is not 'up' (FENCED: registered but not heartbeating,
    or DOWN: gone from the metadata), the copies it held are missing from
    their ISRs, and no partition fell below its min.insync.replicas."""
    states = {b.node_id: b.state for b in view.brokers}
    assert states[victim] in ("FENCED", "DOWN"), render(view)
    assert all(s == "up" for n, s in states.items() if n != victim), render(view)
    assert any(p.state == "UNDER-REPLICATED" for p in view.partitions), render(view)
    assert all(p.state in ("ok", "UNDER-REPLICATED") for p in view.partitions), render(view)


def test_replicated_and_visible(pipe: ClusterPipeline, artifacts_dir: Path) -> None:
    """Before any fault: three brokers in the quorum, three Elasticsearch
    nodes, every partition on three nodes and in sync, the index green."""
    admin = kafka_admin()
    try:
        view = take(admin, ES_NODES[pipe.es_entry], pipe.ns, pipe.alias)
    finally:
        admin.close()
    (artifacts_dir / "cluster-status-healthy.txt").write_text(render(view, pipe.ns) + "\n")
    assert [(b.node_id, b.state) for b in view.brokers] == [(1, "up"), (2, "up"), (3, "up")]
    assert sorted(b.quorum for b in view.brokers) == ["leader", "voter", "voter"]
    assert view.partitions and all(
        len(p.replicas) == 3 and len(p.isr) == 3 and p.min_isr == 2 for p in view.partitions
    ), view.partitions
    assert [n.state for n in view.es_nodes] == ["up", "up", "up"]
    assert sorted(c for n in view.es_nodes for c in n.shards) == ["0P", "0R"]
    assert view.healthy, render(view, pipe.ns)


def _kill_broker(
    pipe: ClusterPipeline,
    results: list[FaultResult],
    artifacts: Path,
    victim: int,
    name: str,
    after_kill: Callable[[], dict[str, str]] = dict,
) -> tuple[FaultResult, Load, float, ClusterView]:
    """Kill -9 broker `victim` under load, measure, start it again and wait
    until it is back in every ISR. `after_kill` runs right after the kill and
    returns figures for the report. Returns the counts, the load, when the
    kill happened, and the status the operator saw while it was down."""
    ns = pipe.ns
    led = sum(1 for p in partitions(ns) if p["leader"] == victim)
    load = Load(pipe, f"{name.replace(' ', '-')}.cluster", BATCH, EVERY_S).start()
    try:
        time.sleep(WARM_S)
        with node_killed(f"kafka-{victim}") as restart:
            killed = time.monotonic()
            figures = after_kill()
            moved_s = poll_until(
                lambda: all(p["leader"] not in (victim, -1) for p in partitions(ns)),
                90,
                f"partition leaders moved off broker {victim}",
            )
            poll_until(
                lambda: any(p["isr"] and victim not in p["isr"] for p in partitions(ns)),
                60,
                f"broker {victim} out of the ISRs",
            )
            seen = _status(pipe, artifacts, name)
            time.sleep(max(0.0, DOWN_S - (time.monotonic() - killed)))
            load.stop()
            result = measure(pipe, load, name)
            rejoin_s = restart()
            poll_until(
                lambda: all(victim in p["isr"] for p in partitions(ns)),
                180,
                f"broker {victim} back in every ISR",
                every=1,
            )
    finally:
        load.halt()
    result.extra.update(
        {
            **figures,
            "partitions led": str(led),
            "leaders moved in": f"{moved_s:.1f} s",
            "restart": f"{rejoin_s:.0f} s, then back in every ISR",
        }
    )
    results.append(result)
    print(result.line())
    return result, load, killed, seen


def _assert_nothing_lost(result: FaultResult, load: Load, killed: float) -> None:
    assert result.lost == 0, result.line()
    assert result.dup_docs == 0, result.line()
    # Ingestion went on while the node was down: articles accepted after the
    # kill, and all of them searchable (nothing lost above covers them).
    assert sum(1 for t in load.accepted.values() if t > killed + 1) > 0, load.answers


def test_kill_one_broker(
    pipe: ClusterPipeline, fault_results: list[FaultResult], artifacts_dir: Path
) -> None:
    """A broker that is not the active controller; its partition leaders move."""
    leader = quorum_leader()
    victim = next(n for n in (3, 2, 1) if n != leader)
    result, load, killed, seen = _kill_broker(
        pipe, fault_results, artifacts_dir, victim, "kill -9 broker"
    )
    _assert_nothing_lost(result, load, killed)
    _assert_status_shows_dead_broker(seen, victim)


def test_kill_controller_leader(
    pipe: ClusterPipeline, fault_results: list[FaultResult], artifacts_dir: Path
) -> None:
    """The active controller (the metadata quorum's leader, also a broker here):
    the two other voters elect a new one; its partition leaders move too."""
    victim = quorum_leader()

    def election() -> dict[str, str]:
        seen: dict[str, int] = {}

        def moved() -> bool:
            seen["leader"] = quorum_leader()
            return seen["leader"] not in (victim, -1)

        took = poll_until(moved, 60, "a new quorum leader")
        return {"new controller": f"node {seen['leader']} in {took:.1f} s"}

    result, load, killed, seen = _kill_broker(
        pipe, fault_results, artifacts_dir, victim, "kill -9 controller leader", election
    )
    _assert_nothing_lost(result, load, killed)
    _assert_status_shows_dead_broker(seen, victim)
    assert [b.quorum for b in seen.brokers].count("leader") == 1, render(seen)
    assert next(b.quorum for b in seen.brokers if b.node_id == victim) == "voter"


def _primary_of(es: Elasticsearch, index: str) -> str:
    """The node name holding the index's started primary ("" while none is)."""
    rows: list[dict[str, str]] = es.cat.shards(  # type: ignore[assignment]
        index=index, format="json", h="prirep,node,state"
    ).body
    return next((r["node"] for r in rows if r["prirep"] == "p" and r["state"] == "STARTED"), "")


def _node_names(es: Elasticsearch) -> set[str]:
    rows: list[dict[str, str]] = es.cat.nodes(format="json", h="name").body  # type: ignore[assignment]
    return {r["name"] for r in rows}


def _primary_on(es: Elasticsearch, index: str, node: int) -> None:
    """Put the index's primary on `node`: drop the replica, move the primary
    there, add the replica back, wait for green. The pipeline is idle now."""
    name = f"newsflow-es-{node}"
    if _primary_of(es, index) != name:
        es.indices.put_settings(index=index, settings={"index.number_of_replicas": 0})
        es.cluster.health(index=index, wait_for_status="green", timeout="60s")
        move = {"index": index, "shard": 0, "from_node": _primary_of(es, index), "to_node": name}
        es.cluster.reroute(commands=[{"move": move}], metric="none")
        poll_until(lambda: _primary_of(es, index) == name, 120, f"primary on {name}", every=0.5)
        es.indices.put_settings(index=index, settings={"index.number_of_replicas": 1})
    es.cluster.health(index=index, wait_for_status="green", timeout="120s")


def test_kill_es_master_holding_the_primary(
    pipe: ClusterPipeline, fault_results: list[FaultResult], artifacts_dir: Path
) -> None:
    """The elected master, which also holds the index's primary: a new master
    is elected, the replica is promoted, indexing resumes, search answers
    throughout (through a surviving node), and the node rejoins."""
    es = es_client()
    index = index_name(pipe.ns)
    master = es_master(es)
    assert master != pipe.es_entry, "the services' node became master; rerun"
    _primary_on(es, index, master)
    pipe.start_search()
    probe = SearchProbe(f"http://127.0.0.1:{pipe.search_port}").start()
    load = Load(pipe, "kill-es-master.cluster", BATCH, EVERY_S).start()
    try:
        time.sleep(WARM_S)
        with node_killed(f"es-{master}") as restart:
            killed = time.monotonic()
            quick = es.options(request_timeout=5)
            elected_s = poll_until(
                lambda: es_master(quick) != master, 120, "a new master", every=0.5
            )
            victim = f"newsflow-es-{master}"
            # Promoted: the new master has dropped the dead node and made the
            # replica on a survivor the primary.
            promoted_s = poll_until(
                lambda: (
                    victim not in _node_names(quick)
                    and _primary_of(quick, index) not in ("", victim)
                ),
                120,
                "the replica promoted",
                every=0.5,
            )
            seen = _status(pipe, artifacts_dir, "kill-es-master")
            time.sleep(max(0.0, DOWN_S - (time.monotonic() - killed)))
            load.stop()
            result = measure(pipe, load, "kill -9 ES master + primary")
            probe.stop()
            during = probe.between(killed, time.monotonic())
            rejoin_s = restart()
            poll_until(
                lambda: es.cluster.health(index=index)["status"] == "green",
                240,
                "the restarted node's copy recovered (green)",
                every=1,
            )
    finally:
        load.halt()
        probe.stop()
        pipe.services.pop("search").stop()
    es.close()
    result.extra.update(
        {
            "new master in": f"{elected_s:.1f} s",
            "primary promoted in": f"{promoted_s:.1f} s",
            "searches while down": f"{sum(c == 200 for c in during)}/{len(during)} answered",
            "longest search failure": f"{probe.longest_failure():.1f} s",
            "restart": f"{rejoin_s:.0f} s, then green",
        }
    )
    fault_results.append(result)
    print(result.line())

    assert result.lost == 0 and result.dup_docs == 0, result.line()
    # Indexing resumed: articles accepted after the kill are searchable.
    after = [a for a, t in load.accepted.items() if t > killed + 1]
    assert after and set(after) <= set(pipe.indexed_ids(load.source))
    # Search kept answering: every query while the node was down got results
    # (the coordinating node retries a shard copy that vanished on another).
    assert during and set(during) == {200}, during
    assert [n.state for n in seen.es_nodes].count("DOWN") == 1, render(seen)
    assert sum(n.master for n in seen.es_nodes) == 1, render(seen)
