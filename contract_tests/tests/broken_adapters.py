"""Deliberately broken adapters: the suite must fail each one on the right tests.

Each is a small subclass of a correct adapter (memory or the SQLite example) with one
defect a real adapter could plausibly have. ``SETUPS`` maps a name to a function building
the contract setup for one test.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import ClassVar, TypeVar

from jobplug import BrokerConnectionError, Capability, ConsumerConfig, Delivery, Inspector, Job
from jobplug.adapter import Args, Page, QueueInfo
from jobplug_contract import AdapterSetup, unique_name
from jobplug_memory import MemoryBroker
from jobplug_memory.inspector import MemoryInspector
from jobplug_sqlite import SqliteBroker
from jobplug_sqlite.contract import contract_setup
from jobplug_sqlite.store import Store

T = TypeVar("T")


class AcksBeforeRunning(SqliteBroker):
    """Deletes each job as it hands it out: a worker that dies mid-job loses it."""

    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        deliveries = await super().fetch(max_jobs, timeout)
        if deliveries:
            await self.ack(deliveries)
        return deliveries


class RunsDelayedNow(MemoryBroker):
    """Ignores the run time of delayed jobs."""

    async def enqueue(self, jobs: Sequence[Job], at: datetime | None = None) -> None:
        await super().enqueue(jobs, None)


class DropsFailedJobs(MemoryBroker):
    """Forgets a job whose handler failed instead of scheduling its retry."""

    async def retry(self, delivery: Delivery, at: datetime) -> None:
        await self.ack([delivery])


class LeaksDriverError(SqliteBroker):
    """Opens its database without wrapping the driver's errors."""

    async def connect(self) -> None:
        sqlite3.connect(self.path).close()  # raises sqlite3.OperationalError as it is
        await super().connect()


class LeaksPassword(MemoryBroker):
    """Says which URL it could not reach, password and all."""

    async def connect(self) -> None:
        if "unreachable" in self.url:
            raise BrokerConnectionError(f"cannot reach {self.url}")
        await super().connect()


class DeliversTwice(MemoryBroker):
    """Hands every job out twice."""

    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        deliveries = await super().fetch(max_jobs, timeout)
        return deliveries + [Delivery(d.job) for d in deliveries]


class HidesUnique(MemoryBroker):
    """Implements unique jobs without declaring them (an undeclared capability must raise)."""

    capabilities: ClassVar[frozenset[Capability]] = MemoryBroker.capabilities - {Capability.UNIQUE}

    async def enqueue_unique(
        self, job: Job, key: Args | None = None, at: datetime | None = None
    ) -> bool:
        await self.enqueue([job], at)
        return True


# -- escapes found by certifying a third party's adapter -------------------------------
class AckNeverDeletes(SqliteBroker):
    """Stops renewing an acked job's lease but never deletes it: it runs again."""

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        store = await self._db()
        await self._run(store._settle, [d.receipt for d in deliveries])


class AckDoesNothing(SqliteBroker):
    """An ack that does nothing at all."""

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        return None


class NeverRenewsLeases(SqliteBroker):
    """Takes a lease per job and never renews it: a long job is handed out again."""

    async def _renew_leases(self) -> None:
        await asyncio.Event().wait()


class PausesPerProcess(SqliteBroker):
    """Keeps paused handlers in the process: another process ignores the pause."""

    paused_here: ClassVar[set[str]] = set()

    async def pause(self, handler: str) -> None:
        self.paused_here.add(handler)

    async def unpause(self, handler: str) -> None:
        self.paused_here.discard(handler)

    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        subscribed = self._handlers
        self._handlers = tuple(h for h in subscribed if h not in self.paused_here)
        try:
            if not self._handlers:
                await asyncio.sleep(timeout)
                return []
            return await super().fetch(max_jobs, timeout)
        finally:
            self._handlers = subscribed


class CapsPerProcess(SqliteBroker):
    """Declares max-concurrency but counts running jobs per process only."""

    capabilities: ClassVar[frozenset[Capability]] = SqliteBroker.capabilities | {
        Capability.MAX_CONCURRENCY
    }
    running_here: ClassVar[Counter[str]] = Counter()

    async def subscribe(self, config: ConsumerConfig) -> None:
        self.caps = {name: spec.max_concurrency for name, spec in config.handlers.items()}
        await super().subscribe(config)

    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        capped = [name for name, cap in self.caps.items() if cap]
        room = min((self.caps[n] - self.running_here[n] for n in capped), default=max_jobs)
        if room <= 0:
            await asyncio.sleep(min(timeout, 0.01))
            return []
        take = min(max_jobs, room)
        self.running_here.update({n: take for n in capped})  # reserved before awaiting
        deliveries: list[Delivery] = []
        try:
            deliveries = await super().fetch(take, timeout)
        finally:
            got = Counter(d.job.handler for d in deliveries)
            self.running_here.update({n: got[n] - take for n in capped})
            self.running_here.update(
                d.job.handler for d in deliveries if d.job.handler not in capped
            )
        return deliveries

    def _done(self, deliveries: Sequence[Delivery]) -> None:
        self.running_here.subtract(d.job.handler for d in deliveries)

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        self._done(deliveries)
        await super().ack(deliveries)

    async def retry(self, delivery: Delivery, at: datetime) -> None:
        self._done([delivery])
        await super().retry(delivery, at)

    async def bury(self, delivery: Delivery) -> None:
        self._done([delivery])
        await super().bury(delivery)

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        self._done(deliveries)
        await super().release(deliveries)


