"""Prometheus metrics: one closed set of names, labelled by stage.

Every service exposes them at ``/metrics``. Adding a metric means adding it
here, so the set stays reviewable (as arroyo's ``metric_defs``)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

MESSAGES_IN = Counter(
    "newsflow_messages_in_total", "Messages read from the stage's input", ["stage"]
)
MESSAGES_OUT = Counter(
    "newsflow_messages_out_total", "Messages produced to the stage's output", ["stage"]
)
FAILURES = Counter(
    "newsflow_failures_total", "Messages dead-lettered, by error type", ["stage", "reason"]
)
RETRIES = Counter("newsflow_retries_total", "Batches retried after a temporary failure", ["stage"])
BATCH_SIZE = Histogram(
    "newsflow_batch_size",
    "Messages per processed batch",
    ["stage"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
BATCH_SECONDS = Histogram(
    "newsflow_batch_seconds",
    "Time to process one batch",
    ["stage"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ARTICLE_AGE_SECONDS = Histogram(
    "newsflow_article_age_at_index_seconds",
    "Time from reception to indexing of an article (end-to-end latency)",
    ["stage"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)
HTTP_REQUESTS = Counter(
    "newsflow_http_requests_total", "HTTP requests answered", ["stage", "route", "status"]
)


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
