"""Subscriptions end to end on the real stack: the router on an HTTP
server, the indexer, matcher and webhooks stages as worker processes,
Kafka, Elasticsearch and Redis in a private namespace, and a webhook
receiver on 127.0.0.1 (allowed by NEWSFLOW_WEBHOOKS_ALLOWED_NETWORKS)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import feedparser
import httpx
import jsonschema
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, OffsetSpec

from services.console.offsets import committed_offsets
from services.subscriptions.delivery import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)
from services.subscriptions.settings import SubscriptionsSettings
from shared.contracts.models import (
    DeadLetterV1,
    EnrichedArticleV1,
    GroupedArticleV1,
    SubscriptionMatchV1,
)
from tests.conftest import ES_URL, KAFKA, REDIS_URL, service_env, wait_until
from tests.subscriptions.rig import (
    ApiServer,
    Received,
    Receiver,
    Worker,
    enriched,
    indexing_stages,
    listen_ports,
)

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
KEY_A, KEY_B = "subs-key-a", "subs-key-b"
SCHEMA = json.loads((REPO / "contracts/schemas/SubscriptionMatch.v1.schema.json").read_text())


@dataclass
class Rig:
    ns: str
    api: ApiServer
    receiver: Receiver
    workers: dict[str, Worker]
    producer: KafkaProducer

    def client(self, key: str | None = KEY_A) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.api.url, headers=headers, timeout=30)

    def index(self, article: EnrichedArticleV1) -> None:
        # Straight to the indexer's input: each article a story of its own (the
        # stories stage is not what these tests are about).
        topic = f"{self.ns}articles.grouped"
        grouped = GroupedArticleV1(**article.model_dump(), story_id=article.article_id)
        key, value = article.article_id.encode(), grouped.model_dump_json().encode()
        self.producer.send(topic, key=key, value=value).get(30)

    def records(self, topic: str) -> list[tuple[bytes | None, bytes]]:
        consumer = KafkaConsumer(
            f"{self.ns}{topic}",
            bootstrap_servers=KAFKA,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=3000,
        )
        try:
            return [(m.key, m.value) for m in consumer]
        finally:
            consumer.close()

    def lag(self, stage: str, topic: str) -> int:
        admin = KafkaAdminClient(bootstrap_servers=KAFKA)
        try:
            committed = committed_offsets(admin, f"{self.ns}newsflow-{stage}")
            parts = [tp for tp in committed if tp.topic == f"{self.ns}{topic}"]
            ends = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in parts})
            return sum(ends[tp].offset - committed[tp] for tp in parts) if parts else 1
        finally:
            admin.close()

    def tails(self) -> str:
        return "\n\n".join(f"--- {n}\n{w.log_tail()}" for n, w in self.workers.items())


@pytest.fixture(scope="module")
def rig(namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    logs = tmp_path_factory.mktemp("subscriptions-logs")
    receiver = Receiver()
    settings = SubscriptionsSettings(
        namespace=namespace,
        api_keys=f"{KEY_A},{KEY_B}",
        allowed_networks="127.0.0.0/8",
        redis_url=REDIS_URL,
        elasticsearch_url=ES_URL,
        live_poll_s=0.3,
        live_heartbeat_s=1.0,
    )
    env = service_env(
        namespace,
        NEWSFLOW_WEBHOOKS_ALLOWED_NETWORKS="127.0.0.0/8",
        NEWSFLOW_WEBHOOKS_MAX_ATTEMPTS="3",
        NEWSFLOW_WEBHOOKS_BACKOFF_INITIAL_S="0.3",
        NEWSFLOW_WEBHOOKS_PAUSE_AFTER_FAILURES="3",
        NEWSFLOW_MATCHER_RELOAD_INTERVAL_S="0.2",
    )
    stages = (*indexing_stages(), "matcher", "webhooks")
    api_port, *ports = listen_ports(len(stages) + 1)
    workers = {s: Worker(s, port, env, logs) for s, port in zip(stages, ports, strict=True)}
    api = ApiServer(settings, api_port)
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
    made = Rig(namespace, api, receiver, workers, producer)
    try:
        yield made
    finally:
        producer.close()
        api.close()
        for worker in workers.values():
            worker.stop()
        receiver.close()


def create(rig: Rig, key: str = KEY_A, **body: Any) -> dict[str, Any]:
    with rig.client(key) as http:
        answer = http.post("/v1/subscriptions", json={"name": "test", **body})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_another_key_cannot_read_or_change_a_subscription(rig: Rig) -> None:
    made = create(rig, q="privacy matters")
    sid = made["id"]
    assert made["feed_url"].endswith(
        f"/v1/subscriptions/{sid}/feed.atom?token={made['feed_token']}"
    )
    assert made["webhook_secret"].startswith("whsec_")
    with rig.client(KEY_B) as other:
        assert other.get(f"/v1/subscriptions/{sid}").status_code == 404
        assert other.patch(f"/v1/subscriptions/{sid}", json={"name": "x"}).status_code == 404
        assert other.post(f"/v1/subscriptions/{sid}/pause").status_code == 404
        assert other.delete(f"/v1/subscriptions/{sid}").status_code == 404
        assert sid not in [s["id"] for s in other.get("/v1/subscriptions").json()]
    with rig.client(None) as anonymous:
        assert anonymous.get("/v1/subscriptions").status_code == 401
        assert anonymous.post("/v1/subscriptions", json={"name": "n", "q": "a"}).status_code == 401
        both = [("X-API-Key", KEY_B), ("X-API-Key", KEY_A)]
        assert anonymous.get("/v1/subscriptions", headers=both).status_code == 400
        assert anonymous.get("/v1/subscriptions", headers={"X-API-Key": "nope"}).status_code == 401
    with rig.client() as owner:
        mine = owner.get(f"/v1/subscriptions/{sid}").json()
        assert mine["name"] == "test" and "webhook_secret" not in mine and "owner" not in mine
        changed = owner.patch(f"/v1/subscriptions/{sid}", json={"name": "renamed"}).json()
        assert changed["name"] == "renamed" and "feed_token" not in changed
        refused = owner.patch(f"/v1/subscriptions/{sid}", json={"webhook_url": "http://10.1.2.3/"})
        assert refused.status_code == 422
        huge = owner.post("/v1/subscriptions", content=b"{" + b" " * 70_000 + b"}")
        assert huge.status_code == 413
        assert owner.delete(f"/v1/subscriptions/{sid}").status_code == 204
        assert owner.get(f"/v1/subscriptions/{sid}").status_code == 404


def live_counts(rig: Rig, q: str, since: datetime, until: float) -> list[dict[str, Any]]:
    """Count events of /v1/search/live for `q`, read in a thread until `until`."""
    events: list[dict[str, Any]] = []

    def read() -> None:
        params = {"q": q, "since": since.isoformat()}
        with (
            httpx.Client(base_url=rig.api.url, timeout=30) as http,
            http.stream("GET", "/v1/search/live", params=params) as stream,
        ):
            assert stream.headers["content-type"].startswith("text/event-stream")
            name = None
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name == "count":
                    events.append(json.loads(line[6:]))
                if time.time() > until or any(e["count"] > 0 for e in events):
                    return

    threading.Thread(target=read, daemon=True).start()
    return events


def test_a_match_is_delivered_signed_listed_in_the_feed_and_on_kafka(rig: Rig) -> None:
    since = datetime.now(UTC)
    made = create(rig, q="zephyranthes bloom", webhook_url=rig.receiver.url("/hooks/a"))
    sid = made["id"]
    events = live_counts(rig, "zephyranthes", since, until=time.time() + 60)
    time.sleep(0.5)  # the matcher sees new subscriptions within its reload interval
    article = enriched("Zephyranthes bloom after the rain", "Rain lilies. " * 20, n="match-1")
    rig.index(article)
    rig.index(enriched("Unrelated story", "Nothing here. " * 20, n="other-1"))

    hits = wait_until(lambda: rig.receiver.to("/hooks/a"), 60, "the webhook\n" + rig.tails())
    [hit] = cast(list[Received], hits)
    assert verify_signature(
        made["webhook_secret"],
        hit.body,
        hit.headers.get(TIMESTAMP_HEADER),
        hit.headers.get(SIGNATURE_HEADER),
    )
    assert hit.headers[DELIVERY_HEADER] == f"{sid}:{article.article_id}"
    body = json.loads(hit.body)
    jsonschema.validate(body, SCHEMA)
    assert body["article_id"] == article.article_id and body["url"] == str(article.url)

    feed = httpx.get(made["feed_url"], timeout=30)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith(
        "application/atom+xml"
    )
    parsed = feedparser.parse(feed.content)
    assert not parsed.bozo and [e.title for e in parsed.entries] == [article.title]
    wrong = httpx.get(made["feed_url"].replace("token=", "token=x"), timeout=30)
    assert wrong.status_code == 404

    records = [(k, v) for k, v in rig.records("subscriptions.matched") if k == sid.encode()]
    assert len(records) == 1
    jsonschema.validate(json.loads(records[0][1]), SCHEMA)
    assert SubscriptionMatchV1.model_validate_json(records[0][1]).article_id == article.article_id

    wait_until(lambda: any(e["count"] >= 1 for e in events), 30, "a live count event")
    assert events[-1]["count"] == 1


def test_an_entity_followed_by_its_id_is_matched(rig: Rig) -> None:
    """What an entity page's Follow button saves: the entity's id, matched
    on the index's `entity_ids` (whatever name the article gives it)."""
    made = create(rig, entity="Q7259", webhook_url=rig.receiver.url("/hooks/entity"))
    assert made["entity"] == "Q7259" and made["q"] == ""
    time.sleep(0.5)
    named = enriched("Analytical engine notes", "Notes. " * 20, n="entity-1", people=["Ada"])
    rig.index(named)  # the name without the id: not this entity
    article = enriched(
        "Countess of Lovelace remembered",
        "Engines. " * 20,
        n="entity-2",
        people=["Augusta Ada King"],
        people_ids=["Q7259"],
    )
    rig.index(article)
    hits = wait_until(lambda: rig.receiver.to("/hooks/entity"), 60, "the delivery\n" + rig.tails())
    wait_until(lambda: rig.lag("matcher", "articles.indexed") == 0, 60, "the matcher")
    wait_until(lambda: rig.lag("webhooks", "subscriptions.matched") == 0, 60, "the webhooks")
    [hit] = rig.receiver.to("/hooks/entity")
    assert hits and json.loads(hit.body)["article_id"] == article.article_id


