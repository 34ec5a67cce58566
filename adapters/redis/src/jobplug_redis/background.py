"""A pool's background duties, each its own asyncio task, each surviving Redis outages.

* heartbeat (every 5 s, first at once): ``SADD <ns>worker_pools <pool>`` and ``HSET
  <ns>worker_pools:<pool>`` with every field gocraft reads (integer ``heartbeat_at``,
  ``started_at``, ``concurrency``, ``pid``; ``host``; comma-joined sorted ``job_names`` and
  ``worker_ids``);
* observer (every 1 s, only what changed, like gocraft's): ``<ns>worker:<id>`` hashes of
  busy workers (``EXPIRE 86400``), deleted when idle; the same tick retries failed finishes;
* requeuer: moves due scheduled/retry jobs, sleeping until the next one is due (at most
  1 s, so jobs another process schedules are seen within a second);
* reaper (at start, then every 10 s): see :mod:`jobplug_redis.reaper`;
* periodic enqueuer (if configured; at start, then every 2 min + up to 29 s, as gocraft).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from jobplug.adapter import Job, PeriodicSpec
from jobplug.errors import BrokerError, ConfigurationError
from jobplug_redis import codec
from jobplug_redis.connection import Client, driver_errors
from jobplug_redis.keys import Keys
from jobplug_redis.pool import WorkerPool
from jobplug_redis.reaper import Reaper
from jobplug_redis.recovery import UntrackedJobs
from jobplug_redis.requeuer import next_due, requeue_due
from jobplug_redis.wake import wait_event

log = logging.getLogger("jobplug.redis")

BEAT_PERIOD = 5.0
OBSERVE_PERIOD = 1.0
REQUEUE_MAX_SLEEP = 1.0
REAP_PERIOD = 10.0
SCAN_EVERY = 60  # reaper passes between two scans for in-progress lists
PERIODIC_SLEEP = 120.0


def _host() -> str:
    try:
        return socket.gethostname() or "hostname_errored"
    except OSError:
        return "hostname_errored"


class Maintenance:
    def __init__(
        self,
        client: Client,
        keys: Keys,
        pool: WorkerPool,
        safe_url: str,
        reaper: Reaper,
        move_script: Any,
        periodic: Sequence[PeriodicSpec],
    ) -> None:
        self.client = client
        self.keys = keys
        self.pool = pool
        self.safe_url = safe_url
        self.reaper = reaper
        self.move_script = move_script
        self.periodic = list(periodic)
        self.host = _host()
        self.pid = os.getpid()
        self.reap_period = REAP_PERIOD
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._inflight: set[asyncio.Future[Any]] = set()
        self._observed: dict[str, tuple[str, ...]] = {}
        self._last_outage = 0.0
        self._enqueue_periodic: Callable[..., Awaitable[int]] | None = None
        self.requeue_wake = asyncio.Event()
        self.untracked = UntrackedJobs(pool)

    async def start(self) -> None:
        if self.periodic:
            try:  # lazily: the cron module is only needed when periodic jobs are configured
                module = importlib.import_module("jobplug_redis.periodic")
            except ImportError as exc:
                raise ConfigurationError(
                    f"periodic jobs need jobplug_redis.periodic, which is not available: {exc}"
                ) from None
            self._enqueue_periodic = module.enqueue_periodic
        await self.beat()  # visible before the first fetch (gocraft beats after starting)
        loops = [self._every(BEAT_PERIOD, self.beat, "heartbeat", first=False)]
        loops.append(self._every(OBSERVE_PERIOD, self.observe, "observer", first=False))
        loops.append(self._requeue_loop())
        loops.append(self._reap_loop())
        if self._enqueue_periodic is not None:
            loops.append(self._periodic_loop())
        self._tasks = [asyncio.create_task(c, name="jobplug-redis-maintenance") for c in loops]

    async def stop(self) -> None:
        self._stopping = True
        self.requeue_wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._inflight:
            done, _ = await asyncio.wait(set(self._inflight), timeout=5.0)
            for task in done:  # retrieve errors of calls whose caller was cancelled
                if not task.cancelled():
                    task.exception()

    async def _every(
        self, period: float, op: Callable[[], Awaitable[None]], what: str, first: bool = True
    ) -> None:
        if not first:
            await asyncio.sleep(period)
        while not self._stopping:
            await self._guard(op, what)
            await asyncio.sleep(period)

    async def _guard(self, op: Callable[[], Awaitable[Any]], what: str) -> Any:
        # In its own task: redis-py may swallow a cancellation (see WorkerPool._call);
        # stop() waits for these before removing the heartbeat.
        task = asyncio.ensure_future(op())
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        try:
            with driver_errors(self.safe_url, what):
                return await asyncio.shield(task)
        except BrokerError as exc:
            self._last_outage = time.monotonic()
            log.warning("%s failed: %s", what, exc)
        except Exception:
            log.exception("%s failed", what)
        return None

    # -- heartbeat and observer ------------------------------------------------------
    async def beat(self) -> None:
        pool = self.pool
        fields = {
            "heartbeat_at": int(time.time()),
            "started_at": pool.started_at,
            "job_names": ",".join(sorted(pool.types)),
            "concurrency": len(pool.worker_ids),
            "worker_ids": ",".join(sorted(pool.worker_ids)),
            "host": self.host,
            "pid": self.pid,
        }
        pipe = self.client.pipeline(transaction=False)
        pipe.sadd(self.keys.worker_pools, pool.pool_id)
        pipe.hset(self.keys.heartbeat(pool.pool_id), mapping=fields)
        with driver_errors(self.safe_url, "heartbeat"):
            await pipe.execute()

    async def observe(self) -> None:
        if self.pool.pending:
            await self.pool.retry_pending()
        await self.untracked.recover()
        busy = self.pool.busy()
        pipe = self.client.pipeline(transaction=False)
        changed: dict[str, tuple[str, ...]] = {}
        for worker_id in dict.fromkeys([*self.pool.worker_ids, *busy, *self._observed]):
            item = busy.get(worker_id)
            state = _observation(*item) if item else ()
            if self._observed.get(worker_id, ()) == state:
                continue
            key = self.keys.worker(worker_id)
            if state:
                pipe.hset(key, mapping=dict(zip(_OBSERVED_FIELDS, state, strict=True)))
                pipe.expire(key, 86400)
            else:
                pipe.delete(key)
            changed[worker_id] = state
        if changed:
            await pipe.execute()
            self._observed.update(changed)

    async def clear(self) -> None:
        """Clean stop: no heartbeat, no observations (as gocraft's Stop)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.srem(self.keys.worker_pools, self.pool.pool_id)
        pipe.delete(self.keys.heartbeat(self.pool.pool_id))
        for worker_id in set(self.pool.worker_ids) | set(self._observed):
            pipe.delete(self.keys.worker(worker_id))
        await self._guard(pipe.execute, "heartbeat removal")

    # -- requeuer, reaper, periodic --------------------------------------------------
    async def _requeue_loop(self) -> None:
        while not self._stopping:
            moved = await self._guard(
                lambda: requeue_due(self.client, self.keys, self.move_script), "requeue"
            )
            if moved:
                self.pool.notify()
            due = await self._guard(lambda: next_due(self.client, self.keys), "requeue")
            sleep = REQUEUE_MAX_SLEEP
            if due is not None:
                sleep = min(sleep, max(0.0, due - time.time()))
            self.requeue_wake.clear()
            await wait_event(self.requeue_wake, max(sleep, 0.005))

    async def _reap_loop(self) -> None:
        passes = 0
        while not self._stopping:
            # After an outage every heartbeat looks stale: wait until pools had time to beat.
            if time.monotonic() - self._last_outage > BEAT_PERIOD * 2 or passes == 0:
                moved = await self._guard(
                    functools.partial(self.reaper.run_once, scan=passes % SCAN_EVERY == 0), "reap"
                )
                if moved:
                    self.pool.notify()
            passes += 1
            await asyncio.sleep(self.reap_period + random.uniform(0, 1))

    async def _periodic_loop(self) -> None:
        assert self._enqueue_periodic is not None
        enqueue = self._enqueue_periodic
        while not self._stopping:
            await self._guard(lambda: self._maybe_enqueue_periodic(enqueue), "periodic enqueue")
            await asyncio.sleep(PERIODIC_SLEEP + random.randint(0, 29))

    async def _maybe_enqueue_periodic(self, enqueue: Callable[..., Awaitable[int]]) -> None:
        # gocraft's shouldEnqueue: compares with now - 2 (it meant minutes, wrote seconds);
        # kept as is: enqueueing is idempotent, and skipping could leave gaps.
        last = await self.client.get(self.keys.last_periodic_enqueue)
        if last is not None:
            try:
                if int(last) >= int(time.time()) - int(PERIODIC_SLEEP / 60):
                    return
            except ValueError:
                pass
        count = await enqueue(self.client, self.keys.prefix, self.periodic)
        if count:
            self.requeue_wake.set()


_OBSERVED_FIELDS = ("job_name", "job_id", "started_at", "args")


def _observation(job: Job, started_at: int) -> tuple[str, ...]:
    args = codec.go_json(job.args) if job.args else ""
    return (job.handler, job.id, str(started_at), args)
