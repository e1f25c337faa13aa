"""The cluster view of `newsflow status` (services/console/cluster_health.py)
from the shapes kafka-python and Elasticsearch answer with, and the topic
settings of a replicated deployment (shared/runtime/kafka_admin.py,
CommonSettings). No server: the answers are written out here."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from services.console.cluster_health import (
    Broker,
    ClusterView,
    EsNode,
    PartitionReplicas,
    as_dict,
    brokers_from,
    es_nodes_from,
    min_isr_from,
    partitions_from,
    render,
    render_brokers,
    render_es,
    render_isr,
)
from shared.contracts.topics import RAW, RAW_DLQ
from shared.runtime.kafka_admin import create_topics, topic_configs
from shared.runtime.settings import CommonSettings

NOW = 1_800_000_000_000


def cluster(*ids: int, fenced: tuple[int, ...] = ()) -> dict[str, Any]:
    return {
        "brokers": [
            {"broker_id": i, "host": "127.0.0.1", "port": 19091 + i, "is_fenced": i in fenced}
            for i in ids
        ],
        "controller_id": ids[0] if ids else -1,
    }


def quorum(leader: int, ends: dict[int, int], fetched: dict[int, int]) -> dict[str, Any]:
    return {
        "topics": [
            {
                "topic_name": "__cluster_metadata",
                "partitions": [
                    {
                        "leader_id": leader,
                        "current_voters": [
                            {
                                "replica_id": i,
                                "log_end_offset": end,
                                "last_fetch_timestamp": fetched[i],
                            }
                            for i, end in ends.items()
                        ],
                        "observers": [],
                    }
                ],
            }
        ]
    }


# ---------------------------------------------------------------- brokers
def test_three_live_brokers_with_their_quorum_roles() -> None:
    brokers = brokers_from(
        cluster(1, 2, 3),
        quorum(2, {1: 500, 2: 500, 3: 480}, {1: NOW - 100, 2: NOW, 3: NOW - 300}),
        now_ms=NOW,
    )
    assert [(b.node_id, b.state, b.quorum) for b in brokers] == [
        (1, "up", "voter"),
        (2, "up", "leader"),
        (3, "up", "voter"),
    ]
    assert [b.quorum_lag for b in brokers] == [0, 0, 20]
    assert [b.last_fetch_ms for b in brokers] == [100, 0, 300]
    assert brokers[0].address == "127.0.0.1:19092"


def test_a_killed_broker_still_shows_as_down_through_the_quorum() -> None:
    """After kill -9 the metadata no longer lists node 3; the quorum still
    counts it as a voter, so status must not silently show two brokers."""
    brokers = brokers_from(
        cluster(1, 2),
        quorum(1, {1: 900, 2: 900, 3: 640}, {1: NOW, 2: NOW - 50, 3: NOW - 42_000}),
        now_ms=NOW,
    )
    down = brokers[2]
    assert (down.node_id, down.state, down.address, down.quorum) == (3, "DOWN", "?", "voter")
    assert down.quorum_lag == 260
    assert down.last_fetch_ms == 42_000
    assert "DOWN" in "\n".join(render_brokers(brokers))


def test_replica_holders_the_metadata_forgot_are_down_and_no_leader_ids_ignored() -> None:
    brokers = brokers_from(cluster(1), None, replica_ids=[1, 4, -1])
    assert [(b.node_id, b.state, b.quorum) for b in brokers] == [(1, "up", "-"), (4, "DOWN", "-")]


def test_fenced_broker_and_quorum_without_partitions() -> None:
    brokers = brokers_from(cluster(1, 2, fenced=(2,)), {"topics": [{"partitions": []}]})
    assert [b.state for b in brokers] == ["up", "FENCED"]
    assert all(b.quorum_lag is None and b.last_fetch_ms is None for b in brokers)


def test_no_broker_information_renders_a_sentence() -> None:
    assert render_brokers(()) == ["kafka: no broker information"]


# ---------------------------------------------------------------- partitions
def describe(name: str, *parts: tuple[int, int, list[int], list[int]]) -> dict[str, Any]:
    return {
        "name": name,
        "error_code": 0,
        "partitions": [
            {"partition_index": i, "leader_id": leader, "replica_nodes": reps, "isr_nodes": isr}
            for i, leader, reps, isr in parts
        ],
    }


def test_partition_states_from_leader_and_isr() -> None:
    parts = partitions_from(
        [
            describe(
                "ns-articles.raw",
                (3, -1, [1, 2, 3], []),
                (0, 1, [1, 2, 3], [3, 1, 2]),
                (1, 2, [2, 3, 1], [2, 1]),
                (2, 3, [3, 1, 2], [3]),
            ),
            {"name": "ns-articles.clean", "error_code": 3, "partitions": []},
        ],
        {"ns-articles.raw": 2},
    )
    assert [(p.partition, p.leader, p.isr, p.state) for p in parts] == [
        (0, 1, (1, 2, 3), "ok"),
        (1, 2, (1, 2), "UNDER-REPLICATED"),
        (2, 3, (3,), "BELOW-MIN-ISR"),
        (3, None, (), "OFFLINE"),
    ]


def test_single_node_partitions_are_ok_with_one_replica() -> None:
    (part,) = partitions_from([describe("articles.raw", (0, 1, [1], [1]))])
    assert (part.min_isr, part.state) == (1, "ok")


def test_isr_table_lists_every_partition_or_only_the_problems() -> None:
    parts = partitions_from(
        [describe("ns-articles.raw", (0, 1, [1, 2, 3], [1, 2, 3]), (1, 2, [2, 3, 1], [1, 2]))],
        {"ns-articles.raw": 2},
    )
    full = render_isr(parts, "ns-")
    assert full[0].split() == ["TOPIC", "PART", "LEADER", "REPLICAS", "ISR", "MIN-ISR", "STATE"]
    assert full[1].split() == ["articles.raw", "0", "1", "1,2,3", "1,2,3", "2", "ok"]
    assert full[2].split() == ["articles.raw", "1", "2", "2,3,1", "1,2", "2", "UNDER-REPLICATED"]
    short = render_isr(parts, "ns-", problems_only=True)
    assert len(short) == 3 and "UNDER-REPLICATED" in short[1]
    assert short[2] == "(1 more partition fully in sync)"
    assert render_isr((), "ns-") == ["(no partitions: the namespace's topics do not exist)"]
    assert render_isr(parts[:1], "ns-", problems_only=True) == ["(all 1 partition fully in sync)"]


def test_min_isr_from_describe_configs() -> None:
    answer = {
        "topic": {
            "a": {"min.insync.replicas": {"value": "2"}},
            "b": {},
            "c": {"min.insync.replicas": {"value": "not a number"}},
            "d": None,
        }
    }
    assert min_isr_from(answer) == {"a": 2}
    assert min_isr_from({}) == {}


# ---------------------------------------------------------------- elasticsearch
def test_es_nodes_with_master_shards_and_a_dead_voter() -> None:
    nodes, unassigned = es_nodes_from(
        [
            {
                "id": "AAA",
                "name": "es-1",
                "http_address": "127.0.0.1:19200",
                "node.role": "cdfhilmrstw",
                "master": "-",
                "heap.percent": "21",
            },
            {"id": "BBB", "name": "es-2", "master": "*", "heap.percent": None},
        ],
        voting=["AAA", "BBB", "CCCCCCCCCCCC"],
        cat_shards=[
            {"shard": "0", "prirep": "p", "state": "STARTED", "node": "es-2"},
            {"shard": "0", "prirep": "r", "state": "UNASSIGNED", "node": None},
        ],
    )
    assert [(n.name, n.state, n.master, n.shards) for n in nodes] == [
        ("es-1", "up", False, ()),
        ("es-2", "up", True, ("0P",)),
        ("(node CCCCCCCC)", "DOWN", False, ()),
    ]
    assert nodes[1].heap_percent is None and nodes[1].address == "?"
    assert unassigned == ("0R",)
    lines = render_es(nodes, "yellow", unassigned)
    assert lines[0] == "elasticsearch cluster yellow"
    assert lines[-1] == "unassigned shard copies: 0R"
    assert any("DOWN" in line for line in lines)


def test_es_unreachable_renders_a_sentence() -> None:
    assert render_es((), "unreachable") == ["elasticsearch: unreachable, no node information"]


# ---------------------------------------------------------------- the whole view
def healthy_view() -> ClusterView:
    return ClusterView(
        brokers=(Broker(1, "127.0.0.1:19092", True, quorum="leader"),),
        partitions=(PartitionReplicas("articles.raw", 0, 1, (1,), (1,)),),
        es_status="green",
        es_nodes=(EsNode("A", "es-1", "127.0.0.1:19200", "dm", True, 10, shards=("0P",)),),
    )


def test_view_is_healthy_only_when_everything_is() -> None:
    view = healthy_view()
    assert view.healthy
    degraded = [
        ClusterView(view.brokers, view.partitions, "yellow", view.es_nodes),
        ClusterView(
            (*view.brokers, Broker(2, "?", False)), view.partitions, "green", view.es_nodes
        ),
        ClusterView(view.brokers, view.partitions, "green", view.es_nodes, errors=("kafka: x",)),
        ClusterView(
            view.brokers,
            (PartitionReplicas("articles.raw", 0, None, (1,), ()),),
            "green",
            view.es_nodes,
        ),
    ]
    assert not any(v.healthy for v in degraded)


def test_all_up_is_about_nodes_not_copies() -> None:
    """The exit code of `newsflow status`: a yellow index or a copy catching
    up with every node answering is no outage; a dead node is; no information
    at all is not 'up' either."""
    view = healthy_view()
    yellow = ClusterView(view.brokers, view.partitions, "yellow", view.es_nodes)
    assert yellow.all_up and not yellow.healthy
    fenced = ClusterView(
        (*view.brokers, Broker(2, "127.0.0.1:19093", True, fenced=True)),
        view.partitions,
        "green",
        view.es_nodes,
    )
    assert not fenced.all_up
    es_down = ClusterView(
        view.brokers,
        view.partitions,
        "yellow",
        (*view.es_nodes, EsNode("B", "(node B)", "?", "voter", False, None, up=False)),
    )
    assert not es_down.all_up
    assert not ClusterView().all_up


def test_render_and_json_carry_every_section() -> None:
    view = ClusterView(
        brokers=(Broker(1, "127.0.0.1:19092", True, quorum="leader"), Broker(2, "?", False)),
        partitions=(PartitionReplicas("ns-articles.raw", 0, 1, (1, 2), (1,), 1),),
        es_status="yellow",
        es_nodes=(EsNode("A", "es-1", "127.0.0.1:19200", "dm", True, 10),),
        errors=("elasticsearch: slow",),
    )
    text = render(view, "ns-")
    assert "kafka brokers" in text and "partitions" in text and "elasticsearch cluster" in text
    assert "! elasticsearch: slow" in text
    data = json.loads(json.dumps(as_dict(view)))
    assert data["healthy"] is False
    assert [b["state"] for b in data["brokers"]] == ["up", "DOWN"]
    assert data["partitions"][0]["state"] == "UNDER-REPLICATED"
    assert data["elasticsearch"]["nodes"][0]["master"] is True


def test_hostile_names_do_not_break_the_table() -> None:
    """Topic and node names come from the servers: a very long or odd name
    widens its column, it does not raise or misalign the other rows."""
    weird = "x" * 300 + "\t\u202e"
    parts = partitions_from([describe(weird, (0, 1, [1], [1]))])
    lines = render_isr(parts)
    assert len(lines) == 2 and lines[1].startswith(weird)
    nodes, _ = es_nodes_from([{"id": "1", "name": weird}])
    assert weird in render_es(nodes, "green")[2]


# ---------------------------------------------------------------- topic settings
def test_topic_configs_add_min_insync_only_when_above_one() -> None:
    assert "min.insync.replicas" not in topic_configs(RAW, 1)
    assert topic_configs(RAW, 2) == {"min.insync.replicas": "2"}
    # The registry's own configs (the DLQ's month of retention) are kept.
    dlq = topic_configs(RAW_DLQ, 2)
    assert (
        dlq["min.insync.replicas"] == "2" and dlq["retention.ms"] == RAW_DLQ.config["retention.ms"]
    )
    assert "min.insync.replicas" not in RAW_DLQ.config  # the registry is not mutated


@pytest.mark.parametrize(("rf", "min_isr"), [(1, 2), (3, 4), (3, 0)])
def test_create_topics_refuses_an_impossible_min_insync(rf: int, min_isr: int) -> None:
    with pytest.raises(ValueError, match="min_insync_replicas"):
        create_topics(object(), "ns-", replication_factor=rf, min_insync_replicas=min_isr)


def test_settings_default_to_single_node_and_refuse_min_isr_above_rf(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "NEWSFLOW_TOPIC_REPLICATION_FACTOR",
        "NEWSFLOW_TOPIC_MIN_INSYNC_REPLICAS",
        "NEWSFLOW_INDEX_REPLICAS",
    ):
        monkeypatch.delenv(name, raising=False)
    default = CommonSettings(_env_file=None)
    assert (default.topic_replication_factor, default.topic_min_insync_replicas) == (1, 1)
    assert default.index_replicas == 0
    monkeypatch.setenv("NEWSFLOW_TOPIC_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("NEWSFLOW_TOPIC_MIN_INSYNC_REPLICAS", "2")
    monkeypatch.setenv("NEWSFLOW_INDEX_REPLICAS", "1")
    cluster_settings = CommonSettings(_env_file=None)
    assert (cluster_settings.topic_replication_factor, cluster_settings.index_replicas) == (3, 1)
    monkeypatch.setenv("NEWSFLOW_TOPIC_MIN_INSYNC_REPLICAS", "4")
    with pytest.raises(ValidationError, match="MIN_INSYNC"):
        CommonSettings(_env_file=None)