def test_a_replay_of_articles_indexed_delivers_nothing_twice(rig: Rig) -> None:
    made = create(rig, q="quetzalcoatlus", webhook_url=rig.receiver.url("/hooks/replay"))
    time.sleep(0.5)
    rig.index(enriched("Quetzalcoatlus fossil found", "Wings. " * 30, n="replay-1"))
    wait_until(lambda: rig.receiver.to("/hooks/replay"), 60, "the first delivery\n" + rig.tails())
    matched_before = len(rig.records("subscriptions.matched"))
    # Replay: every notice of articles.indexed sent again.
    notices = rig.records("articles.indexed")
    for key, value in notices:
        rig.producer.send(f"{rig.ns}articles.indexed", key=key, value=value)
    rig.producer.flush(30)
    wait_until(lambda: rig.lag("matcher", "articles.indexed") == 0, 60, "the matcher's replay")
    wait_until(lambda: rig.lag("webhooks", "subscriptions.matched") == 0, 60, "the webhooks")
    time.sleep(1.0)
    assert len(rig.records("subscriptions.matched")) == matched_before
    assert len(rig.receiver.to("/hooks/replay")) == 1
    feed = feedparser.parse(httpx.get(made["feed_url"], timeout=30).content)
    assert len(feed.entries) == 1


