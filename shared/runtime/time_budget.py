"""Running one piece of work under a time budget, in a child process.

Python cannot interrupt a thread, and some inputs make well-kept libraries
crawl (a 2 MB page of 50,000 links keeps trafilatura busy for tens of
seconds). A stage that must not let one article hold up the ones behind it
runs its per-article function here: in a long-lived child process, fed one
call at a time; a call over its budget has the child killed and raises
:class:`TimeBudgetExceeded`, which the stage turns into a dead letter.

A spare child is kept started and warmed up, so that after a kill the next
call does not wait for a new process to import its libraries: the article
behind a pathological one waits about the budget, not the budget plus a
restart. Children are started with ``spawn``: forking a process that runs
Faust's event loop and threads could copy a lock held by another thread.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

# Starting a child imports the libraries of the work (trafilatura: ~2 s).
STARTUP_TIMEOUT_S = 120.0

A = TypeVar("A")
R = TypeVar("R")


class TimeBudgetExceeded(Exception):
    """The work took longer than its budget and was stopped."""


class ChildFailed(Exception):
    """The child process died, or raised an error that could not be sent back."""


def _serve(fn: Callable[[Any], Any], conn: Connection) -> None:
    """The child's loop: one call in, one answer out, until the pipe closes."""
    while True:
        try:
            arg = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", fn(arg)))
        except Exception as exc:
            try:
                conn.send(("error", exc))
            except Exception:  # an exception that does not pickle
                conn.send(("error", ChildFailed(f"{type(exc).__name__}: {exc}")))


@dataclass
class _Child:
    proc: BaseProcess
    conn: Connection
    warming: bool = True  # the warm-up answer is still to be read

    def ready(self) -> None:
        """Wait (outside any budget) until the child has run its warm-up."""
        if not self.warming:
            return
        try:
            if not self.conn.poll(STARTUP_TIMEOUT_S):
                raise EOFError
            self.conn.recv()
        except EOFError as exc:
            self.kill()
            raise ChildFailed(f"worker process not ready within {STARTUP_TIMEOUT_S:g} s") from exc
        self.warming = False

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class TimeBoundRunner(Generic[A, R]):
    """Calls `fn` (a module-level, picklable function) in a child process,
    `budget_s` seconds at most per call. One caller at a time.

    `warmup` is an input run once when a child starts, outside any budget, so
    that lazy first-call costs (models, caches) are not billed to an article."""

    def __init__(self, fn: Callable[[A], R], budget_s: float, warmup: A) -> None:
        self.fn = fn
        self.budget_s = budget_s
        self.warmup = warmup
        self._ctx = multiprocessing.get_context("spawn")
        self._child: _Child | None = None
        self._spare: _Child | None = None
        self.restarts = 0

    def _spawn(self) -> _Child:
        parent, child_end = self._ctx.Pipe()
        proc = self._ctx.Process(target=_serve, args=(self.fn, child_end), daemon=True)
        proc.start()
        child_end.close()
        parent.send(self.warmup)  # read by the child once its imports are done
        return _Child(proc, parent)

    def start(self) -> None:
        """Start the child and its spare now rather than on the first call."""
        self._current().ready()

    def _current(self) -> _Child:
        if self._child is None or not self._child.proc.is_alive():
            self._child, self._spare = self._spare or self._spawn(), None
        if self._spare is None:
            self._spare = self._spawn()
        return self._child

    def __call__(self, arg: A) -> R:
        child = self._current()
        child.ready()
        child.conn.send(arg)
        if not child.conn.poll(self.budget_s):
            self._replace(child)
            raise TimeBudgetExceeded(f"took longer than {self.budget_s:g} s; stopped")
        try:
            kind, value = child.conn.recv()
        except EOFError as exc:  # the child died (out of memory, a crash in C code)
            self._replace(child)
            raise ChildFailed("the worker process died while processing this input") from exc
        if kind == "error":
            raise value
        return value

    def _replace(self, child: _Child) -> None:
        child.kill()
        self._child = None
        # Promote the warm spare now and start warming the next one at once, so
        # that a second pathological input in a row finds it as ready as can be.
        self._current()
        self.restarts += 1
        log.warning("time-bounded worker process replaced", extra={"restarts": self.restarts})

    def close(self) -> None:
        for child in (self._child, self._spare):
            if child is not None:
                child.kill()
        self._child = self._spare = None
