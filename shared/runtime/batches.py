"""Finishing the batch in hand when asked to stop.

On SIGTERM Faust cancels the agent, and its batch iterator acknowledges the
batch in a ``finally`` block. If the batch were cut short there, that ack
would be a lie; so a batch runs shielded from cancellation and finishes
(outputs delivered, statuses written) before the cancellation goes on. Both
the Faust worker and the in-memory stream of the tests use this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)


async def finish_despite_cancel(batch: Awaitable[None], stage: str) -> None:
    """Await `batch` to its end even if the caller is cancelled meanwhile;
    then re-raise the cancellation (or the batch's own error)."""
    task = asyncio.ensure_future(batch)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        log.info("stop requested: finishing the batch in hand", extra={"stage": stage})
        # Not a bare `await task`: cancelled again while waiting (a second
        # stop request), it would cancel the batch itself mid-delivery.
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        task.result()  # the batch's own error, if it had one
        raise
