"""Middleware: an ordered chain of ``async def mw(job, call_next)`` around every handler.

The first middleware is the outermost. ``await call_next(job)`` runs the rest of the chain
and the handler, and returns the handler's result; not calling it skips the handler (the
job then counts as done). Exceptions flow back through the chain like in any call stack::

    async def timing(job, call_next):
        started = time.perf_counter()
        try:
            return await call_next(job)
        finally:
            log.info("%s took %.3fs", job.handler, time.perf_counter() - started)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from jobplug.job import Job

#: ``await call_next(job)``: runs the rest of the chain and the handler.
CallNext = Callable[[Job], Awaitable[Any]]
#: ``async def mw(job, call_next)``: wraps every handler (see the module docstring).
Middleware = Callable[[Job, CallNext], Awaitable[Any]]


def build_chain(middleware: Sequence[Middleware], endpoint: CallNext) -> CallNext:
    """Compose ``middleware`` around ``endpoint`` (first = outermost)."""
    call: CallNext = endpoint
    for mw in reversed(middleware):
        call = _link(mw, call)
    return call


def _link(mw: Middleware, call_next: CallNext) -> CallNext:
    def step(job: Job) -> Awaitable[Any]:
        return mw(job, call_next)

    return step
