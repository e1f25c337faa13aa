"""Fixtures of the fault tests: one namespace and one running pipeline
(ingestion API + one worker per stage, real processes on the real servers)
for the whole folder (:mod:`tests.faults.pipeline`), and the means to stop a
server for a while.

Starting the four services (consumer-group joins, the spaCy model) costs
tens of seconds on a 2-core machine, so the tests share one pipeline and each
restores it before it ends; every test tags its articles with its own
``source`` so that its counts never mix with another test's.

A test that stops a server restarts it in a ``finally`` block and waits until
it is healthy again (:func:`server_down`): the servers are shared with every
other test and with the people working on this machine.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from elasticsearch import Elasticsearch

from tests.conftest import (
    ES_URL,
    KAFKA,
    REDIS_URL,
    REPO,
    _delete_es_namespace,
    _delete_redis_namespace,
    new_namespace,
    wait_until,
)
from tests.faults.pipeline import Pipeline, articles

STACK_SH = REPO / "deploy" / "local" / "stack.sh"


# ---------------------------------------------------------------- servers
def server_healthy(name: str) -> bool:
    try:
        if name == "kafka":
            from shared.runtime.kafka_admin import admin_client

            admin = admin_client([KAFKA], client_id="fault-health")
            try:
                return bool(admin.list_topics() is not None)
            finally:
                admin.close()
        if name == "elasticsearch":
            es = Elasticsearch(ES_URL, request_timeout=5)
            try:
                return es.cluster.health(wait_for_status="yellow", timeout="5s")["status"] in (
                    "green",
                    "yellow",
                )
            finally:
                es.close()
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def stack(action: str, name: str) -> None:
    subprocess.run(
        ["bash", str(STACK_SH), action, name],
        check=True,
        cwd=REPO,
        timeout=300,
        stdout=subprocess.DEVNULL,
    )


@contextmanager
def server_down(name: str) -> Iterator[None]:
    """Stop one server for the duration of the block; always start it again
    (a second time if the first start fails) and wait until it answers,
    whatever happened inside, even if stopping it failed half-way."""
    try:
        stack("stop-one", name)
        yield
    finally:
        try:
            stack("start-one", name)
        except subprocess.SubprocessError:
            stack("stop-one", name)
            stack("start-one", name)
        wait_until(lambda: server_healthy(name), 120, f"{name} healthy again", interval=1)


@pytest.fixture(scope="package")
def fault_namespace(stack: None) -> Iterator[str]:
    """One namespace for the whole folder, its topics made on the real broker
    and everything in it deleted after the folder's last test."""
    from shared.runtime.kafka_admin import admin_client, create_topics, delete_namespace

    ns = new_namespace()
    admin = admin_client([KAFKA])
    create_topics(admin, ns)
    admin.close()
    yield ns
    # Kafka may have just been restarted by a test: wait for it before cleaning.
    wait_until(lambda: server_healthy("kafka"), 60, "kafka healthy", interval=1)
    admin = admin_client([KAFKA])
    delete_namespace(admin, ns)
    admin.close()
    _delete_es_namespace(ns)
    _delete_redis_namespace(ns)


@pytest.fixture(scope="package")
def pipeline(fault_namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """The services, started once for the folder and stopped after its last
    test (package scope), so they do not idle through the rest of the suite."""
    pipe = Pipeline(fault_namespace, tmp_path_factory.mktemp("fault-logs"))
    try:
        pipe.ensure_running()
        # Warm up: the first article waits for group joins and the model load.
        ids = pipe.send_accepted(articles("warmup.fault", 1))
        pipe.wait_indexed("warmup.fault", set(ids), timeout=120)
        yield pipe
    finally:
        pipe.stop_all()
        pipe.close()


@pytest.fixture
def running(pipeline: Pipeline) -> Iterator[Pipeline]:
    """The shared pipeline, all services up before the test and again after
    it (a test that kills a worker need not restart it itself)."""
    pipeline.ensure_running()
    yield pipeline
    pipeline.ensure_running()