def test_a_failing_webhook_is_retried_dead_lettered_and_paused(rig: Rig) -> None:
    made = create(rig, q="ornithopter", webhook_url=rig.receiver.url("/fail/o"))
    sid = made["id"]
    create(rig, q="ornithopter", webhook_url=rig.receiver.url("/hooks/o"))
    time.sleep(0.5)
    article = enriched("Ornithopter flight test", "Flapping wings. " * 20, n="fail-1")
    rig.index(article)
    wait_until(lambda: len(rig.receiver.to("/fail/o")) >= 3, 60, "three attempts\n" + rig.tails())

    def letters() -> list[DeadLetterV1]:
        found = [
            DeadLetterV1.model_validate_json(v) for _, v in rig.records("subscriptions.matched.dlq")
        ]
        return [d for d in found if d.key == sid]

    [letter] = cast(list[DeadLetterV1], wait_until(letters, 30, "the dead letter"))
    assert letter.stage == "webhooks" and "after 3 attempt" in letter.reason
    assert "HTTP 500" in letter.reason
    assert (
        SubscriptionMatchV1.model_validate_json(letter.payload_bytes()).article_id
        == article.article_id
    )
    attempts = rig.receiver.to("/fail/o")
    assert [a.headers["X-Newsflow-Attempt"] for a in attempts] == ["1", "2", "3"]
    assert attempts[2].at - attempts[0].at >= 0.3 * 0.8 * 3  # backoff: ~0.3 s, then ~0.6 s
    # The retries held up nobody: the other subscription's delivery of the
    # same match went through before the failing one's last attempt.
    [other] = rig.receiver.to("/hooks/o")
    assert other.at < attempts[2].at
    with rig.client() as owner:
        state = owner.get(f"/v1/subscriptions/{sid}").json()
        assert state["paused"] is True and "failed 3 times in a row" in state["paused_reason"]
        assert state["delivery"]["consecutive_failures"] == 3
        assert "HTTP 500" in state["delivery"]["last_error"]
        resumed = owner.post(f"/v1/subscriptions/{sid}/resume").json()
        assert resumed["paused"] is False and resumed["delivery"]["consecutive_failures"] == 0
    time.sleep(1.0)
    assert len(rig.receiver.to("/fail/o")) == 3  # nothing more after the dead letter


