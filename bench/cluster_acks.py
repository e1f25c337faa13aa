"""What ``acks=all`` with ``min.insync.replicas=2`` costs in produce latency,
beside ``acks=1``, on the three-node profile (deploy/local/cluster.sh).

``acks=1``: the leader's own write answers; a leader that dies before its
followers copied the record loses it although the producer heard "done".
``acks=all``: the answer waits until every in-sync replica (at least two with
``min.insync.replicas=2``) holds the record; one node may then die without
losing anything acknowledged. The price is one more replication round trip
per request, which this script measures with the client the ingestion API
uses (aiokafka, gzip, not idempotent: see services/ingestion/core.py).

Two shapes, each with both settings, interleaved in rounds so that a load
spike on the shared machine hits both alike:

* ``single``: one article-sized record at a time, awaited: the latency one
  POST /v1/articles pays for its send.
* ``batch``: ``--batch`` records sent together and awaited together: what a
  POST /v1/articles:batch pays.

Usage (the cluster must be up; nothing here starts or stops it)::

    bash deploy/local/cluster.sh up
    .venv/bin/python bench/cluster_acks.py [--rounds 10 --per-round 40 --batch 20]

It creates one RF3 topic ``bench-acks-<uuid>`` with min.insync.replicas=2 and
deletes it at the end. It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaProducer

from shared.runtime.kafka_admin import admin_client

CLUSTER = "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"
# About one cleaned article's JSON: 3-4 kB of text that gzip shrinks as it does prose.
PAYLOAD = (
    b'{"article_id":"%s","text":"'
    + b"The meeting in Berlin was chaired by the commission, which said it would publish. " * 40
    + b'"}'
)


@dataclass
class Series:
    samples_ms: list[float] = field(default_factory=list)

    def pct(self, q: float) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def row(self) -> str:
        s = self.samples_ms
        return (
            f"{len(s):>5}  {statistics.median(s):>7.2f}  {self.pct(0.95):>7.2f}  "
            f"{self.pct(0.99):>7.2f}  {max(s):>8.2f}"
        )


async def producer(bootstrap: str, acks: int | str) -> AIOKafkaProducer:
    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks=acks,
        enable_idempotence=False,
        compression_type="gzip",
        request_timeout_ms=10_000,
    )
    await p.start()
    return p


def payload(i: int) -> bytes:
    return PAYLOAD.replace(b"%s", f"{i:012d}".encode())


async def single(p: AIOKafkaProducer, topic: str, n: int, out: Series) -> None:
    for i in range(n):
        start = time.perf_counter()
        await (await p.send(topic, payload(i), key=str(i).encode()))
        out.samples_ms.append((time.perf_counter() - start) * 1000)


async def batch(p: AIOKafkaProducer, topic: str, n: int, size: int, out: Series) -> None:
    for j in range(n):
        start = time.perf_counter()
        futures = [await p.send(topic, payload(i), key=f"{j}-{i}".encode()) for i in range(size)]
        await asyncio.gather(*futures)
        out.samples_ms.append((time.perf_counter() - start) * 1000)


async def run(args: argparse.Namespace) -> dict[tuple[str, str], Series]:
    from kafka.admin import NewTopic

    topic = f"bench-acks-{uuid.uuid4().hex[:8]}"
    admin = admin_client(args.bootstrap.split(","), client_id="bench-acks")
    admin.create_topics(
        [NewTopic(topic, 6, 3, topic_configs={"min.insync.replicas": "2"})],
        wait_for_metadata=True,
    )
    settings: dict[str, int | str] = {"acks=1": 1, "acks=all": "all"}
    producers = {name: await producer(args.bootstrap, acks) for name, acks in settings.items()}
    results = {(shape, name): Series() for shape in ("single", "batch") for name in settings}
    try:
        for p in producers.values():  # warm: metadata, connections, JIT on the brokers
            await single(p, topic, 20, Series())
        for _ in range(args.rounds):
            for name, p in producers.items():
                await single(p, topic, args.per_round, results[("single", name)])
                await batch(
                    p, topic, max(1, args.per_round // 4), args.batch, results[("batch", name)]
                )
    finally:
        for p in producers.values():
            await p.stop()
        admin.delete_topics([topic])
        admin.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bootstrap", default=os.environ.get("NEWSFLOW_CLUSTER_BOOTSTRAP", CLUSTER)
    )
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=40)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    load = os.getloadavg()[0]
    print(
        f"produce latency on {args.bootstrap} (RF 3, min.insync.replicas 2, aiokafka, gzip), "
        f"ms; load average {load:.1f} on {os.cpu_count()} cores"
    )
    print(f"{'shape':<28}{'n':>5}  {'p50':>7}  {'p95':>7}  {'p99':>7}  {'max':>8}")
    for shape, label in (
        ("single", "1 record"),
        ("batch", f"{args.batch} records together"),
    ):
        base = results[(shape, "acks=1")]
        strong = results[(shape, "acks=all")]
        print(f"{label + ', acks=1':<28}{base.row()}")
        print(f"{label + ', acks=all':<28}{strong.row()}")
        print(
            f"{'  acks=all / acks=1':<28}{'':>5}  "
            f"{statistics.median(strong.samples_ms) / statistics.median(base.samples_ms):>6.2f}x  "
            f"{strong.pct(0.95) / base.pct(0.95):>6.2f}x"
        )


if __name__ == "__main__":
    main()
