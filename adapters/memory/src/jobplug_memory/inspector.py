"""The ``inspect`` capability of the memory broker."""

from __future__ import annotations

import heapq
from datetime import datetime, timezone

from jobplug.adapter import (
    PAGE_SIZE,
    BusyWorker,
    Inspector,
    JobRecord,
    Page,
    PoolInfo,
    QueueInfo,
    utcnow,
)
from jobplug.errors import JobNotFoundError
from jobplug_memory.broker import MemoryBroker, _Timed


class MemoryInspector(Inspector):
    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker

    async def queues(self) -> list[QueueInfo]:
        b = self.broker
        b._promote_due()
        names = set(b.ready) | (set(b.config.handlers) if b.config else set())
        now = utcnow()
        out = []
        for name in sorted(names):
            queue = b.ready.get(name) or ()
            latency = (now - queue[0].enqueued_at).total_seconds() if queue else 0.0
            out.append(QueueInfo(name, len(queue), max(0.0, latency), name in b.paused))
        return out

    async def pools(self) -> list[PoolInfo]:
        return []  # one process: the worker itself; nothing to list across processes

    async def busy(self) -> list[BusyWorker]:
        return []

    async def scheduled(self, page: int = 1) -> Page:
        return self._timed_page("scheduled", page)

    async def retries(self, page: int = 1) -> Page:
        return self._timed_page("retry", page)

    async def dead(self, page: int = 1) -> Page:
        records = sorted(self.broker.dead, key=lambda r: r.at, reverse=True)
        return _page(records, page)

    async def retry_dead(self, job_id: str, at: datetime | None = None) -> None:
        record = self._find_dead(job_id)
        self.broker.dead.remove(record)
        await self._requeue(record)

    async def delete_dead(self, job_id: str, at: datetime | None = None) -> None:
        self.broker.dead.remove(self._find_dead(job_id))

    async def retry_all_dead(self) -> int:
        records, self.broker.dead = self.broker.dead, []
        for record in records:
            await self._requeue(record)
        return len(records)

    async def delete_all_dead(self) -> int:
        count = len(self.broker.dead)
        self.broker.dead = []
        return count

    async def delete_scheduled(self, job_id: str, at: datetime | None = None) -> None:
        self._delete_timed("scheduled", job_id)

    async def delete_retry(self, job_id: str, at: datetime | None = None) -> None:
        self._delete_timed("retry", job_id)

    async def pause(self, handler: str) -> None:
        await self.broker.pause(handler)

    async def unpause(self, handler: str) -> None:
        await self.broker.unpause(handler)

    # -- helpers ---------------------------------------------------------------------
    def _timed_page(self, kind: str, page: int) -> Page:
        self.broker._promote_due()
        items = sorted(t for t in self.broker.timed if t.kind == kind)
        records = [JobRecord(t.job, datetime.fromtimestamp(t.at, timezone.utc)) for t in items]
        return _page(records, page)

    def _find_dead(self, job_id: str) -> JobRecord:
        for record in self.broker.dead:
            if record.job.id == job_id:
                return record
        raise JobNotFoundError(f"no dead job with id {job_id!r}")

    async def _requeue(self, record: JobRecord) -> None:
        job = record.job
        job.clear_failure()
        job.enqueued_at = utcnow()
        await self.broker.enqueue([job])

    def _delete_timed(self, kind: str, job_id: str) -> None:
        timed: list[_Timed] = self.broker.timed
        for index, item in enumerate(timed):
            if item.kind == kind and item.job.id == job_id:
                timed[index] = timed[-1]
                timed.pop()
                heapq.heapify(timed)
                return
        raise JobNotFoundError(f"no {kind} job with id {job_id!r}")


def _page(records: list[JobRecord], page: int) -> Page:
    page = max(1, page)
    start = (page - 1) * PAGE_SIZE
    return Page(records[start : start + PAGE_SIZE], len(records), page)
