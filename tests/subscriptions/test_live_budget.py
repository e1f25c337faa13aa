"""The search API runs its per-address budget (rate and in-flight cap)
around every subscriptions route. A live stream stays open for minutes: it
must spend the budget when it connects, not hold an in-flight request for
as long as it lasts (with 4 in flight per address, one open search page
would otherwise take a quarter of its address's searches)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import Depends, Request

from services.subscriptions.settings import SubscriptionsSettings
from tests.conftest import ES_URL, REDIS_URL, free_port, wait_until
from tests.subscriptions.rig import ApiServer

pytestmark = pytest.mark.integration


class Budget:
    """A stand-in for the search's client_budget: counts what it holds."""

    def __init__(self) -> None:
        self.entered = 0
        self.held = 0

    async def __call__(self, request: Request) -> AsyncIterator[None]:
        self.entered += 1
        self.held += 1
        try:
            yield
        finally:
            self.held -= 1


@pytest.fixture(scope="module")
def served(namespace: str) -> Iterator[tuple[ApiServer, Budget]]:
    budget = Budget()
    settings = SubscriptionsSettings(
        namespace=namespace,
        api_keys="live-budget-key",
        redis_url=REDIS_URL,
        elasticsearch_url=ES_URL,
        live_poll_s=0.2,
        live_heartbeat_s=0.5,
    )
    api = ApiServer(settings, free_port(), dependencies=[Depends(budget)])
    try:
        yield api, budget
    finally:
        api.close()


def test_an_open_live_stream_holds_no_in_flight_request(
    served: tuple[ApiServer, Budget],
) -> None:
    api, budget = served
    counts: list[int] = []
    stop = threading.Event()

    def listen() -> None:
        params = {"q": "anything", "since": datetime.now(UTC).isoformat()}
        with (
            httpx.Client(base_url=api.url, timeout=30) as http,
            http.stream("GET", "/v1/search/live", params=params) as stream,
        ):
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    counts.append(json.loads(line[6:])["count"])
                if stop.is_set():
                    return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    try:
        wait_until(lambda: counts, 30, "the first count event")
        assert budget.entered == 1  # the connection spent the budget...
        assert budget.held == 0  # ...and holds none of it while open
        with httpx.Client(base_url=api.url, timeout=30) as http:
            assert http.get("/v1/subscriptions").status_code == 401
        # The keyed routes hold it for their request, as before.
        assert budget.entered == 2 and budget.held == 0
    finally:
        stop.set()
        reader.join(10)
