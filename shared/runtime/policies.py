"""Failure policies of a stream stage, as objects, the arroyo way.

* :class:`RetryPolicy`: temporary failures (a dependency down or overloaded)
  are retried with exponential backoff up to one cap, for as long as it takes.
* :class:`DlqPolicy`: dead letters are normal, a flood of them is not. Per
  input partition, if more than ``max_ratio`` of the last ``window`` messages
  failed for systemic reasons, :meth:`DlqPolicy.record` raises
  :class:`DlqLimitExceeded`. The policy only raises; the process decides
  (the Faust worker stops without acknowledging the batch).
* :func:`is_transient`: which delivery errors are worth retrying. Anything
  else is a bug and is never retried for ever.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from aiokafka.errors import KafkaError, MessageSizeTooLargeError

T = TypeVar("T")


class DlqLimitExceeded(RuntimeError):
    """Most recent messages of a partition failed for systemic reasons:
    something is wrong with the stage or its input as a whole."""

    def __init__(self, partition: int, ratio: float, window: int, limit: float) -> None:
        self.partition = partition
        self.ratio = ratio
        super().__init__(
            f"{ratio:.0%} of the last {window} messages of partition {partition} failed "
            f"(limit {limit:.0%}); stopping instead of draining the topic into the DLQ. "
            "Fix the cause and restart."
        )


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: initial_s, doubled each time, capped at max_s."""

    initial_s: float = 0.5
    max_s: float = 30.0

    def delays(self) -> Iterator[float]:
        delay = self.initial_s
        while True:
            yield delay
            delay = min(delay * 2, self.max_s)

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        retry_on: Callable[[BaseException], bool],
        on_retry: Callable[[BaseException, float], None],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> T:
        """`attempt()` until it succeeds; an error `retry_on` refuses is raised."""
        for delay in self.delays():
            try:
                return await attempt()
            except Exception as exc:
                if not retry_on(exc):
                    raise
                on_retry(exc, delay)
                await sleep(delay)
        raise AssertionError("delays() never ends")  # pragma: no cover


@dataclass
class DlqPolicy:
    """A sliding window of outcomes per input partition."""

    max_ratio: float = 0.5
    window: int = 200
    _recent: dict[int, deque[bool]] = field(default_factory=dict, repr=False)

    def record(self, partition: int, failed: list[bool]) -> None:
        """Add a batch's outcomes for one partition (True: a systemic failure);
        raise DlqLimitExceeded when the full window is over the ratio."""
        recent = self._recent.setdefault(partition, deque(maxlen=self.window))
        recent.extend(failed)
        if len(recent) < self.window:
            return
        ratio = sum(recent) / len(recent)
        if ratio > self.max_ratio:
            raise DlqLimitExceeded(partition, ratio, self.window, self.max_ratio)


def is_transient(exc: BaseException) -> bool:
    """A delivery error that may pass on retry: the broker or network.
    A message over the broker's size limit never will."""
    if isinstance(exc, MessageSizeTooLargeError):
        return False
    return isinstance(exc, KafkaError | OSError | TimeoutError)
