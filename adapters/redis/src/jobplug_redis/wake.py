"""Waking idle workers within milliseconds, even for jobs a Go producer pushed.

gocraft producers only ``LPUSH <ns>jobs:<name>``: there is no notification to listen to,
and gocraft's own workers poll (10 ms, 100 ms, 1 s, then every 5 s: issue #90). We cannot
consume with ``BLMOVE`` straight into the in-progress list, because the fetch must also
honour ``paused``, ``max_concurrency`` and the ``lock``/``lock_info`` counters atomically
(the fetch script does that). So an idle worker *waits* with a blocking command that
changes nothing: ``BLMOVE <queue> <queue> RIGHT RIGHT`` pops the oldest job and pushes it
back to the very same place in one atomic step, and returns as soon as the queue is
non-empty, whoever pushed. It then signals the fetch loop, which runs the fetch script.

One watcher per job type, each armed only while that queue was found empty and the
worker is idle; a watcher that saw a job disarms itself until the next empty fetch, so a
busy worker issues no blocking commands at all. Queues that are non-empty but cannot be
served (paused, or at max concurrency) are polled with a short backoff instead, and the
fetch loop re-runs the script at least once per fetch timeout as a bounded fallback (a
watcher whose connection broke, a restarted Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis import exceptions as rexc

from jobplug_redis.connection import Client

log = logging.getLogger("jobplug.redis")

#: Seconds one blocking call waits before it is re-issued (also bounds shutdown work).
BLOCK_SECONDS = 2.0


class Watcher:
    """Blocks on one queue while armed; calls ``on_job`` once it holds a job."""

    def __init__(self, client: Client, queue: str, on_job: Callable[[], None]) -> None:
        self.client = client
        self.queue = queue
        self.on_job = on_job
        self.armed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"jobplug-wake:{self.queue}")

    def arm(self) -> None:
        self.armed.set()

    def stopping(self) -> bool:
        return self._stopping

    async def stop(self) -> None:
        self._stopping = True
        self.armed.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        pause = 0.05
        while not self._stopping:
            await self.armed.wait()
            if self.stopping():
                return
            try:
                found = await self.client.blmove(
                    self.queue, self.queue, BLOCK_SECONDS, "RIGHT", "RIGHT"
                )
            except (rexc.RedisError, OSError) as exc:
                log.debug("wake-up watcher on %s failed: %s", self.queue, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)
                continue
            pause = 0.05
            if found is not None:
                self.armed.clear()
                self.on_job()


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` passes; returns whether it was set.

    Unlike ``asyncio.wait_for`` on Python < 3.12, a cancellation that arrives just as the
    event is set is never swallowed (a stopping worker must not keep fetching).
    """
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
    return event.is_set()
