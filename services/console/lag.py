"""``newsflow status``: one table per stage from the broker itself, plus the
health of the three servers.

Per stage: its consumer group, the group's state and members, the lag on its
input topic (per partition with ``--partitions``, and in total), how many
messages per second the stage finished (``DONE/S``, from its committed
offsets) and received (``IN/S``, from the log-end offsets of its input), and
its dead letters (``DLQ``: kept in the ``.dlq`` topic; ``UNREPLAYED``: not yet
read by ``newsflow dlq replay``).

Rates: every ``status`` run records a sample of the offsets in Redis (a short
list under ``{namespace}ops:status-samples``, kept ten minutes), and reports
the rate since the oldest sample of the last minute. Whoever looked last
helps the next look, and ``--watch`` converges on a true one-minute rate.
When no sample is at least a few seconds old (first look, or Redis down), it
takes a second reading ``--interval`` seconds later and reports the rate over
that interval; the header always says over how long.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.console.cluster_health import ClusterView
from services.console.cluster_health import take as take_cluster
from services.console.stages import STAGES, StageSpec

RATE_WINDOW_S = 60.0
# A baseline younger than this gives a rate mostly made of noise.
MIN_BASELINE_AGE_S = 5.0
SAMPLES_KEPT = 200
SAMPLES_TTL_S = 600


# ---------------------------------------------------------------- pure model
@dataclass(frozen=True)
class PartitionLag:
    """One partition of a stage's input: where the group is, where the log is."""

    topic: str
    partition: int
    committed: int | None  # None: the group never committed here
    start: int  # first offset still in the log
    end: int  # next offset to be written

    @property
    def position(self) -> int:
        """Where the group resumes: its commit, else the log start (the stages
        read from the earliest offset when they have none)."""
        if self.committed is None:
            return self.start
        return max(self.committed, self.start)

    @property
    def lag(self) -> int:
        return max(0, self.end - self.position)


@dataclass(frozen=True)
class StageStatus:
    stage: str
    group: str
    state: str
    members: int
    input_topic: str
    partitions: tuple[PartitionLag, ...]
    dlq_topic: str
    dlq_depth: int  # dead letters kept in the DLQ topic
    dlq_unreplayed: int  # of those, not yet read by `newsflow dlq replay`

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def done(self) -> int:
        """Messages the group has finished (committed), over all partitions."""
        return sum(p.position for p in self.partitions)

    @property
    def received(self) -> int:
        """Messages ever written to the input, over all partitions."""
        return sum(p.end for p in self.partitions)


@dataclass(frozen=True)
class ServerHealth:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Sample:
    """Offsets of every stage at one moment: {stage: (done, received)}."""

    at: float
    counters: dict[str, tuple[int, int]]

    def to_json(self) -> str:
        return json.dumps({"at": self.at, "counters": self.counters})

    @classmethod
    def from_json(cls, raw: str | bytes) -> Sample:
        data = json.loads(raw)
        return cls(
            float(data["at"]), {k: (int(v[0]), int(v[1])) for k, v in data["counters"].items()}
        )


@dataclass(frozen=True)
class Rates:
    """Messages per second over `window_s`; None where the counters went
    backwards (a replay reset the offsets) or the stage is new."""

    window_s: float | None
    done: dict[str, float | None] = field(default_factory=dict)
    received: dict[str, float | None] = field(default_factory=dict)


def sample_of(stages: Sequence[StageStatus], at: float) -> Sample:
    return Sample(at, {s.stage: (s.done, s.received) for s in stages})


def pick_baseline(
    samples: Sequence[Sample],
    now: float,
    window_s: float = RATE_WINDOW_S,
    min_age_s: float = MIN_BASELINE_AGE_S,
) -> Sample | None:
    """The oldest sample within the window that is old enough to measure
    against; None when there is none."""
    usable = [s for s in samples if now - window_s <= s.at <= now - min_age_s]
    return min(usable, key=lambda s: s.at) if usable else None


def rates_between(baseline: Sample | None, current: Sample) -> Rates:
    if baseline is None or current.at <= baseline.at:
        return Rates(None)
    span = current.at - baseline.at
    done: dict[str, float | None] = {}
    received: dict[str, float | None] = {}
    for stage, (now_done, now_received) in current.counters.items():
        before = baseline.counters.get(stage)
        if before is None:
            done[stage] = received[stage] = None
            continue
        d_done, d_received = now_done - before[0], now_received - before[1]
        done[stage] = d_done / span if d_done >= 0 else None
        received[stage] = d_received / span if d_received >= 0 else None
    return Rates(span, done, received)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        out = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def render(
    stages: Sequence[StageStatus],
    health: Sequence[ServerHealth],
    rates: Rates,
    namespace: str,
    now: datetime,
    partitions: bool = False,
) -> str:
    """The status as an operator reads it, a fixed-width table."""
    window = f"rates over the last {rates.window_s:.0f} s" if rates.window_s else "no rates yet"
    lines = [
        f"Newsflow status · namespace {namespace or '(none)'} · "
        f"{now:%Y-%m-%d %H:%M:%S} UTC · {window}",
        "servers: "
        + " · ".join(
            f"{h.name} {'ok' if h.ok else 'DOWN'}" + (f" ({h.detail})" if h.detail else "")
            for h in health
        ),
        "",
    ]
    if not stages:
        lines.append("(no stage information: Kafka unreachable)")
        return "\n".join(lines)
    headers = [
        "STAGE",
        "GROUP",
        "STATE",
        "MEMBERS",
        "INPUT",
        "LAG",
        "DONE/S",
        "IN/S",
        "DLQ",
        "UNREPLAYED",
    ]
    rows: list[list[str]] = []
    for s in stages:
        rows.append(
            [
                s.stage,
                s.group,
                s.state,
                str(s.members),
                s.input_topic.removeprefix(namespace),
                str(s.lag),
                _rate(rates.done.get(s.stage)),
                _rate(rates.received.get(s.stage)),
                str(s.dlq_depth),
                str(s.dlq_unreplayed),
            ]
        )
        if partitions:
            for p in s.partitions:
                committed = "-" if p.committed is None else str(p.committed)
                rows.append(
                    [
                        "",
                        f"  partition {p.partition}",
                        "",
                        "",
                        f"at {committed} of {p.end}",
                        str(p.lag),
                        "",
                        "",
                        "",
                        "",
                    ]
                )
    rows.append(
        [
            "total",
            "",
            "",
            str(sum(s.members for s in stages)),
            "",
            str(sum(s.lag for s in stages)),
            "",
            "",
            str(sum(s.dlq_depth for s in stages)),
            str(sum(s.dlq_unreplayed for s in stages)),
        ]
    )
    lines.extend(_table(headers, rows, right={3, 5, 6, 7, 8, 9}))
    return "\n".join(lines)


def as_json(
    stages: Sequence[StageStatus],
    health: Sequence[ServerHealth],
    rates: Rates,
    namespace: str,
    now: datetime,
) -> str:
    """The same, for machines."""
    return json.dumps(
        {
            "namespace": namespace,
            "at": now.isoformat(),
            "rate_window_s": rates.window_s,
            "servers": [asdict(h) for h in health],
            "stages": [
                {
                    **{k: v for k, v in asdict(s).items() if k != "partitions"},
                    "lag": s.lag,
                    "done_per_s": rates.done.get(s.stage),
                    "received_per_s": rates.received.get(s.stage),
                    "partitions": [{**asdict(p), "lag": p.lag} for p in s.partitions],
                }
                for s in stages
            ],
        },
        indent=2,
    )


# ---------------------------------------------------------------- I/O
def collect_stage(admin: Any, spec: StageSpec, namespace: str) -> StageStatus:
    """One stage's status, straight from the broker."""
    from services.console.offsets import (
        committed_offsets,
        describe_group,
        log_bounds,
        partitions_of,
    )

    group = spec.group(namespace)
    info = describe_group(admin, group)
    topic, dlq = spec.input_topic(namespace), spec.dlq_topic(namespace)
    tps = partitions_of(admin, [topic, dlq])
    start, end = log_bounds(admin, tps)
    committed = committed_offsets(admin, group)
    parts = tuple(
        PartitionLag(tp.topic, tp.partition, committed.get(tp), start[tp], end[tp])
        for tp in tps
        if tp.topic == topic
    )
    dlq_tps = [tp for tp in tps if tp.topic == dlq]
    replayed = committed_offsets(admin, spec.replay_group(namespace))
    depth = sum(end[tp] - start[tp] for tp in dlq_tps)
    unreplayed = sum(end[tp] - max(start[tp], replayed.get(tp, 0)) for tp in dlq_tps)
    return StageStatus(
        spec.name,
        group,
        info.state,
        len(info.members),
        topic,
        parts,
        dlq,
        depth,
        max(0, unreplayed),
    )


