"""The ``inspect`` capability of the SQLite broker: queues and the scheduled, retry and dead
jobs, read and managed with plain SQL (run in the broker's thread)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeVar

from jobplug.adapter import (
    PAGE_SIZE,
    BusyWorker,
    Inspector,
    Job,
    JobRecord,
    Page,
    PoolInfo,
    QueueInfo,
)
from jobplug.errors import JobNotFoundError, MalformedJobError
from jobplug_sqlite.store import WAITING, Store

if TYPE_CHECKING:
    from jobplug_sqlite.broker import SqliteBroker

T = TypeVar("T")
Row = tuple[int, str, str, bytes, float, "str | None"]
_COLUMNS = "id, handler, job_id, payload, run_at, error"


class SqliteInspector(Inspector):
    def __init__(self, broker: SqliteBroker) -> None:
        self.broker = broker

    async def _call(self, func: Callable[[Store], T]) -> T:
        store = await self.broker._db()
        return await self.broker._run(func, store)

    async def queues(self) -> list[QueueInfo]:
        return await self._call(_queues)

    async def pools(self) -> list[PoolInfo]:
        return []  # workers do not register themselves in the file

    async def busy(self) -> list[BusyWorker]:
        return []

    async def scheduled(self, page: int = 1) -> Page:
        return await self._call(lambda s: _page(s, "scheduled", "run_at ASC", page))

    async def retries(self, page: int = 1) -> Page:
        return await self._call(lambda s: _page(s, "retry", "run_at ASC", page))

    async def dead(self, page: int = 1) -> Page:
        return await self._call(lambda s: _page(s, "dead", "run_at DESC", page))

    async def retry_dead(self, job_id: str, at: datetime | None = None) -> None:
        await self._call(lambda s: _requeue(s, _one(s, "dead", job_id)))

    async def delete_dead(self, job_id: str, at: datetime | None = None) -> None:
        await self._call(lambda s: _delete(s, _one(s, "dead", job_id)))

    async def retry_all_dead(self) -> int:
        def run(store: Store) -> int:
            rows = store.db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE state='dead'").fetchall()
            for row in rows:
                _requeue(store, row)
            return len(rows)

        return await self._call(run)

    async def delete_all_dead(self) -> int:
        return await self._call(
            lambda s: s.db.execute("DELETE FROM jobs WHERE state='dead'").rowcount
        )

    async def delete_scheduled(self, job_id: str, at: datetime | None = None) -> None:
        await self._call(lambda s: _delete(s, _one(s, "scheduled", job_id)))

    async def delete_retry(self, job_id: str, at: datetime | None = None) -> None:
        await self._call(lambda s: _delete(s, _one(s, "retry", job_id)))

    async def pause(self, handler: str) -> None:
        await self.broker.pause(handler)

    async def unpause(self, handler: str) -> None:
        await self.broker.unpause(handler)


def _queues(store: Store) -> list[QueueInfo]:
    now = time.time()
    rows = store.db.execute(
        f"SELECT handler, COUNT(*), MIN(run_at) FROM jobs WHERE state IN {WAITING}"
        " AND run_at <= ? GROUP BY handler",
        (now,),
    ).fetchall()
    paused = {h for (h,) in store.db.execute("SELECT handler FROM paused")}
    counts = {handler: (count, now - oldest) for handler, count, oldest in rows}
    return [
        QueueInfo(h, counts.get(h, (0, 0.0))[0], max(0.0, counts.get(h, (0, 0.0))[1]), h in paused)
        for h in sorted(set(counts) | paused)
    ]


def _page(store: Store, state: str, order: str, page: int) -> Page:
    page = max(1, page)
    (total,) = store.db.execute("SELECT COUNT(*) FROM jobs WHERE state=?", (state,)).fetchone()
    rows = store.db.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE state=? ORDER BY {order}, id LIMIT ? OFFSET ?",
        (state, PAGE_SIZE, (page - 1) * PAGE_SIZE),
    ).fetchall()
    return Page([_record(row) for row in rows], total, page)


def _record(row: Row) -> JobRecord:
    _, handler, job_id, payload, run_at, error = row
    try:
        job = Job.decode(payload)
    except MalformedJobError:  # a dead raw payload: show what is known about it
        job = Job(handler, id=job_id, meta={"raw": repr(bytes(payload))[:200]})
    if error and not job.last_error:
        job.last_error = error
    return JobRecord(job, datetime.fromtimestamp(run_at, timezone.utc))


def _one(store: Store, state: str, job_id: str) -> Row:
    row = store.db.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE state=? AND job_id=? LIMIT 1", (state, job_id)
    ).fetchone()
    if row is None:
        raise JobNotFoundError(f"no {state} job with id {job_id!r}")
    return row  # type: ignore[no-any-return]


def _requeue(store: Store, row: Row) -> None:
    row_id, _, _, payload, _, _ = row
    try:
        job = Job.decode(payload)
    except MalformedJobError:
        new_payload = bytes(payload)  # still malformed: it will go dead again, with reason
    else:
        job.fails = 0
        new_payload = job.encode()
    store.db.execute(
        "UPDATE jobs SET state='ready', payload=?, run_at=?, error=NULL WHERE id=?",
        (new_payload, time.time(), row_id),
    )


def _delete(store: Store, row: Row) -> None:
    store.db.execute("DELETE FROM jobs WHERE id=?", (row[0],))
