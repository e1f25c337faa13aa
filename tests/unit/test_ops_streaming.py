"""Stage-runner rules that operations rely on, checked without a broker:
a stop request never cuts the batch in hand short, however often it comes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from shared.contracts.topics import CLEAN, RAW
from shared.runtime.settings import WorkerSettings
from shared.runtime.streaming import StageRunner, build_app


class _Stream:
    """Just what StageRunner._agent uses of a Faust stream."""

    def __init__(self, batches: list[list[int]]) -> None:
        self.batches = batches

    async def take_events(self, size: int, within: float) -> AsyncIterator[list[int]]:
        for batch in self.batches:
            yield batch
        await asyncio.sleep(3600)  # an idle stream: waits for more


@pytest.fixture
def runner(tmp_path: Any) -> StageRunner:
    settings = WorkerSettings(namespace="unit-")
    app = build_app("cleaning", settings, web_port=1)
    return StageRunner(
        app=app,
        stage="cleaning",
        input_spec=RAW,
        output_spec=CLEAN,
        settings=settings,
        handler=None,
        status=None,  # type: ignore[arg-type]
        done_status="cleaned",
    )


async def test_repeated_stop_requests_let_the_batch_in_hand_finish(runner: StageRunner) -> None:
    finished: list[int] = []

    async def slow_batch(events: Sequence[Any]) -> None:
        await asyncio.sleep(0.3)  # delivering outputs, committing...
        finished.append(len(events))

    runner._process_events = slow_batch  # type: ignore[method-assign]
    agent = asyncio.ensure_future(runner._agent(_Stream([[1, 2, 3]])))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    agent.cancel()  # SIGTERM
    await asyncio.sleep(0.05)
    agent.cancel()  # and again, while the batch is being finished
    with pytest.raises(asyncio.CancelledError):
        await agent
    assert finished == [3]
