"""The health rules: a source's rhythm and when it counts as silent."""

from __future__ import annotations

import httpx

from services.feeds.health import (
    Assessment,
    SilenceRule,
    assess,
    median_gap,
    silence_threshold,
)
from services.feeds.service import HealthServer
from tests.conftest import free_port

HOUR = 3600.0
RULE = SilenceRule(factor=3, min_s=HOUR, default_s=48 * HOUR)


def test_median_gap_needs_a_few_entries() -> None:
    assert median_gap([0, HOUR]) is None
    assert median_gap([0, HOUR, 2 * HOUR, 10 * HOUR]) == HOUR


def test_silence_threshold() -> None:
    every_two_hours = [i * 2 * HOUR for i in range(10)]
    assert silence_threshold(every_two_hours, RULE) == 6 * HOUR
    # A very busy feed still gets the floor: a quiet night is not an outage.
    every_minute = [i * 60.0 for i in range(10)]
    assert silence_threshold(every_minute, RULE) == HOUR
    # Too little history: the default.
    assert silence_threshold([0.0, 10.0], RULE) == 48 * HOUR
    # A weekly feed is not silent after two days.
    weekly = [i * 7 * 24 * HOUR for i in range(5)]
    assert silence_threshold(weekly, RULE) == 21 * 24 * HOUR


NOW = 1000 * HOUR


def judge(
    *,
    paused: bool = False,
    last_poll_at: float | None = NOW - 60,
    failures: int = 0,
    last_error: str | None = None,
    next_poll_at: float | None = NOW + 840,
    last_new_at: float | None = NOW - HOUR,
    silent_after_s: float | None = 6 * HOUR,
) -> Assessment:
    """A source polled every 15 min, last polled a minute ago, last new entry an hour ago."""
    return assess(
        now=NOW,
        paused=paused,
        interval_s=900.0,
        last_poll_at=last_poll_at,
        failures=failures,
        last_error=last_error,
        next_poll_at=next_poll_at,
        last_new_at=last_new_at,
        silent_after_s=silent_after_s,
    )


def test_assess_ok_failing_silent_paused_pending() -> None:
    assert judge().status == "ok"
    failing = judge(failures=3, last_error="HTTP 500 (http://x)")
    assert failing.status == "failing"
    assert "3 failed poll(s)" in failing.warnings[0] and "HTTP 500" in failing.warnings[0]
    silent = judge(last_new_at=NOW - 7 * HOUR)
    assert silent.status == "silent"
    assert "no new entry for 7.0 h" in silent.warnings[0]
    assert judge(paused=True).status == "paused"
    assert judge(last_poll_at=None, last_new_at=None).status == "pending"


def test_a_source_that_never_published_is_not_silent() -> None:
    verdict = judge(last_new_at=None)
    assert verdict.status == "ok" and not verdict.warnings


def test_an_overdue_poll_says_the_poller_is_not_running() -> None:
    verdict = judge(next_poll_at=NOW - 2 * HOUR)
    assert any("newsflow poller" in w for w in verdict.warnings)
    # Paused sources are not expected to be polled.
    assert not judge(next_poll_at=NOW - 2 * HOUR, paused=True).warnings


async def test_the_poller_health_server() -> None:
    checks = {"kafka": True, "lease": False}
    port = free_port()
    server = HealthServer("127.0.0.1", port, lambda: dict(checks))
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            standby = await client.get("/readyz")
            assert standby.status_code == 503
            assert standby.json() == {"kafka": "ok", "lease": "no"}
            checks["lease"] = True
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/metrics")).status_code == 404
    finally:
        await server.stop()