def test_the_operator_commands_list_show_and_test(rig: Rig) -> None:
    from typer.testing import CliRunner

    from services.subscriptions.cli import subscriptions_app

    made = create(rig, q="xylophone concert", webhook_url=rig.receiver.url("/hooks/cli"))
    time.sleep(0.5)
    rig.index(enriched("Xylophone concert tonight", "Music. " * 20, n="cli-1"))
    wait_until(lambda: rig.receiver.to("/hooks/cli"), 60, "the delivery\n" + rig.tails())
    env = {
        "NEWSFLOW_NAMESPACE": rig.ns,
        "NEWSFLOW_REDIS_URL": REDIS_URL,
        "NEWSFLOW_ELASTICSEARCH_URL": ES_URL,
    }
    runner = CliRunner()
    listed = runner.invoke(subscriptions_app, ["list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert made["id"] in listed.output and "whsec_" not in listed.output
    shown = runner.invoke(subscriptions_app, ["show", made["id"]], env=env)
    assert shown.exit_code == 0, shown.output
    details = json.loads(shown.output)
    assert details["latest_matches"][0]["title"] == "Xylophone concert tonight"
    assert "webhook_secret" not in shown.output and made["feed_token"] not in shown.output
    tried = runner.invoke(subscriptions_app, ["test", made["id"], "--days", "1"], env=env)
    assert tried.exit_code == 0, tried.output
    assert "1 match(es) in the last 1 day(s)" in tried.output
    assert "Xylophone concert tonight" in tried.output
    missing = runner.invoke(subscriptions_app, ["show", "0" * 16], env=env)
    assert missing.exit_code == 1
