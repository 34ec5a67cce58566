"""Helpers for testing code that enqueues and runs jobplug jobs.

:class:`JobTester` attaches to a :class:`~jobplug.Worker`, records every job event through
the plugin hooks and asserts on them; :meth:`JobTester.drain` runs the pending jobs to the
end, deterministically, in the calling task::

    worker = jobplug.Worker(url="memory://?mode=inline")   # perform runs the job at once
    worker.register("send_email", send_email)
    with JobTester(worker) as jobs:
        await worker.perform(jobplug.Job("send_email", {"to": "a@example.com"}))
        jobs.assert_performed("send_email", args={"to": "a@example.com"})

"Performed" means the handler ran and finished (returned or raised ``Discard``), as in
Rails' ``assert_performed_with``; "enqueued" means ``perform*`` wrote the job. The pytest
plugin (:mod:`jobplug.pytest_plugin`) offers both as fixtures: ``jobplug_worker`` and
``jobplug_jobs``. Values in ``args`` may be ``unittest.mock.ANY``.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Literal

from jobplug.errors import ConfigurationError
from jobplug.hookspecs import hookimpl
from jobplug.job import Args, Job
from jobplug.worker import State, Worker

__all__ = [
    "EventKind",
    "JobEvent",
    "JobRecorder",
    "JobTester",
]

#: What happened to a job, as the hooks report it.
EventKind = Literal["enqueued", "started", "succeeded", "failed", "dead"]


class _Unset:
    def __repr__(self) -> str:
        return "<any args>"


_ANY_ARGS: Any = _Unset()


@dataclass(frozen=True)
class JobEvent:
    """One thing that happened to a job; ``job`` is a snapshot taken at that moment."""

    kind: EventKind
    job: Job
    error: BaseException | None = None
    duration: float | None = None
    at: datetime | None = None


class JobRecorder:
    """A pluggy plugin that records the job events of the worker it is registered with."""

    def __init__(self) -> None:
        self._events: list[JobEvent] = []
        self._lock = threading.Lock()  # sync facades run hooks on their own thread

    @property
    def events(self) -> list[JobEvent]:
        """A copy of the events recorded so far, oldest first."""
        with self._lock:
            return list(self._events)

    def clear(self) -> None:
        """Forget the recorded events."""
        with self._lock:
            self._events.clear()

    def _add(self, kind: EventKind, job: Job, **extra: Any) -> None:
        with self._lock:
            self._events.append(JobEvent(kind, copy.deepcopy(job), **extra))

    @hookimpl
    def jobplug_job_enqueued(self, job: Job, at: datetime | None) -> None:
        self._add("enqueued", job, at=at)

    @hookimpl
    def jobplug_job_started(self, job: Job) -> None:
        self._add("started", job)

    @hookimpl
    def jobplug_job_succeeded(self, job: Job, duration: float) -> None:
        self._add("succeeded", job, duration=duration)

    @hookimpl
    def jobplug_job_failed(
        self, job: Job, error: BaseException, duration: float, retry_at: datetime
    ) -> None:
        self._add("failed", job, error=error, duration=duration, at=retry_at)

    @hookimpl
    def jobplug_job_dead(self, job: Job, error: BaseException | None) -> None:
        self._add("dead", job, error=error)


class JobTester:
    """Records what ``worker``'s jobs do, asserts on it, and drains pending jobs.

    Usable as a context manager, which detaches the recorder on exit.
    """

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.recorder = JobRecorder()
        worker.plugin_manager.register(self.recorder)

    def close(self) -> None:
        """Detach from the worker (idempotent)."""
        if self.worker.plugin_manager.is_registered(self.recorder):
            self.worker.plugin_manager.unregister(self.recorder)

    def __enter__(self) -> JobTester:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def clear(self) -> None:
        """Forget what was recorded so far."""
        self.recorder.clear()

    # -- what happened ---------------------------------------------------------------
    def jobs(self, kind: EventKind, handler: str | None = None) -> list[Job]:
        """Snapshots of the jobs that had event ``kind``, oldest first."""
        return [
            e.job
            for e in self.recorder.events
            if e.kind == kind and (handler is None or e.job.handler == handler)
        ]

    def enqueued(self, handler: str | None = None) -> list[Job]:
        """The jobs enqueued (of ``handler``), oldest first."""
        return self.jobs("enqueued", handler)

    def performed(self, handler: str | None = None) -> list[Job]:
        """The jobs that ran and finished (of ``handler``), oldest first."""
        return self.jobs("succeeded", handler)

    def failed(self, handler: str | None = None) -> list[Job]:
        """The failures followed by a retry (of ``handler``), oldest first."""
        return self.jobs("failed", handler)

    def dead(self, handler: str | None = None) -> list[Job]:
        """The jobs that died (of ``handler``), oldest first."""
        return self.jobs("dead", handler)

    # -- assertions ------------------------------------------------------------------
    def assert_enqueued(
        self, handler: str, args: Args = _ANY_ARGS, *, times: int | None = None
    ) -> Job:
        """Assert ``handler`` was enqueued (with ``args``, ``times`` times); return the last."""
        return self._assert("enqueued", "enqueued", handler, args, times)

    def assert_performed(
        self, handler: str, args: Args = _ANY_ARGS, *, times: int | None = None
    ) -> Job:
        """Assert ``handler`` ran and finished (with ``args``, ``times`` times); return the last."""
        return self._assert("succeeded", "performed", handler, args, times)

    def assert_failed(
        self, handler: str, args: Args = _ANY_ARGS, *, times: int | None = None
    ) -> Job:
        """Assert ``handler`` failed and was scheduled for a retry; return the last such job.

        ``times`` counts the failures followed by a retry: the final failure, after which
        the job is dead, is counted by :meth:`assert_dead` instead. A handler registered with
        ``max_fails=3`` that always raises gives ``assert_failed(h, times=2)`` and
        ``assert_dead(h, times=1)``.
        """
        return self._assert("failed", "failed", handler, args, times)

    def assert_dead(self, handler: str, args: Args = _ANY_ARGS, *, times: int | None = None) -> Job:
        """Assert a job of ``handler`` died (failed for the last time, or bad args)."""
        return self._assert("dead", "dead", handler, args, times)

    def assert_not_enqueued(self, handler: str, args: Args = _ANY_ARGS) -> None:
        """Assert no job of ``handler`` (with ``args``) was enqueued."""
        self._assert_none("enqueued", "enqueued", handler, args)

    def assert_not_performed(self, handler: str, args: Args = _ANY_ARGS) -> None:
        """Assert no job of ``handler`` (with ``args``) ran and finished."""
        self._assert_none("succeeded", "performed", handler, args)

    def _matching(self, kind: EventKind, handler: str, args: Args) -> list[Job]:
        return [j for j in self.jobs(kind, handler) if args is _ANY_ARGS or j.args == args]

    def _assert(
        self, kind: EventKind, verb: str, handler: str, args: Args, times: int | None
    ) -> Job:
        found = self._matching(kind, handler, args)
        wanted = "" if args is _ANY_ARGS else f" with args {args!r}"
        if not found or (times is not None and len(found) != times):
            count = "" if times is None else f" {times} time(s), found {len(found)}"
            raise AssertionError(
                f"expected {handler!r} to be {verb}{wanted}{count}\n{self._summary()}"
            )
        return found[-1]

    def _assert_none(self, kind: EventKind, verb: str, handler: str, args: Args) -> None:
        found = self._matching(kind, handler, args)
        if found:
            wanted = "" if args is _ANY_ARGS else f" with args {args!r}"
            raise AssertionError(
                f"expected {handler!r} not to be {verb}{wanted}, "
                f"found {len(found)}\n{self._summary()}"
            )

    def _summary(self) -> str:
        events = self.recorder.events
        if not events:
            return "recorded: nothing (is the worker the one the code under test uses?)"
        lines = [f"  {e.kind:<9} {e.job.handler} {e.job.args!r}" for e in events]
        return "recorded:\n" + "\n".join(lines)

    # -- running ---------------------------------------------------------------------
    async def drain(self, *, timeout: float = 10.0, include_scheduled: bool = False) -> int:
        """Run pending jobs until none is left; return how many ran here.

        * Inline mode (``memory://?mode=inline``): nothing to do, ``perform`` ran them.
        * A started worker, or a producer whose in-process broker a started worker
          consumes: wait until the broker is empty (needs ``join()``, as ``memory://``).
        * A worker that is not started: run the jobs one by one in this task, including
          jobs that handlers enqueue meanwhile; with ``include_scheduled`` also wait for
          delayed jobs and retries to come due (needs ``pending()``, as ``memory://``).

        Raises ``TimeoutError`` if jobs are still pending after ``timeout`` seconds.
        """
        worker, broker = self.worker, self.worker.broker
        if broker.inline:
            return 0
        # A producer sharing an in-process broker with a started worker (memory://NAME):
        # that worker runs the jobs; subscribing here would take its place.
        consumed_elsewhere = broker.in_process and getattr(broker, "config", None) is not None
        if worker.state is State.RUNNING or consumed_elsewhere:
            join = _broker_method(broker, "join")
            await join(timeout=timeout, include_scheduled=include_scheduled)
            return 0
        if worker.state is not State.NEW:
            raise ConfigurationError(f"drain() on a worker that is {worker.state.value}")
        pending = _broker_method(broker, "pending") if include_scheduled else None
        return await _run_here(worker, timeout, pending)


def _broker_method(broker: object, name: str) -> Callable[..., Any]:
    method: Callable[..., Any] | None = getattr(broker, name, None)
    if not callable(method):
        raise ConfigurationError(
            f"{type(broker).__name__} has no {name}(); drain() needs it here "
            "(use memory://, or drain a worker that is not started)"
        )
    return method


async def _run_here(worker: Worker, timeout: float, pending: Callable[..., int] | None) -> int:
    """Fetch and process jobs sequentially in this task, as inline mode does."""
    broker = worker.broker
    await worker._ensure_connected()
    consumer = worker._make_consumer()
    await broker.subscribe(worker._config())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    ran = 0
    try:
        while True:
            remaining = deadline - loop.time()
            waiting = pending is not None and pending(include_scheduled=True) > 0
            if remaining <= 0:
                if waiting:
                    raise TimeoutError(f"jobs still pending after {timeout}s of drain()")
                return ran
            deliveries = await broker.fetch(worker.concurrency, remaining if waiting else 0)
            if not deliveries and not waiting:
                return ran
            for delivery in deliveries:
                await consumer.process(delivery)
                ran += 1
            await consumer.flush()
    finally:
        await broker.unsubscribe()
        consumer._executor.shutdown(wait=False)
