"""Fixtures of the cluster fault tests: the three-node profile started by
deploy/local/cluster.sh for this folder and stopped after its last test, one
namespace with replicated topics, and the pipeline running against it.

The cluster runs beside the single-node stack (its own ports and folder,
.stack/cluster) and is package-scoped rather than session-scoped: six JVMs
should not idle through the rest of `make test` on a two-core machine. A
cluster that was already running when the tests began is left running.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from shared.contracts.index import ensure_index, index_name
from shared.runtime.kafka_admin import create_topics, delete_namespace
from tests.cluster.harness import (
    ES_NODES,
    REDIS_URL,
    ClusterPipeline,
    FaultResult,
    cluster_sh,
    es_client,
    es_master,
    kafka_admin,
    write_report,
)
from tests.conftest import new_namespace
from tests.faults.pipeline import articles

# Replicated topics as the cluster profile makes them (NEWSFLOW_TOPIC_* settings).
REPLICATION_FACTOR = 3
MIN_INSYNC = 2


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cluster: starts the three-node profile (deploy/local/cluster.sh) and breaks it",
    )


@pytest.fixture(scope="package")
def cluster() -> Iterator[float]:
    """The three-node profile, up; yields how long starting it took (s)."""
    already = "down" not in cluster_sh("status")
    started = time.monotonic()
    cluster_sh("up", timeout=900)
    took = time.monotonic() - started
    try:
        yield took
    finally:
        if not already:
            cluster_sh("down", timeout=300)


@pytest.fixture(scope="package")
def cluster_namespace(cluster: float) -> Iterator[str]:
    ns = new_namespace()
    admin = kafka_admin()
    try:
        states = create_topics(
            admin, ns, replication_factor=REPLICATION_FACTOR, min_insync_replicas=MIN_INSYNC
        )
    finally:
        admin.close()
    assert all(s.replication == REPLICATION_FACTOR for s in states), states
    yield ns
    admin = kafka_admin()
    try:
        delete_namespace(admin, ns)
    finally:
        admin.close()
    es = es_client()
    es.options(ignore_status=404).indices.delete(index=f"{ns}articles-v*")
    es.options(ignore_status=404).indices.delete_index_template(name=f"{ns}newsflow-articles")
    es.close()
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{ns}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


async def _make_index(ns: str) -> None:
    from elasticsearch import AsyncElasticsearch

    es = AsyncElasticsearch(list(ES_NODES.values()))
    try:
        await ensure_index(es, ns)
    finally:
        await es.close()


@pytest.fixture(scope="package")
def cluster_pipeline(
    cluster_namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClusterPipeline]:
    """The pipeline on the cluster. The index is made first, as the indexer
    would, and given one replica (NEWSFLOW_INDEX_REPLICAS=1; see the report for
    the one-line change to the template). The services reach Elasticsearch
    through a node that is not the master, so that the master can be killed
    while they keep a node to talk to."""
    import asyncio

    ns = cluster_namespace
    asyncio.run(_make_index(ns))
    es = es_client()
    try:
        es.indices.put_settings(index=index_name(ns), settings={"index.number_of_replicas": 1})
        es.cluster.health(index=index_name(ns), wait_for_status="green", timeout="120s")
        master = es_master(es)
    finally:
        es.close()
    entry = next(n for n in ES_NODES if n != master)
    pipe = ClusterPipeline(ns, tmp_path_factory.mktemp("cluster-logs"), es_entry=entry)
    try:
        pipe.ensure_running()
        ids = pipe.send_accepted(articles("warmup.cluster", 2))
        pipe.wait_indexed("warmup.cluster", set(ids), timeout=240)
        yield pipe
    finally:
        pipe.stop_all()
        pipe.close()


@pytest.fixture
def pipe(cluster_pipeline: ClusterPipeline) -> Iterator[ClusterPipeline]:
    """The shared pipeline, every service up before and after the test."""
    cluster_pipeline.ensure_running()
    yield cluster_pipeline
    cluster_pipeline.ensure_running()


@pytest.fixture(scope="package")
def fault_results(cluster: float) -> Iterator[list[FaultResult]]:
    """Each test appends its counts; the table is written once at the end."""
    results: list[FaultResult] = []
    started = time.monotonic()
    yield results
    artifacts = Path(__file__).resolve().parents[1] / "artifacts"
    artifacts.mkdir(exist_ok=True)
    preface = [
        f"Run {time.strftime('%Y-%m-%d %H:%M:%S')}; cluster started in {cluster:.0f} s; "
        f"tests took {time.monotonic() - started:.0f} s; load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}.",
        "Topics: replication factor 3, min.insync.replicas 2, producers acks=all "
        "(not idempotent, see services/ingestion/core.py); index: 1 shard, 1 replica.",
        "duplicated: extra copies of an article in articles.raw (producer retries) / in "
        "articles.indexed (a stage re-delivering after a failover) / articles with more "
        "than one search document (must be 0: the document id is the article id).",
    ]
    if results:
        write_report(artifacts, results, preface)
