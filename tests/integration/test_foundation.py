"""The foundation on the real servers: Kafka (kafka-python and a real Faust
agent), topic creation, Elasticsearch template/alias/search, Redis."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid

import pytest
import redis
from elasticsearch import AsyncElasticsearch
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from shared.contracts.export import examples
from shared.contracts.index import alias_name, ensure_index, index_name, to_document
from shared.contracts.models import EnrichedArticleV1, RawArticleV1
from shared.contracts.topics import TOPICS
from shared.runtime.kafka_admin import admin_client, delete_namespace, partition_counts
from tests.conftest import ES_URL, KAFKA, REDIS_URL, REPO, new_namespace, service_env

pytestmark = pytest.mark.integration


def consume(topic: str, count: int, timeout_s: float = 30) -> list:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=KAFKA,
        auto_offset_reset="earliest",
        group_id=f"test-{uuid.uuid4().hex}",
        consumer_timeout_ms=1000,
    )
    got: list = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < count and time.monotonic() < deadline:
            got.extend(consumer)
    finally:
        consumer.close()
    return got


def _raw_example() -> RawArticleV1:
    raw = examples()["articles.raw"]
    assert isinstance(raw, RawArticleV1)
    return raw


def test_contract_message_round_trips_through_kafka(namespace: str) -> None:
    raw = _raw_example()
    topic = f"{namespace}articles.raw"
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
    producer.send(topic, key=raw.article_id.encode(), value=raw.model_dump_json().encode()).get(30)
    producer.close()
    [record] = consume(topic, 1)
    assert record.key.decode() == raw.article_id
    assert RawArticleV1.model_validate_json(record.value) == raw


def test_round_trip_through_a_real_faust_agent(namespace: str, tmp_path) -> None:
    admin = admin_client([KAFKA])
    admin.create_topics([NewTopic(f"{namespace}echo.out", 1, 1)])
    admin.close()
    log = (tmp_path / "faust.log").open("wb")
    agent = subprocess.Popen(
        [sys.executable, str(REPO / "tests/integration/faust_echo.py")],
        env=service_env(namespace),
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        raw = _raw_example()
        producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
        producer.send(
            f"{namespace}articles.raw",
            key=raw.article_id.encode(),
            value=raw.model_dump_json().encode(),
        ).get(30)
        producer.close()
        records = consume(f"{namespace}echo.out", 1, timeout_s=60)
        assert records, (
            "the Faust agent forwarded nothing:\n" + (tmp_path / "faust.log").read_text()
        )
        echoed = RawArticleV1.model_validate_json(records[0].value)
        assert echoed.title == f"echo: {raw.title}"
        assert echoed.article_id == raw.article_id
    finally:
        agent.terminate()
        agent.wait(30)
        log.close()


def test_topics_create_is_idempotent(stack: None) -> None:
    ns = new_namespace()
    cmd = [sys.executable, "-m", "services.console.cli", "topics", "create"]
    try:
        first = subprocess.run(
            cmd, env=service_env(ns), cwd=REPO, capture_output=True, text=True, timeout=120
        )
        assert first.returncode == 0, first.stderr
        assert first.stdout.count("created") == len(TOPICS)
        second = subprocess.run(
            cmd, env=service_env(ns), cwd=REPO, capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 0, second.stderr
        assert "created" not in second.stdout and second.stdout.count("exists") == len(TOPICS)
        admin = admin_client([KAFKA])
        counts = partition_counts(admin, [t.full_name(ns) for t in TOPICS])
        assert counts == {t.full_name(ns): t.partitions for t in TOPICS}
    finally:
        admin = admin_client([KAFKA])
        delete_namespace(admin, ns)
        admin.close()


def test_index_template_alias_index_and_search(stack: None) -> None:
    ns = new_namespace()

    async def scenario() -> None:
        es = AsyncElasticsearch(ES_URL)
        try:
            concrete = await ensure_index(es, ns)
            assert concrete == index_name(ns)
            assert await ensure_index(es, ns) == concrete  # idempotent
            aliases = await es.indices.get_alias(name=alias_name(ns))
            assert list(aliases.body) == [concrete]
            article = examples()["articles.enriched"]
            assert isinstance(article, EnrichedArticleV1)
            await es.index(
                index=alias_name(ns),
                id=article.article_id,
                document=to_document(article),
                refresh=True,
            )
            # "ratify" finds "ratified" only through the English analysis of an
            # English article's body (body_en: possessive + KStem, from the plugin).
            hits = await es.search(index=alias_name(ns), query={"match": {"body_en": "ratify"}})
            assert hits["hits"]["total"]["value"] == 1
            assert hits["hits"]["hits"][0]["_id"] == article.article_id
            facets = await es.search(
                index=alias_name(ns), size=0, aggs={"people": {"terms": {"field": "people"}}}
            )
            assert [b["key"] for b in facets["aggregations"]["people"]["buckets"]] == [
                "Vladimir Putin"
            ]
        finally:
            await es.options(ignore_status=404).indices.delete(index=f"{ns}articles-v*")
            await es.options(ignore_status=404).indices.delete_index_template(
                name=f"{ns}newsflow-articles"
            )
            await es.close()

    asyncio.run(scenario())


def test_redis_set_get_expire(stack: None) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    key = f"{new_namespace()}probe"
    try:
        assert client.set(key, b"value", ex=1)
        assert client.get(key) == b"value"
        assert 0 < client.ttl(key) <= 1
        time.sleep(1.2)
        assert client.get(key) is None
    finally:
        client.delete(key)
        client.close()
