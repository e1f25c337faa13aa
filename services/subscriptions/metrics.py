"""Prometheus metrics of the subscriptions: one closed set of names, in the
style of ``shared.runtime.metrics`` (whose per-stage counters the matcher and
webhooks stages get from the runtime as well). Workers expose them at
``/metrics`` (the default registry), the search API at its own ``/metrics``.

Matches per second: ``rate(newsflow_subscription_matches_total[1m])``;
delivery latency: ``newsflow_webhook_delivery_seconds`` (indexed -> answered
by the receiver); failures: ``newsflow_webhook_attempts_total{outcome!="delivered"}``.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MATCHES = Counter(
    "newsflow_subscription_matches_total", "New (subscription, article) matches produced"
)
DUPLICATE_MATCHES = Counter(
    "newsflow_subscription_duplicate_matches_total",
    "Matches found again (replay, restart) and not produced a second time",
)
ACTIVE = Gauge("newsflow_subscriptions_active", "Subscriptions the matcher evaluates (not paused)")
UNINDEXED = Gauge(
    "newsflow_subscriptions_unindexed",
    "Active subscriptions without requirements, run against every batch (the costly kind)",
)
CANDIDATES = Histogram(
    "newsflow_matcher_candidates",
    "Subscriptions verified by Elasticsearch per batch (after the presearch)",
    buckets=(0, 1, 5, 10, 50, 100, 500, 1000, 5000, 10_000),
)
VISIBILITY_WAIT = Histogram(
    "newsflow_matcher_visibility_wait_seconds",
    "Time waiting for new documents to become searchable (index refresh)",
    buckets=(0, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5),
)
PHASE_SECONDS = Histogram(
    "newsflow_matcher_phase_seconds",
    "Time of each step of a matcher batch (read, presearch, visible, verify, claim, records)",
    ["phase"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
MATCH_LATENCY = Histogram(
    "newsflow_matcher_latency_seconds",
    "Time from indexing to the match record",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60),
)
ATTEMPTS = Counter(
    "newsflow_webhook_attempts_total",
    "Webhook requests, by outcome (delivered, http_4xx, http_5xx, timeout, refused, error)",
    ["outcome"],
)
DEAD_LETTERS = Counter(
    "newsflow_webhook_dead_letters_total", "Matches not delivered, dead-lettered", ["reason"]
)
AUTO_PAUSES = Counter(
    "newsflow_subscription_auto_pauses_total", "Subscriptions paused after failing webhooks"
)
DELIVERY_LATENCY = Histogram(
    "newsflow_webhook_delivery_seconds",
    "Time from indexing to a webhook acknowledged by its receiver",
    buckets=(0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 300, 3600),
)
QUEUE_DEPTH = Gauge("newsflow_webhook_queue_depth", "Webhook jobs waiting for an attempt")
LIVE_CONNECTIONS = Gauge(
    "newsflow_search_live_connections", "Open live-count (SSE) connections of this process"
)


def outcome_label(status: int | None, error: str | None) -> str:
    """A closed set of labels for an attempt's outcome."""
    if error is None:
        return "delivered"
    if status is not None:
        return "http_5xx" if status >= 500 else "http_4xx" if status >= 400 else "http_3xx"
    if "timed out" in error:
        return "timeout"
    if "not allowed" in error:
        return "refused"
    return "error"
