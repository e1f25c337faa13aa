"""Politeness and retry logic without a network: the per-host gate, the
RFC 9309 reading of robots.txt, Retry-After, backoff and page decoding."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from services.feeds.fetch import (
    HostBackingOff,
    HostGate,
    decode_html,
    retry_after_seconds,
    robots_from_response,
)
from services.feeds.health import backoff_delay


class FakeClock:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def test_one_request_at_a_time_per_host_and_a_pause_between() -> None:
    clock = FakeClock()
    gate = HostGate(min_delay_s=2.0, max_wait_s=60, clock=clock, sleep=clock.sleep)
    log: list[tuple[str, str, float]] = []

    async def request(host: str, duration: float) -> None:
        async with gate.slot(host):
            log.append(("start", host, clock.now))
            await clock.sleep(duration)
            log.append(("end", host, clock.now))

    await asyncio.gather(request("a.org", 1.0), request("a.org", 1.0), request("a.org", 1.0))
    starts = [t for kind, _, t in log if kind == "start"]
    ends = [t for kind, _, t in log if kind == "end"]
    # Never two in flight; each starts 2 s after the previous one ended.
    assert [s - e for s, e in zip(starts[1:], ends, strict=False)] == [2.0, 2.0]


async def test_hosts_do_not_wait_for_each_other() -> None:
    gate = HostGate(min_delay_s=0.2, max_wait_s=60)
    inside: set[str] = set()
    overlap = False

    async def request(host: str) -> None:
        nonlocal overlap
        async with gate.slot(host):
            inside.add(host)
            await asyncio.sleep(0.05)
            overlap = overlap or len(inside) > 1
            inside.discard(host)

    await asyncio.gather(request("a.org"), request("b.org"))
    assert overlap


async def test_crawl_delay_raises_the_pause_and_retry_after_keeps_away() -> None:
    clock = FakeClock()
    gate = HostGate(min_delay_s=1.0, max_wait_s=30, clock=clock, sleep=clock.sleep)
    gate.set_delay("slow.org", 5.0)
    assert gate.delay_of("slow.org") == 5.0 and gate.delay_of("other.org") == 1.0
    async with gate.slot("slow.org"):
        pass
    async with gate.slot("slow.org"):
        pass
    assert clock.sleeps == [5.0]
    # Asked to stay away longer than a poll should wait: refused at once.
    gate.penalise("slow.org", 3600)
    with pytest.raises(HostBackingOff):
        async with gate.slot("slow.org"):
            pass


def test_robots_rules_follow_rfc_9309() -> None:
    body = b"User-agent: *\nDisallow: /private/\n\nUser-agent: NewsflowBot\nDisallow: /nobots/\n"
    rules = robots_from_response(200, body)
    assert rules.can_fetch("NewsflowBot", "https://x.org/news/1")
    assert not rules.can_fetch("NewsflowBot", "https://x.org/nobots/1")
    assert not rules.can_fetch("OtherBot", "https://x.org/private/1")
    # 4xx: no rules, everything allowed.
    assert robots_from_response(404, b"").can_fetch("NewsflowBot", "https://x.org/private/1")
    # 5xx, 429, or no answer: unreachable, nothing allowed for now.
    for status in (500, 503, 429, None):
        rules = robots_from_response(status, b"")
        assert rules.unreachable
        assert not rules.can_fetch("NewsflowBot", "https://x.org/")


def test_robots_crawl_delay() -> None:
    rules = robots_from_response(200, b"User-agent: *\nCrawl-delay: 7\n")
    assert rules.crawl_delay("NewsflowBot") == 7.0
    assert robots_from_response(404, b"").crawl_delay("NewsflowBot") is None


def test_retry_after_seconds_or_date() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 01 May 2024 12:05:00 GMT", now) == 300.0
    assert retry_after_seconds("Wed, 01 May 2024 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("99999999") == 86400.0


def test_backoff_doubles_up_to_a_cap_and_respects_retry_after() -> None:
    def delay(failures: int, retry_after: float | None = None) -> float:
        return backoff_delay(failures, 60, 3600, retry_after, rand=lambda: 0.5)

    assert [delay(n) for n in range(6)] == [60, 120, 240, 480, 960, 1920]
    assert delay(10) == 3600
    assert delay(1, retry_after=900) == 900
    # Jitter stays within ±10% and never below the normal interval.
    assert backoff_delay(1, 60, 3600, rand=lambda: 0.0) == pytest.approx(108)
    assert backoff_delay(1, 60, 3600, rand=lambda: 1.0) == pytest.approx(132)
    assert backoff_delay(3, 60, 30, rand=lambda: 0.0) == 60


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        ("café".encode(), "utf-8", "café"),
        ("café".encode("latin-1"), "iso-8859-1", "café"),
        (
            b'<meta charset="windows-1252"><p>caf\xe9</p>',
            None,
            '<meta charset="windows-1252"><p>café</p>',
        ),
        (b"\xef\xbb\xbfhello", None, "hello"),
        (b"caf\xe9", "no-such-charset", "caf\ufffd"),
    ],
)
def test_pages_are_decoded_by_header_meta_or_bom(
    body: bytes, header: str | None, expected: str
) -> None:
    assert decode_html(body, header) == expected