def server_health(
    kafka_servers: list[str], es_url: str, redis_dsn: str, alias: str, admin: Any | None
) -> list[ServerHealth]:
    """Can each server be reached, and how is it."""
    health = []
    if admin is None:
        health.append(ServerHealth("kafka", False, "unreachable"))
    else:
        try:
            brokers = len(admin.describe_cluster()["brokers"])
            health.append(ServerHealth("kafka", True, f"{brokers} broker{'s' * (brokers != 1)}"))
        except Exception as exc:  # any failure is the answer here
            health.append(ServerHealth("kafka", False, _short(exc)))
    health.append(_es_health(es_url, alias))
    health.append(_redis_health(redis_dsn))
    return health


def _es_health(es_url: str, alias: str) -> ServerHealth:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(es_url, request_timeout=3, max_retries=0)
    try:
        colour = es.cluster.health()["status"]
        try:
            index = next(iter(es.indices.get_alias(name=alias).body))
            docs = es.count(index=alias)["count"]
            where = f"{alias} → {index}, {docs} docs"
        except Exception:  # no alias yet: nothing indexed in this namespace
            where = f"no {alias} alias yet"
        return ServerHealth("elasticsearch", colour in ("green", "yellow"), f"{colour}; {where}")
    except Exception as exc:
        return ServerHealth("elasticsearch", False, _short(exc))
    finally:
        es.close()


def _redis_health(redis_dsn: str) -> ServerHealth:
    import redis

    client = redis.Redis.from_url(redis_dsn, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
        return ServerHealth("redis", True, "")
    except Exception as exc:
        return ServerHealth("redis", False, _short(exc))
    finally:
        client.close()


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."


class SampleStore:
    """Offset samples in a short Redis list shared by every `status` caller,
    with an in-process copy for when Redis is down."""

    def __init__(self, redis_dsn: str, namespace: str) -> None:
        import redis

        self.key = f"{namespace}ops:status-samples"
        self.redis = redis.Redis.from_url(redis_dsn, socket_timeout=2, socket_connect_timeout=2)
        self.local: list[Sample] = []

    def load(self) -> list[Sample]:
        try:
            stored = [Sample.from_json(raw) for raw in self.redis.lrange(self.key, 0, -1)]
        except Exception:  # Redis down or junk in the list: local samples only
            stored = []
        return stored + self.local

    def add(self, sample: Sample) -> None:
        self.local = [*self.local[-SAMPLES_KEPT:], sample]
        try:
            with self.redis.pipeline() as pipe:
                pipe.lpush(self.key, sample.to_json())
                pipe.ltrim(self.key, 0, SAMPLES_KEPT - 1)
                pipe.expire(self.key, SAMPLES_TTL_S)
                pipe.execute()
        except Exception:  # optional, as Redis is everywhere in Newsflow
            pass

    def close(self) -> None:
        self.redis.close()


@dataclass
class StatusReport:
    stages: list[StageStatus]
    health: list[ServerHealth]
    rates: Rates
    at: datetime
    # Every broker and Elasticsearch node, each partition's in-sync replicas.
    cluster: ClusterView | None = None

    @property
    def healthy(self) -> bool:
        return all(h.ok for h in self.health) and (self.cluster is None or self.cluster.all_up)


def take(
    kafka_servers: list[str],
    es_url: str,
    redis_dsn: str,
    namespace: str,
    alias: str,
    samples: SampleStore,
    interval_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> StatusReport:
    """One look at the whole system, with rates (see the module docstring)."""
    from kafka.errors import KafkaError

    from services.console.offsets import ops_admin

    admin = None
    stages: list[StageStatus] = []
    try:
        admin = ops_admin(kafka_servers, client_id="newsflow-status")
        stages = [collect_stage(admin, spec, namespace) for spec in STAGES.values()]
    except (KafkaError, OSError):
        pass  # reported as kafka DOWN below
    now = time.time()
    rates = Rates(None)
    if stages:
        current = sample_of(stages, now)
        baseline = pick_baseline(samples.load(), now)
        if baseline is None and interval_s > 0 and admin is not None:
            samples.add(current)
            sleep(interval_s)
            baseline, now = current, time.time()
            stages = [collect_stage(admin, spec, namespace) for spec in STAGES.values()]
            current = sample_of(stages, now)
        samples.add(current)
        rates = rates_between(baseline, current)
    health = server_health(kafka_servers, es_url, redis_dsn, alias, admin)
    cluster = take_cluster(admin, es_url, namespace, alias)
    if admin is not None:
        admin.close()
    return StatusReport(stages, health, rates, datetime.fromtimestamp(now, UTC), cluster)
