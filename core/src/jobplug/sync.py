"""A blocking facade over :class:`~jobplug.Worker` for producers in sync code (Django, Flask,
scripts).

Calls go to the worker's own event loop when it runs in another thread; otherwise to a
private loop in a daemon thread, created on first use, so one broker connection serves
every call. Do not call it from inside a running event loop: use the async methods there.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from jobplug.errors import WorkerStateError
from jobplug.job import Args, Job

if TYPE_CHECKING:
    from jobplug.worker import Worker

__all__ = [
    "SyncWorker",
]

T = TypeVar("T")


class SyncWorker:
    """The blocking facade of a :class:`~jobplug.Worker`: ``worker.sync``."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def perform(self, job: Job) -> None:
        """Blocking :meth:`Worker.perform <jobplug.Worker.perform>`."""
        self._call(self._worker.perform(job))

    def perform_many(self, jobs: Sequence[Job]) -> None:
        """Blocking :meth:`Worker.perform_many <jobplug.Worker.perform_many>`."""
        self._call(self._worker.perform_many(jobs))

    def perform_in(self, job: Job, delay: timedelta | float) -> None:
        """Blocking :meth:`Worker.perform_in <jobplug.Worker.perform_in>`."""
        self._call(self._worker.perform_in(job, delay))

    def perform_at(self, job: Job, when: datetime) -> None:
        """Blocking :meth:`Worker.perform_at <jobplug.Worker.perform_at>`."""
        self._call(self._worker.perform_at(job, when))

    def perform_unique(
        self, job: Job, *, key: Args | None = None, at: datetime | None = None
    ) -> bool:
        """Blocking :meth:`Worker.perform_unique <jobplug.Worker.perform_unique>`."""
        return self._call(self._worker.perform_unique(job, key=key, at=at))

    def close(self) -> None:
        """Close the broker (when this facade owns the loop) and stop the private loop."""
        loop = self._loop
        if loop is None:
            return
        if self._worker._loop is None:
            self._call(self._worker.broker.close())
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._loop = self._thread = None

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise WorkerStateError("the sync facade cannot be used inside a running event loop")
        loop = self._worker._loop
        if loop is None or not loop.is_running():
            loop = self._private_loop()
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def _private_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=serve, name="jobplug-sync", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop
