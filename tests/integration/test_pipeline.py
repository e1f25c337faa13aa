"""The pipeline end to end on the real stack: an article travels from an HTTP
request through the cleaning, entities and indexer workers (separate
processes, talking only over Kafka) to a searchable Elasticsearch document."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trafilatura
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer

from services.cleaning.text import normalise_body_text
from services.stories.models import story_id_for
from shared.contracts.ids import article_id
from shared.contracts.models import DeadLetterV1
from tests.conftest import (
    ES_URL,
    FIXTURES,
    KAFKA,
    SAMPLE_PAGES,
    SEED,
    Service,
    free_port,
    service_env,
    wait_until,
)

API_KEY = "test-key-" + uuid.uuid4().hex[:8]
MAX_BODY = 3_000_000

SEED_PARAGRAPHS = [
    "North Korea has ratified a historic defense agreement with Russia, sealing its "
    "rapprochement in the context of the war led by Moscow in Ukraine",
    "The agreement “was ratified in the form of a decree” signed by the North Korean leader",
    "This treaty, signed during a rare visit by Vladimir Putin to Pyongyang in June",
    "According to kyiv, some 11,000 North Korean soldiers are already deployed in Russia",
    "The Kremlin has so far evaded questions about this presence of North Korean reinforcements.",
    "The agreement formalizes months of deepening security cooperation between the two countries",
    "Russia and North Korea have grown significantly closer since Russia’s attack on Ukraine "
    "began in 2022.",
    "The agreement also commits the two countries to cooperate internationally to oppose "
    "Western sanctions",
    "North Korean Foreign Minister Choe Son-hui recently visited Moscow",
    "He described the offensive against Ukraine as “sacred fight” and praised the wisdom of "
    "Vladimir Putin.",
]
SEED_BOILERPLATE = [
    "Home Breaking News",
    "Read also",
    "LEAVE A REPLY",
    "Please enter your comment",
    "Please enter your name here",
    "The world with AFP",
]


def story(subject: str) -> str:
    """A short article of distinct paragraphs (a repeated line reads as page
    furniture to the cleaner, as it should)."""
    tag = uuid.uuid4().hex[:8]
    return (
        f"{subject} drew officials from across Europe on Monday, according to reports "
        f"filed by correspondents on the scene (ref {tag}).\n\n"
        "The meeting in Berlin was chaired by Ursula von der Leyen, who told reporters that "
        "the European Commission would publish its proposals before the end of the month.\n\n"
        "Critics said the plan did not go far enough, and several ministers asked for more "
        "time to consult their parliaments before any vote was held."
    )


class Pipeline:
    def __init__(self, ns: str, api: str, services: list[Service]) -> None:
        self.ns = ns
        self.api = api
        self.services = services
        self.http = httpx.Client(base_url=api, timeout=30, headers={"X-API-Key": API_KEY})
        self.es = Elasticsearch(ES_URL)

    def post(self, article: dict[str, Any], **params: Any) -> httpx.Response:
        return self.http.post("/v1/articles", json=article, params=params)

    def doc(self, aid: str) -> dict[str, Any] | None:
        """The article as search sees it (after a refresh), not a realtime get."""
        found = self.es.options(ignore_status=(404, 503)).search(
            index=f"{self.ns}articles", query={"ids": {"values": [aid]}}
        )
        hits = found.get("hits", {}).get("hits", [])
        return hits[0]["_source"] if hits else None

    def wait_indexed(self, aid: str, timeout: float = 30) -> dict[str, Any]:
        try:
            return wait_until(lambda: self.doc(aid), timeout, f"article {aid} indexed")  # type: ignore[return-value]
        except AssertionError as exc:
            logs = "\n".join(f"--- {s.name}\n{s.log_tail(15)}" for s in self.services)
            raise AssertionError(f"{exc}\n{logs}") from None

    def count(self, query: dict[str, Any]) -> int:
        self.es.indices.refresh(index=f"{self.ns}articles")
        return int(self.es.count(index=f"{self.ns}articles", query=query)["count"])


@pytest.fixture(scope="module")
def pipeline(namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    logs = tmp_path_factory.mktemp("pipeline-logs")
    port = free_port()
    env = service_env(
        namespace,
        NEWSFLOW_INGESTION_API_KEYS=API_KEY,
        NEWSFLOW_INGESTION_MAX_BODY_BYTES=str(MAX_BODY),
    )
    services = [Service("ingestion", ["api", "ingestion", "--port", str(port)], env, logs)]
    for stage in ("cleaning", "entities", "stories", "indexer"):
        services.append(
            Service(stage, ["worker", stage, "--web-port", str(free_port())], env, logs)
        )
    pipe = Pipeline(namespace, f"http://127.0.0.1:{port}", services)
    try:
        wait_until(
            lambda: httpx.get(f"{pipe.api}/healthz").status_code == 200, 60, "the ingestion API"
        )
        # Warm up: the first article also waits for consumer-group joins and
        # the spaCy model load; the timed tests start after it.
        warm = pipe.post({"source": "warmup.test", "text": story("A warm-up summit")})
        assert warm.status_code == 202, warm.text
        pipe.wait_indexed(warm.json()["article_id"], timeout=120)
        yield pipe
    finally:
        for service in services:
            service.stop()
        pipe.http.close()
        pipe.es.close()


def test_seed_article_is_searchable_within_15s_clean_and_enriched(pipeline: Pipeline) -> None:
    started = time.monotonic()
    response = pipeline.post({"source": "lemonde.fr", "text": SEED.read_text()})
    assert response.status_code == 202, response.text
    aid = response.json()["article_id"]
    doc = pipeline.wait_indexed(aid, timeout=15)
    elapsed = time.monotonic() - started
    print(f"seed article: POST -> searchable in {elapsed:.2f}s")

    hits = pipeline.es.search(
        index=f"{pipeline.ns}articles", query={"match_phrase": {"body": "mutual defense treaty"}}
    )
    assert aid in [h["_id"] for h in hits["hits"]["hits"]]

    body = doc["body"]
    for paragraph in SEED_PARAGRAPHS:
        # The cleaner folds typographic quotes to straight ones, by design.
        assert normalise_body_text(paragraph) in body, f"missing paragraph: {paragraph!r}"
    for noise in SEED_BOILERPLATE:
        assert noise not in body, f"boilerplate left in body: {noise!r}"
    assert doc["title"] == "North Korea ratifies defense treaty with Russia"
    assert doc["credit"] == ["AFP"]
    assert doc["language"] == "en"
    # Placed in a story by the stories stage on the way (its own, for a lone article).
    assert doc["story_id"] == story_id_for(aid) and doc["copies"] == 1, doc.get("story_id")
    assert {"Kim Jong-un", "Vladimir Putin", "Emmanuel Macron", "Choe Son-hui"} <= set(
        doc["people"]
    ), doc["people"]
    assert {"North Korea", "Russia", "Ukraine", "Moscow", "Pyongyang"} <= set(doc["places"]), doc[
        "places"
    ]
    assert {"KCNA", "NATO"} <= set(doc["organisations"]), doc["organisations"]
    for entity in doc["entities"]:
        assert "\n" not in entity["canonical"]
        assert all("\n" not in form for form in entity["surface_forms"])

    status = pipeline.http.get(f"/v1/articles/{aid}/status").json()
    assert [s["stage"] for s in status["stages"]] == [
        "received",
        "cleaned",
        "enriched",
        "grouped",
        "indexed",
    ]
    assert status["failed"] is None


def _sample_pages(count: int) -> list[tuple[str, str, str]]:
    """The first `count` pages of samples/pages: (id, the URL it was served at, HTML)."""
    urls = json.loads((FIXTURES / "ingestion" / "sample-page-urls.json").read_text())
    pages = []
    for path in sorted(SAMPLE_PAGES.glob("*.html.gz"))[:count]:
        page_id = path.name.removesuffix(".html.gz")
        pages.append(
            (
                page_id,
                urls[page_id],
                gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace"),
            )
        )
    return pages


def test_html_pages_become_searchable_with_title_and_date(pipeline: Pipeline) -> None:
    pages = _sample_pages(5)
    ids = []
    for _page_id, url, html in pages:
        response = pipeline.post({"source": "eval", "url": url, "html": html})
        assert response.status_code == 202, response.text
        ids.append(response.json()["article_id"])
    for aid, (_page_id, url, html) in zip(ids, pages, strict=True):
        doc = pipeline.wait_indexed(aid, timeout=60)
        assert doc["url"] == url
        assert doc["body"] and doc["word_count"] > 50
        # The page's own metadata, read by an independent call, says what it has.
        meta = trafilatura.extract_metadata(html)
        if meta is not None and meta.title:
            assert doc["title"], f"{url}: page has a title but the document has none"
        if meta is not None and meta.date:
            assert doc["published_at"], f"{url}: page has a date but the document has none"


def test_same_article_twice_is_one_document(pipeline: Pipeline) -> None:
    article = {
        "source": "example.org",
        "url": f"https://example.org/news/{uuid.uuid4().hex}",
        "text": story("A unique story"),
    }
    first = pipeline.post(article)
    second = pipeline.post({**article, "url": article["url"] + "?utm_source=rss#comments"})
    assert first.status_code == second.status_code == 202
    assert first.json()["article_id"] == second.json()["article_id"]
    assert (first.json()["status"], second.json()["status"]) == ("accepted", "duplicate")
    aid = first.json()["article_id"]
    assert aid == article_id(article["url"])
    # Read before asking again: a fast reprocessing must not overtake the read.
    first_indexed_at = pipeline.wait_indexed(aid)["indexed_at"]
    # Asked explicitly, it is processed again, and still yields one document.
    again = pipeline.post(article, reprocess="true")
    assert again.json()["status"] == "accepted"
    wait_until(
        lambda: (pipeline.doc(aid) or {}).get("indexed_at") != first_indexed_at,
        30,
        "the reprocessed article re-indexed",
    )
    assert pipeline.count({"term": {"article_id": aid}}) == 1


def test_malformed_messages_go_to_the_dlq_and_the_stream_goes_on(pipeline: Pipeline) -> None:
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
    bad_values = [
        b"{not json at all",
        json.dumps({"article_id": "x", "source": ""}).encode(),
        b"\xff\xfe\xfa binary",
    ]
    for value in bad_values:
        producer.send(f"{pipeline.ns}articles.raw", key=b"bad", value=value).get(30)
    producer.close()

    response = pipeline.post(
        {"source": "after.test", "text": story("After the bad messages, a summit")}
    )
    pipeline.wait_indexed(response.json()["article_id"])

    consumer = KafkaConsumer(
        f"{pipeline.ns}articles.raw.dlq",
        bootstrap_servers=KAFKA,
        auto_offset_reset="earliest",
        consumer_timeout_ms=2000,
        group_id=f"test-{uuid.uuid4().hex}",
    )
    letters = [DeadLetterV1.model_validate_json(r.value) for r in consumer]
    consumer.close()
    payloads = {letter.payload_bytes(): letter for letter in letters}
    for value in bad_values:
        assert value in payloads, f"no dead letter for {value!r}"
        letter = payloads[value]
        assert letter.stage == "cleaning" and letter.topic == f"{pipeline.ns}articles.raw"
        assert letter.reason and letter.offset >= 0
    assert "not valid JSON" in payloads[bad_values[0]].reason
    assert "contract" in payloads[bad_values[1]].reason


# ---------------------------------------------------------------- API errors
def test_writes_need_an_api_key(pipeline: Pipeline) -> None:
    article = {"source": "s", "text": "t"}
    missing = httpx.post(f"{pipeline.api}/v1/articles", json=article)
    assert missing.status_code == 401 and "API key" in missing.json()["detail"]
    wrong = httpx.post(f"{pipeline.api}/v1/articles", json=article, headers={"X-API-Key": "no"})
    assert wrong.status_code == 401
    # Reads do not need a key.
    assert httpx.get(f"{pipeline.api}/v1/articles/{'0' * 32}/status").status_code == 404


def test_body_over_the_limit_is_413(pipeline: Pipeline) -> None:
    big = {"source": "s", "text": "word " * (MAX_BODY // 4)}
    response = pipeline.post(big)
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_invalid_input_is_422_with_field_and_reason(pipeline: Pipeline) -> None:
    no_source = pipeline.post({"text": "hello"})
    assert no_source.status_code == 422
    assert no_source.json()["detail"][0]["loc"] == ["body", "source"]
    no_content = pipeline.post({"source": "s", "text": "  "})
    assert no_content.status_code == 422
    assert "html' or 'text'" in no_content.json()["detail"][0]["msg"]
    bad_json = pipeline.http.post(
        "/v1/articles", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 422 and "invalid JSON" in bad_json.text
    bad_url = pipeline.post({"source": "s", "text": "t", "url": "not a url"})
    assert bad_url.status_code == 422 and bad_url.json()["detail"][0]["loc"] == ["body", "url"]


def test_a_batch_with_one_bad_line_writes_nothing(pipeline: Pipeline) -> None:
    good = {"source": "batch.test", "text": story("A good article")}
    lines = [json.dumps(good), json.dumps({"source": "batch.test"})]
    response = pipeline.http.post(
        "/v1/articles:batch",
        content="\n".join(lines).encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["line"] == 2
    # The good line was not half-written: sent now, it is new, not a duplicate.
    retry = pipeline.http.post(
        "/v1/articles:batch",
        content=lines[0].encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert retry.status_code == 202
    assert retry.json()["articles"][0]["status"] == "accepted"


def test_batch_of_articles(pipeline: Pipeline, tmp_path: Path) -> None:
    arts = [{"source": "batch.test", "text": story(f"Batch article {i}")} for i in range(3)]
    response = pipeline.http.post(
        "/v1/articles:batch",
        content="\n".join(json.dumps(a) for a in arts).encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 202
    ids = [a["article_id"] for a in response.json()["articles"]]
    assert len(set(ids)) == 3
    for aid in ids:
        pipeline.wait_indexed(aid)
