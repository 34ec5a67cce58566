"""Handler-side evidence: what ran, when, with which args, and how it ended.

A :class:`Recorder` is both a middleware (it sees every job a worker runs) and a pluggy
plugin (it sees the runtime's failed/dead events). Every record wakes the waiters, so the
suite waits for events, never for fixed delays; every wait has a deadline and fails with
what was seen so far.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobplug import CallNext, Job, hookimpl


@dataclass
class Run:
    """One execution of a handler."""

    handler: str
    job_id: str
    args: dict[str, Any]
    fails: int
    started: float  # wall clock (time.time()) when the handler was entered
    worker: str
    outcome: str = "running"  # running | ok | error
    error: str | None = None
    queue: str = "default"
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Dead:
    handler: str
    job_id: str
    fails: int
    reason: str | None


@dataclass
class Recorder:
    runs: list[Run] = field(default_factory=list)
    dead: list[Dead] = field(default_factory=list)
    failed_at: dict[tuple[str, int], datetime] = field(default_factory=dict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def middleware(self, worker: str = "w") -> Callable[[Job, CallNext], Awaitable[Any]]:
        """A middleware recording each run of the worker named ``worker``."""

        async def record(job: Job, call_next: CallNext) -> Any:
            run = Run(job.handler, job.id, job.args, job.fails, time.time(), worker)
            run.queue, run.meta = job.queue, dict(job.meta)
            self.runs.append(run)
            self._changed.set()
            try:
                result = await call_next(job)
            except BaseException as exc:
                run.outcome, run.error = "error", f"{type(exc).__name__}: {exc}"
                raise
            else:
                run.outcome = "ok"
                return result
            finally:
                self._changed.set()

        return record

    # -- pluggy hooks (Worker(plugins=[recorder])) -------------------------------------
    @hookimpl
    def jobplug_job_failed(self, job: Job, retry_at: datetime) -> None:
        if job.failed_at is not None:
            self.failed_at[(job.id, job.fails)] = job.failed_at
        self._changed.set()

    @hookimpl
    def jobplug_job_dead(self, job: Job) -> None:
        self.dead.append(Dead(job.handler, job.id, job.fails, job.last_error))
        self._changed.set()

    # -- queries ---------------------------------------------------------------------
    def of(self, handler: str) -> list[Run]:
        return [r for r in self.runs if r.handler == handler]

    def finished(self, handler: str) -> list[Run]:
        return [r for r in self.runs if r.handler == handler and r.outcome != "running"]

    def tokens(self, handler: str) -> list[Any]:
        return [r.args.get("token") for r in self.runs if r.handler == handler]

    async def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until ``predicate()`` holds; fail after ``timeout`` seconds naming ``what``."""
        __tracebackhide__ = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout:.1f}s waiting for {what}; "
                    f"runs so far: {self.summary()}"
                )
            self._changed.clear()
            waiter = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait({waiter}, timeout=remaining)
            finally:
                waiter.cancel()

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for run in self.runs:
            key = f"{run.handler}:{run.outcome}"
            counts[key] = counts.get(key, 0) + 1
        dead = f" dead={len(self.dead)}" if self.dead else ""
        return (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none") + dead


async def poll(
    probe: Callable[[], Awaitable[bool]], timeout: float, what: str, interval: float = 0.05
) -> None:
    """Poll an external state (an inspector, a file) until ``probe()`` is true, bounded.

    For state with no event to await: the interval is short and the deadline fails loudly.
    """
    __tracebackhide__ = True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await probe():
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        await asyncio.sleep(interval)
