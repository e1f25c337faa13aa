"""The cluster part of ``newsflow status``: every Kafka broker (and its place
in the KRaft quorum), every partition's leader and in-sync replicas, every
Elasticsearch node and where the index's shard copies live.

A node that died does not answer for itself, so each list is the union of
what the live nodes report and what the cluster remembers: a Kafka node that
is a quorum voter or holds a replica but is not registered, and an
Elasticsearch node that is in the voting configuration but not among the
nodes, show as DOWN. On the single-node stack the same view shows one broker,
one node and replicas of one.

Pure parsing and rendering here, I/O in :func:`take`; the parsers take the
shapes kafka-python 3.0 (``describe_cluster``, ``describe_metadata_quorum``,
``describe_topics``) and Elasticsearch's ``_cat`` APIs return.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from shared.contracts.topics import TOPICS

# A voter whose last fetch from the quorum leader is older than this is not
# following the quorum any more (Kafka's default fetch timeout is 2 s).
VOTER_STALE_MS = 5_000


# ---------------------------------------------------------------- model
@dataclass(frozen=True)
class Broker:
    """One Kafka node as the cluster sees it."""

    node_id: int
    address: str  # host:port of its broker listener, "?" when not registered
    registered: bool  # in the cluster metadata (alive, heartbeating)
    fenced: bool = False
    quorum: str = "-"  # leader, voter, observer or - (not a controller)
    quorum_lag: int | None = None  # metadata records behind the quorum leader
    last_fetch_ms: int | None = None  # since it last fetched from the leader

    @property
    def state(self) -> str:
        if not self.registered:
            return "DOWN"
        return "FENCED" if self.fenced else "up"


@dataclass(frozen=True)
class PartitionReplicas:
    topic: str
    partition: int
    leader: int | None  # None: no leader, the partition is offline
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    min_isr: int = 1

    @property
    def state(self) -> str:
        """ok; UNDER-REPLICATED (a copy is behind, writes go on); BELOW-MIN-ISR
        (producers with acks=all are refused); OFFLINE (no leader)."""
        if self.leader is None:
            return "OFFLINE"
        if len(self.isr) < self.min_isr:
            return "BELOW-MIN-ISR"
        if len(self.isr) < len(self.replicas):
            return "UNDER-REPLICATED"
        return "ok"


@dataclass(frozen=True)
class EsNode:
    node_id: str
    name: str
    address: str  # http address, "?" when the node is not answering
    roles: str
    master: bool
    heap_percent: int | None
    up: bool = True
    shards: tuple[str, ...] = ()  # copies of the index here: "0P", "0R", ...

    @property
    def state(self) -> str:
        return "up" if self.up else "DOWN"


@dataclass(frozen=True)
class ClusterView:
    brokers: tuple[Broker, ...] = ()
    partitions: tuple[PartitionReplicas, ...] = ()
    es_status: str = "unknown"
    es_nodes: tuple[EsNode, ...] = ()
    unassigned_shards: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default_factory=tuple)

    @property
    def all_up(self) -> bool:
        """Every broker and every Elasticsearch node answers: what
        ``newsflow status`` turns into its exit code (a lost copy with every
        node up, e.g. an index recovering, is shown but is not an outage)."""
        return (
            bool(self.brokers)
            and bool(self.es_nodes)
            and all(b.state == "up" for b in self.brokers)
            and all(n.up for n in self.es_nodes)
        )

    @property
    def healthy(self) -> bool:
        """Every node up, every partition fully in sync, Elasticsearch green."""
        return (
            not self.errors
            and all(b.state == "up" for b in self.brokers)
            and all(p.state == "ok" for p in self.partitions)
            and all(n.up for n in self.es_nodes)
            and self.es_status == "green"
        )


# ---------------------------------------------------------------- parsing (pure)
def _quorum_partition(quorum: Mapping[str, Any] | None) -> Mapping[str, Any]:
    for topic in (quorum or {}).get("topics") or ():
        for part in topic.get("partitions") or ():
            return dict(part)
    return {}


def brokers_from(
    cluster: Mapping[str, Any],
    quorum: Mapping[str, Any] | None,
    replica_ids: Iterable[int] = (),
    now_ms: int | None = None,
) -> tuple[Broker, ...]:
    """Brokers of ``describe_cluster``, their quorum roles from
    ``describe_metadata_quorum``, and as DOWN every voter or replica holder
    the metadata no longer lists."""
    registered = {int(b["broker_id"]): b for b in cluster.get("brokers") or ()}
    part = _quorum_partition(quorum)
    leader = part.get("leader_id")
    leader_end: int | None = None
    roles: dict[int, tuple[str, Mapping[str, Any]]] = {}
    for kind, key in (("voter", "current_voters"), ("observer", "observers")):
        for replica in part.get(key) or ():
            rid = int(replica["replica_id"])
            role = "leader" if rid == leader else kind
            roles[rid] = (role, replica)
            if role == "leader":
                leader_end = replica.get("log_end_offset")
    ids = sorted(set(registered) | set(roles) | {int(r) for r in replica_ids if r >= 0})
    brokers = []
    for nid in ids:
        info = registered.get(nid)
        role, replica = roles.get(nid, ("-", {}))
        end = replica.get("log_end_offset")
        fetched = replica.get("last_fetch_timestamp")
        brokers.append(
            Broker(
                node_id=nid,
                address=f"{info['host']}:{info['port']}" if info else "?",
                registered=info is not None,
                fenced=bool(info and info.get("is_fenced")),
                quorum=role,
                quorum_lag=(
                    max(0, leader_end - end)
                    if isinstance(end, int) and end >= 0 and isinstance(leader_end, int)
                    else None
                ),
                last_fetch_ms=(
                    max(0, now_ms - fetched)
                    if now_ms is not None and isinstance(fetched, int) and fetched > 0
                    else None
                ),
            )
        )
    return tuple(brokers)


def partitions_from(
    topics: Iterable[Mapping[str, Any]], min_isr: Mapping[str, int] | None = None
) -> tuple[PartitionReplicas, ...]:
    """The partitions of ``describe_topics`` (missing topics skipped), sorted."""
    found = []
    for topic in topics:
        if topic.get("error_code"):
            continue
        name = str(topic["name"])
        for p in topic.get("partitions") or ():
            leader = p.get("leader_id")
            found.append(
                PartitionReplicas(
                    name,
                    int(p["partition_index"]),
                    int(leader) if isinstance(leader, int) and leader >= 0 else None,
                    tuple(int(r) for r in p.get("replica_nodes") or ()),
                    tuple(sorted(int(r) for r in p.get("isr_nodes") or ())),
                    (min_isr or {}).get(name, 1),
                )
            )
    return tuple(sorted(found, key=lambda p: (p.topic, p.partition)))


def min_isr_from(described: Mapping[str, Any]) -> dict[str, int]:
    """{topic: min.insync.replicas} of kafka-python's ``describe_configs``
    answer ({"topic": {name: {config: {"value": ...}}}}); topics it lacks or
    cannot read are left out (rendered as 1)."""
    found: dict[str, int] = {}
    for name, configs in (described.get("topic") or {}).items():
        value = _int_or_none(((configs or {}).get("min.insync.replicas") or {}).get("value"))
        if value is not None:
            found[str(name)] = value
    return found


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def es_nodes_from(
    cat_nodes: Iterable[Mapping[str, Any]],
    voting: Iterable[str] = (),
    cat_shards: Iterable[Mapping[str, Any]] = (),
) -> tuple[tuple[EsNode, ...], tuple[str, ...]]:
    """Nodes of ``_cat/nodes`` (with ``full_id``), the voters the cluster
    remembers that are not among them (DOWN), and the index's shard copies of
    ``_cat/shards`` placed on their nodes. Also the unassigned copies."""
    by_name: dict[str, list[str]] = {}
    unassigned = []
    for s in cat_shards:
        copy = f"{s.get('shard')}{'P' if s.get('prirep') == 'p' else 'R'}"
        if s.get("state") == "UNASSIGNED" or not s.get("node"):
            unassigned.append(copy)
        else:
            by_name.setdefault(str(s["node"]), []).append(copy)
    nodes = [
        EsNode(
            node_id=str(n.get("id", "")),
            name=str(n.get("name", "")),
            address=str(n.get("http_address") or n.get("ip") or "?"),
            roles=str(n.get("node.role", "")),
            master=n.get("master") == "*",
            heap_percent=_int_or_none(n.get("heap.percent")),
            shards=tuple(sorted(by_name.get(str(n.get("name", "")), ()))),
        )
        for n in cat_nodes
    ]
    known = {n.node_id for n in nodes}
    nodes.extend(
        EsNode(vid, f"(node {vid[:8]})", "?", "voter", False, None, up=False)
        for vid in voting
        if vid not in known
    )
    return tuple(sorted(nodes, key=lambda n: (not n.up, n.name))), tuple(sorted(unassigned))


# ---------------------------------------------------------------- rendering (pure)
def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in (headers, *rows)) for i in range(len(headers))]
    return [
        "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()
        for cells in (headers, *rows)
    ]


def _ids(ids: Iterable[int]) -> str:
    return ",".join(str(i) for i in ids) or "-"


def render_brokers(brokers: Sequence[Broker]) -> list[str]:
    if not brokers:
        return ["kafka: no broker information"]
    rows = [
        [
            str(b.node_id),
            b.address,
            b.state,
            b.quorum,
            "-" if b.quorum_lag is None else str(b.quorum_lag),
            "-" if b.last_fetch_ms is None else f"{b.last_fetch_ms / 1000:.1f}s",
        ]
        for b in brokers
    ]
    headers = ["BROKER", "ADDRESS", "STATE", "QUORUM", "QUORUM-LAG", "LAST-FETCH"]
    return _table(headers, rows, right={0, 4, 5})


def render_isr(
    partitions: Sequence[PartitionReplicas], namespace: str = "", problems_only: bool = False
) -> list[str]:
    """One row per partition: leader, replicas, in-sync replicas, state.
    ``problems_only`` keeps the rows that are not ok, plus a count of the rest."""
    shown = [p for p in partitions if not problems_only or p.state != "ok"]
    rows = [
        [
            p.topic.removeprefix(namespace),
            str(p.partition),
            "-" if p.leader is None else str(p.leader),
            _ids(p.replicas),
            _ids(p.isr),
            str(p.min_isr),
            p.state,
        ]
        for p in shown
    ]
    lines = (
        _table(["TOPIC", "PART", "LEADER", "REPLICAS", "ISR", "MIN-ISR", "STATE"], rows, {1, 2, 5})
        if rows
        else []
    )
    hidden = len(partitions) - len(shown)
    if hidden and not shown:
        lines.append(f"(all {hidden} partition{'s' * (hidden != 1)} fully in sync)")
    elif hidden:
        lines.append(f"({hidden} more partition{'s' * (hidden != 1)} fully in sync)")
    return lines or ["(no partitions: the namespace's topics do not exist)"]


def render_es(nodes: Sequence[EsNode], status: str, unassigned: Sequence[str] = ()) -> list[str]:
    if not nodes:
        return [f"elasticsearch: {status}, no node information"]
    rows = [
        [
            n.name,
            n.address,
            n.state,
            n.roles,
            "*" if n.master else "",
            "-" if n.heap_percent is None else f"{n.heap_percent}%",
            " ".join(n.shards) or "-",
        ]
        for n in nodes
    ]
    lines = _table(["NODE", "ADDRESS", "STATE", "ROLES", "MASTER", "HEAP", "SHARDS"], rows, {5})
    lines.insert(0, f"elasticsearch cluster {status}")
    if unassigned:
        lines.append(f"unassigned shard copies: {' '.join(unassigned)}")
    return lines


def render(view: ClusterView, namespace: str = "", problems_only: bool = False) -> str:
    """The cluster section of ``newsflow status``."""
    lines = ["kafka brokers", *render_brokers(view.brokers), ""]
    lines += ["partitions", *render_isr(view.partitions, namespace, problems_only), ""]
    lines += render_es(view.es_nodes, view.es_status, view.unassigned_shards)
    lines += [f"! {e}" for e in view.errors]
    return "\n".join(lines)


def as_dict(view: ClusterView) -> dict[str, Any]:
    """The same for ``newsflow status --json``: each object with its state."""
    return {
        "healthy": view.healthy,
        "brokers": [{**asdict(b), "state": b.state} for b in view.brokers],
        "partitions": [{**asdict(p), "state": p.state} for p in view.partitions],
        "elasticsearch": {
            "status": view.es_status,
            "nodes": [{**asdict(n), "state": n.state} for n in view.es_nodes],
            "unassigned_shards": list(view.unassigned_shards),
        },
        "errors": list(view.errors),
    }


# ---------------------------------------------------------------- I/O
def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _min_isr(admin: Any, names: list[str]) -> dict[str, int]:
    from kafka.admin import ConfigResource, ConfigResourceType

    try:
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, n, configs={"min.insync.replicas": None})
            for n in names
        ]
        return min_isr_from(admin.describe_configs(resources, config_filter="all"))
    except Exception:  # an old broker or no permission: the column says 1
        return {}


def collect_kafka(
    admin: Any, namespace: str, now_ms: int
) -> tuple[tuple[Broker, ...], tuple[PartitionReplicas, ...]]:
    names = [t.full_name(namespace) for t in TOPICS]
    parts = partitions_from(admin.describe_topics(names), _min_isr(admin, names))
    try:
        quorum = admin.describe_metadata_quorum()
    except Exception:  # ZooKeeper-era cluster or no permission: no quorum column
        quorum = None
    replica_ids = {r for p in parts for r in p.replicas}
    return brokers_from(admin.describe_cluster(), quorum, replica_ids, now_ms), parts


def collect_es(es_url: str, alias: str) -> tuple[str, tuple[EsNode, ...], tuple[str, ...]]:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(es_url, request_timeout=5, max_retries=0)
    try:
        status = str(es.cluster.health(timeout="2s")["status"])
        cat_nodes = es.cat.nodes(
            format="json", full_id=True, h="id,name,http_address,node.role,master,heap.percent"
        ).body
        state = es.cluster.state(
            metric="metadata", filter_path="metadata.cluster_coordination.last_committed_config"
        ).body
        voting = state.get("metadata", {}).get("cluster_coordination", {})
        shards = (
            es.options(ignore_status=404)
            .cat.shards(index=alias, format="json", h="shard,prirep,state,node")
            .body
        )
        nodes, unassigned = es_nodes_from(
            cat_nodes if isinstance(cat_nodes, list) else [],
            voting.get("last_committed_config", []),
            shards if isinstance(shards, list) else [],
        )
        return status, nodes, unassigned
    finally:
        es.close()


def take(admin: Any | None, es_url: str, namespace: str, alias: str) -> ClusterView:
    """One look at both clusters; what cannot be read is named in ``errors``.
    ``admin`` is the caller's kafka-python admin client (None: Kafka unreachable)."""
    errors: list[str] = []
    brokers: tuple[Broker, ...] = ()
    parts: tuple[PartitionReplicas, ...] = ()
    if admin is None:
        errors.append("kafka unreachable")
    else:
        try:
            brokers, parts = collect_kafka(admin, namespace, int(time.time() * 1000))
        except Exception as exc:  # any failure is the answer here
            errors.append(f"kafka: {_short(exc)}")
    status = "unreachable"
    nodes: tuple[EsNode, ...] = ()
    unassigned: tuple[str, ...] = ()
    try:
        status, nodes, unassigned = collect_es(es_url, alias)
    except Exception as exc:
        errors.append(f"elasticsearch: {_short(exc)}")
    return ClusterView(brokers, parts, status, nodes, unassigned, tuple(errors))
