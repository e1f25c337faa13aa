"""TimeBoundRunner: one slow input is stopped at its budget, and the next
input is served at once by the warmed-up spare child."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from shared.runtime.time_budget import ChildFailed, TimeBoundRunner, TimeBudgetExceeded


def work(arg: str) -> str:
    """Module-level, so that the spawned child can import it."""
    if arg == "slow":
        time.sleep(30)
    if arg == "bad":
        raise ValueError("refused")
    if arg == "crash":
        os._exit(9)
    return arg.upper()


@pytest.fixture
def runner() -> Iterator[TimeBoundRunner[str, str]]:
    bound: TimeBoundRunner[str, str] = TimeBoundRunner(work, budget_s=1.0, warmup="warm")
    bound.start()
    yield bound
    bound.close()


def test_results_and_errors_come_back_from_the_child(runner: TimeBoundRunner[str, str]) -> None:
    assert runner("a") == "A"
    with pytest.raises(ValueError, match="refused"):
        runner("bad")
    assert runner("b") == "B"


def test_work_over_its_budget_is_stopped_and_the_next_is_served_by_the_spare(
    runner: TimeBoundRunner[str, str],
) -> None:
    started = time.monotonic()
    with pytest.raises(TimeBudgetExceeded):
        runner("slow")
    assert time.monotonic() - started < 10  # stopped, not slept out (30 s)
    assert runner("next") == "NEXT"
    assert runner.restarts == 1


def test_a_child_that_dies_is_reported_and_replaced(runner: TimeBoundRunner[str, str]) -> None:
    with pytest.raises(ChildFailed):
        runner("crash")
    assert runner("after") == "AFTER"
