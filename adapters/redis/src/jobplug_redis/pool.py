"""One worker pool (gocraft's ``WorkerPool``): fetch, finish, and what is in flight.

A pool has a fresh 24-hex id per ``subscribe`` and one in-progress list per job type,
``<ns>jobs:<name>:<pool>:inprogress``. Fetching moves jobs there atomically (the fetch
script, several per call); every way out of it (ack, retry, bury, release) is a script
that removes the exact fetched bytes and fixes the lock counters in the same step. A
finish that fails (Redis unreachable) is kept and retried by the maintenance loop: the
scripts are idempotent, so a retried finish never counts twice.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobplug.adapter import ConsumerConfig, Delivery, HandlerSpec, Job, new_job_id
from jobplug.errors import BrokerError, MalformedJobError
from jobplug_redis import codec, scripts
from jobplug_redis.collisions import clear_collisions
from jobplug_redis.connection import Client, driver_errors
from jobplug_redis.keys import Keys
from jobplug_redis.priority import quotas, sample_order
from jobplug_redis.unique import take_unique_markers
from jobplug_redis.wake import Watcher, wait_event

log = logging.getLogger("jobplug.redis")

#: fetch script states (see scripts.FETCH); only "empty" queues get a wake-up watcher
EMPTY = 0
WRONG_TYPE = 5


@dataclass(eq=False)
class JobType:
    spec: HandlerSpec
    fetch_keys: list[str]
    jobs: str
    inprogress: str
    lock: str
    lock_info: str


@dataclass(eq=False)
class Receipt:
    """What the pool needs to finish a delivery: the exact bytes it fetched."""

    raw: bytes
    type: JobType
    worker_id: str
    started_at: int
    args_null: bool = False


class WorkerPool:
    def __init__(self, client: Client, keys: Keys, config: ConsumerConfig, safe_url: str) -> None:
        self.client = client
        self.keys = keys
        self.config = config
        self.safe_url = safe_url
        self.pool_id = new_job_id()
        self.started_at = int(time.time())
        self.types: dict[str, JobType] = {}
        for name in sorted(config.handlers):
            k = keys.fetch_group(name, self.pool_id)
            self.types[name] = JobType(config.handlers[name], k, k[0], k[1], k[3], k[4])
        self._order = list(self.types.values())
        self._priorities = [t.spec.priority for t in self._order]
        self.worker_ids = [new_job_id() for _ in range(max(1, config.concurrency))]
        self._free_workers = list(reversed(self.worker_ids))
        self._wrong_type_reported: set[str] = set()
        #: receipts handed to the core and not finished yet
        self.outstanding: dict[Receipt, Job] = {}
        #: finishes that failed; retried by the maintenance loop
        self.pending: list[tuple[Callable[[], Awaitable[object]], list[bytes]]] = []
        #: raw jobs whose finish has not succeeded yet (in flight or pending)
        self._finishing: Counter[bytes] = Counter()
        self.wake = asyncio.Event()
        #: driver calls still running (see ``_call``)
        self._inflight: set[asyncio.Future[object]] = set()
        self.closing = False
        self._poll = 0.02
        self._fetch = client.register_script(scripts.FETCH)
        self._finish = client.register_script(scripts.FINISH)
        self._finish_to = self.finish_to = client.register_script(scripts.FINISH_TO)
        self.watchers = {
            name: Watcher(client, t.jobs, self.notify) for name, t in self.types.items()
        }

    def notify(self) -> None:
        """Something may be fetchable now: wake an idle fetch."""
        self.wake.set()

    def start(self) -> None:
        for watcher in self.watchers.values():
            watcher.start()

    async def stop_watchers(self) -> None:
        self.closing = True
        self.wake.set()
        await asyncio.gather(*(w.stop() for w in self.watchers.values()))

    async def _call(self, aw: Awaitable[Any]) -> Any:
        """Await a driver call so that cancelling the caller takes effect at once.

        redis-py can swallow a cancellation that arrives as a command starts; the call
        runs in its own task instead, and ``drain`` waits for such orphans before the
        pool puts back what they fetched.
        """
        task = asyncio.ensure_future(aw)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return await asyncio.shield(task)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for driver calls whose caller was cancelled."""
        if self._inflight:
            done, _ = await asyncio.wait(set(self._inflight), timeout=timeout)
            for task in done:  # retrieve errors of calls whose caller was cancelled
                if not task.cancelled():
                    task.exception()

    # -- fetching --------------------------------------------------------------------
    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while not self.closing:
            self.wake.clear()
            deliveries, states = await self._fetch_once(max_jobs)
            if deliveries:
                self._poll = 0.02
                return deliveries
            if states is None:  # jobs were taken but all malformed: look again at once
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            blocked = False
            for jt, state in zip(self._order, states, strict=True):
                if state == EMPTY:
                    self.watchers[jt.spec.name].arm()
                else:
                    blocked = True
            wait = min(remaining, self._poll) if blocked else remaining
            if blocked:
                self._poll = min(self._poll * 2, 0.5)
            await wait_event(self.wake, wait)
        return []

    async def _fetch_once(self, max_jobs: int) -> tuple[list[Delivery], list[int] | None]:
        order = sample_order(self._priorities) if len(self._order) > 1 else [0]
        share = quotas(self._priorities, max_jobs)
        keys: list[str] = []
        for index in order:
            keys.extend(self._order[index].fetch_keys)
        args: list[object] = [self.pool_id, max_jobs, *(share[i] for i in order)]
        with driver_errors(self.safe_url, "fetch"):
            flat, raw_states = await self._call(self._fetch(keys=keys, args=args))
        states = [0] * len(order)
        for position, index in enumerate(order):
            states[index] = state = int(raw_states[position])
            if state == WRONG_TYPE:
                await self._wrong_type(self._order[index])
        if not flat:
            return [], states
        now = int(time.time())
        deliveries: list[Delivery] = []
        bad: list[tuple[JobType, bytes, str]] = []
        unique: list[Delivery] = []
        for i in range(0, len(flat), 2):
            raw, jt = flat[i], self._order[order[int(flat[i + 1]) - 1]]
            if raw is None:  # cannot happen (LLEN was checked), but never index None
                continue
            try:
                job, args_null = codec.decode_job(raw)
            except MalformedJobError as exc:
                bad.append((jt, raw, str(exc)))
                continue
            worker = self._free_workers.pop() if self._free_workers else new_job_id()
            receipt = Receipt(raw, jt, worker, now, args_null)
            delivery = Delivery(job, receipt)
            self.outstanding[receipt] = job
            deliveries.append(delivery)
            if job.meta.get("unique"):
                unique.append(delivery)
        if bad:
            await self._bury_malformed(bad, now)
        if unique:
            await take_unique_markers(self.client, self.keys.prefix, self.safe_url, unique)
        return deliveries, (states if deliveries or not bad else None)

    async def _wrong_type(self, jt: JobType) -> None:
        name = jt.spec.name
        if name in self._wrong_type_reported:
            return
        if await clear_collisions(self.client, self.keys, name, self.safe_url):
            return  # the next fetch takes this type again
        self._wrong_type_reported.add(name)
        log.error(
            "jobs of %r are not fetched: %s or one of its keys (:paused, :lock, :lock_info,"
            " :max_concurrency) holds a value of the wrong type; delete it. Other job types"
            " go on.",
            name,
            jt.jobs,
        )

    async def _bury_malformed(self, bad: list[tuple[JobType, bytes, str]], now: int) -> None:
        """A payload that is not a job goes to dead with why, its text kept; we go on."""
        for jt, raw, reason in bad:
            log.error("malformed job in %s moved to dead: %s", jt.jobs, reason)
            payload = codec.malformed_record(jt.spec.name, new_job_id(), raw, reason, now)
            try:
                with driver_errors(self.safe_url, "bury malformed job"):
                    await self._finish_to(
                        keys=[jt.inprogress, jt.lock, jt.lock_info, self.keys.dead],
                        args=[self.pool_id, raw, "z", now, payload],
                    )
            except BrokerError as exc:
                log.warning("could not bury a malformed job (%s); it stays in progress", exc)

    # -- finishing -------------------------------------------------------------------
    def _done(self, receipt: Receipt) -> None:
        if self.outstanding.pop(receipt, None) is not None:
            self._free_workers.append(receipt.worker_id)
        self.wake.set()  # a slot under max_concurrency may have opened

    async def _run_or_keep(
        self, what: str, op: Callable[[], Awaitable[object]], raws: list[bytes]
    ) -> None:
        """Run a finish; if it fails (or its caller is cancelled) keep it for a retry.

        Until it has succeeded its jobs count as held, so the untracked-job check never
        puts back a job whose ack is merely late.
        """
        self._finishing.update(raws)
        task = asyncio.ensure_future(op())
        self._inflight.add(task)

        def settled(done: asyncio.Future[object]) -> None:
            self._inflight.discard(done)
            if done.cancelled() or done.exception() is not None:
                self.pending.append((op, raws))
            else:
                self._finished(raws)

        task.add_done_callback(settled)
        with driver_errors(self.safe_url, what):
            await asyncio.shield(task)

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        groups: dict[JobType, list[bytes]] = {}
        for delivery in deliveries:
            receipt: Receipt = delivery.receipt
            groups.setdefault(receipt.type, []).append(receipt.raw)
            self._done(receipt)
        keys: list[str] = []
        args: list[object] = [self.pool_id]
        for jt, raws in groups.items():
            keys += [jt.inprogress, jt.lock, jt.lock_info]
            args.append(len(raws))
            args.extend(raws)

        async def op() -> object:
            return await self._finish(keys=keys, args=args)

        await self._run_or_keep("ack", op, [r for raws in groups.values() for r in raws])

    async def retry(self, delivery: Delivery, at: datetime) -> None:
        receipt: Receipt = delivery.receipt
        payload = codec.encode_job(delivery.job, receipt.args_null)
        await self._move(receipt, "retry", self.keys.retry, "z", math.ceil(at.timestamp()), payload)

    async def bury(self, delivery: Delivery) -> None:
        receipt: Receipt = delivery.receipt
        payload = codec.encode_job(delivery.job, receipt.args_null)
        await self._move(receipt, "bury", self.keys.dead, "z", int(time.time()), payload)

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in reversed(deliveries):
            receipt: Receipt = delivery.receipt
            await self._move(receipt, "release", receipt.type.jobs, "r", 0, receipt.raw)

    async def _move(
        self, receipt: Receipt, what: str, dest: str, mode: str, score: int, payload: bytes
    ) -> None:
        self._done(receipt)
        jt = receipt.type
        keys = [jt.inprogress, jt.lock, jt.lock_info, dest]
        args = [self.pool_id, receipt.raw, mode, score, payload]

        async def op() -> object:
            return await self._finish_to(keys=keys, args=args)

        await self._run_or_keep(what, op, [receipt.raw])

    async def retry_pending(self) -> None:
        """Re-run finishes that failed earlier (idempotent scripts)."""
        while self.pending:
            op, raws = self.pending[0]
            with driver_errors(self.safe_url, "retrying a finish"):
                await op()
            self.pending.pop(0)
            self._finished(raws)

    def _finished(self, raws: list[bytes]) -> None:
        # Counter.subtract would keep every finished job at 0: memory and held() would
        # grow with each job ever processed
        for raw in raws:
            left = self._finishing[raw] - 1
            if left > 0:
                self._finishing[raw] = left
            else:
                self._finishing.pop(raw, None)

    async def release_outstanding(self) -> None:
        """Put back every job handed out and not finished (shutdown)."""
        for receipt in list(self.outstanding):
            try:
                await self._move(receipt, "release", receipt.type.jobs, "r", 0, receipt.raw)
            except BrokerError as exc:
                log.warning("could not put a job back (%s); the reaper will", exc)

    def held(self) -> set[bytes]:
        """Raw jobs this pool is responsible for: handed out, or being finished."""
        held = {r.raw for r in self.outstanding}
        held.update(self._finishing)
        return held

    def busy(self) -> dict[str, tuple[Job, int]]:
        """worker id -> (job, started_at) for the observer hashes."""
        return {r.worker_id: (job, r.started_at) for r, job in self.outstanding.items()}