class LeaksLaterDriverErrors(SqliteBroker):
    """Wraps the driver's errors when opening the file, but not afterwards (a lock or a
    missing table on fetch escapes as sqlite3.OperationalError)."""

    async def _run(self, func: Callable[..., T], *args: object) -> T:
        if func is Store or self._executor is None:
            return await super()._run(func, *args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(func, *args))


class LogsPasswordOnConnect(MemoryBroker):
    """Logs the URL it connected to, password and all, at INFO."""

    async def connect(self) -> None:
        logging.getLogger("broken.adapter").info("connected to %s", self.url)
        await super().connect()


class UniqueIgnoresAt(MemoryBroker):
    """Writes a unique job to run now, whatever its time."""

    async def enqueue_unique(
        self, job: Job, key: Args | None = None, at: datetime | None = None
    ) -> bool:
        return await super().enqueue_unique(job, key, None)


class LosesQueueAndMeta(SqliteBroker):
    """Stores only a job's handler, id and args."""

    async def enqueue(self, jobs: Sequence[Job], at: datetime | None = None) -> None:
        bare = [Job(j.handler, j.args, id=j.id, enqueued_at=j.enqueued_at) for j in jobs]
        await super().enqueue(bare, at)


class ReadsLocalTime(SqliteBroker):
    """Stores a run time as a naive UTC wall clock, read back as local time."""

    async def enqueue(self, jobs: Sequence[Job], at: datetime | None = None) -> None:
        if at is not None:
            naive = at.astimezone(timezone.utc).replace(tzinfo=None)
            at = datetime.fromtimestamp(naive.timestamp(), timezone.utc)
        await super().enqueue(jobs, at)


class RunsDelayedLate(MemoryBroker):
    """Runs delayed jobs 4 s late (and declares a late_bound of an hour to pass)."""

    async def enqueue(self, jobs: Sequence[Job], at: datetime | None = None) -> None:
        await super().enqueue(jobs, None if at is None else at + timedelta(seconds=4))


class _InspectorDefect(MemoryInspector):
    defect = ""

    async def queues(self) -> list[QueueInfo]:
        infos = await super().queues()
        if self.defect != "counts_scheduled":
            return infos
        later = Counter(t.job.handler for t in self.broker.timed)
        return [
            QueueInfo(q.handler, q.count + later[q.handler], q.latency, q.paused) for q in infos
        ]

    async def dead(self, page: int = 1) -> Page:
        return await super().dead(1 if self.defect == "dead_page_one" else page)

    async def delete_dead(self, job_id: str, at: datetime | None = None) -> None:
        await super().delete_dead(job_id, at)
        if self.defect == "delete_all":
            self.broker.dead.clear()


def inspector_defect(defect: str) -> type[MemoryBroker]:
    class Broken(MemoryBroker):
        def inspector(self) -> Inspector:
            inspector = _InspectorDefect(self)
            inspector.defect = defect
            return inspector

    Broken.__name__ = Broken.__qualname__ = f"Inspector_{defect}"
    return Broken


def memory(cls: type[MemoryBroker], **options: object) -> Callable[[Path], AdapterSetup]:
    def build(tmp_path: Path) -> AdapterSetup:
        url = f"memory://{unique_name('broken-')}"
        return AdapterSetup(url=url, broker_class=cls, wait=3, **options)  # type: ignore[arg-type]

    return build


def sqlite(cls: type[SqliteBroker]) -> Callable[[Path], AdapterSetup]:
    def build(tmp_path: Path) -> AdapterSetup:
        return replace(contract_setup(f"sqlite:///{tmp_path}/jobs.db"), broker_class=cls, wait=3)

    return build


def leaky(tmp_path: Path) -> AdapterSetup:
    setup = memory(LeaksPassword)(tmp_path)
    return replace(setup, unreachable_url="memory://user:s3cret-pw@unreachable/")


SETUPS: dict[str, Callable[[Path], AdapterSetup]] = {
    "acks_before_running": sqlite(AcksBeforeRunning),
    "runs_delayed_now": memory(RunsDelayedNow),
    "drops_failed_jobs": memory(DropsFailedJobs),
    "leaks_driver_error": sqlite(LeaksDriverError),
    "leaks_password": leaky,
    "delivers_twice": memory(DeliversTwice),
    "hides_unique": memory(HidesUnique),
    "ack_never_deletes": sqlite(AckNeverDeletes),
    "ack_does_nothing": sqlite(AckDoesNothing),
    "never_renews_leases": sqlite(NeverRenewsLeases),
    "pauses_per_process": sqlite(PausesPerProcess),
    "caps_per_process": sqlite(CapsPerProcess),
    "leaks_later_driver_errors": sqlite(LeaksLaterDriverErrors),
    "logs_password": lambda tmp_path: replace(
        memory(LogsPasswordOnConnect)(tmp_path),
        url=f"memory://contract:s3cret-pw@{unique_name('broken-')}",
    ),
    "unique_ignores_at": memory(UniqueIgnoresAt),
    "loses_queue_and_meta": sqlite(LosesQueueAndMeta),
    "reads_local_time": sqlite(ReadsLocalTime),
    "declares_huge_late_bound": memory(RunsDelayedLate, late_bound=3600.0),
    "counts_scheduled_as_queued": memory(inspector_defect("counts_scheduled")),
    "dead_page_one": memory(inspector_defect("dead_page_one")),
    "delete_dead_deletes_all": memory(inspector_defect("delete_all")),
}

__all__ = ["SETUPS", "Store"]
