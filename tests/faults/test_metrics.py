"""Every worker exposes its Prometheus metrics at /metrics, labelled by stage:
messages in and out, failures by reason, batch sizes, batch latency and (at
the indexer) the end-to-end age of articles when they become searchable."""

from __future__ import annotations

import json

import pytest
from kafka import KafkaProducer

from tests.conftest import KAFKA, wait_until
from tests.faults.pipeline import STAGES, Pipeline, articles

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_worker_metrics_cover_the_stage(running: Pipeline) -> None:
    source = "metrics.fault"
    ids = running.send_accepted(articles(source, 5))
    # One bad message per stage input, so that each stage has a failure to count.
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
    for name in ("articles.raw", "articles.clean", "articles.enriched", "articles.grouped"):
        producer.send(
            f"{running.ns}{name}",
            key=b"metrics-bad",
            value=json.dumps({"not": "an article"}).encode(),
        ).get(30)
    producer.close()
    running.wait_indexed(source, set(ids), timeout=60)
    wait_until(
        lambda: all(
            running.metric(stage, "newsflow_failures_total", stage=stage, reason="ValidationError")
            >= 1
            for stage in STAGES
        ),
        60,
        "a ValidationError counted by every stage",
    )

    for stage in STAGES:
        m = running.metrics(stage)
        names = {name for name, _ in m}
        labels = {dict(ls).get("stage") for _, ls in m if dict(ls).get("stage")}
        assert labels == {stage}, (stage, labels)
        for name in (
            "newsflow_messages_in_total",
            "newsflow_messages_out_total",
            "newsflow_failures_total",
            "newsflow_batch_size_bucket",
            "newsflow_batch_size_count",
            "newsflow_batch_seconds_bucket",
            "newsflow_batch_seconds_sum",
        ):
            assert name in names, (stage, name)
        assert running.metric(stage, "newsflow_messages_in_total", stage=stage) >= 6
        assert running.metric(stage, "newsflow_messages_out_total", stage=stage) >= 5
        assert running.metric(stage, "newsflow_batch_size_count", stage=stage) >= 1
        assert running.metric(stage, "newsflow_batch_seconds_count", stage=stage) >= 1

    # End-to-end latency: observed once per indexed article, at the indexer.
    age_count = running.metric(
        "indexer", "newsflow_article_age_at_index_seconds_count", stage="indexer"
    )
    assert age_count >= 5
    buckets = [
        (dict(ls)["le"], v)
        for (n, ls), v in running.metrics("indexer").items()
        if n == "newsflow_article_age_at_index_seconds_bucket"
    ]
    assert ("+Inf", age_count) in buckets
