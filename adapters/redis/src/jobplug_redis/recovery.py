"""Jobs in this pool's own in-progress lists that no delivery holds.

They appear when a fetch script ran but its reply never reached us (a dropped
connection, a Redis restart, a fetch cancelled by shutdown). No reaper would recover
them, since our pool is alive, so the pool puts them back itself: while running, after
finding them unheld on two checks in a row (a reply being processed right now is held a
moment later); at shutdown, at once (every fetch and finish is over by then).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from jobplug_redis.connection import driver_errors

if TYPE_CHECKING:
    from jobplug_redis.pool import JobType, WorkerPool

log = logging.getLogger("jobplug.redis")


class UntrackedJobs:
    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool
        self._unheld: set[tuple[JobType, bytes]] = set()

    async def _find(self) -> set[tuple[JobType, bytes]]:
        pool = self.pool
        held = pool.held()
        types = list(pool.types.values())
        pipe = pool.client.pipeline(transaction=False)
        for jt in types:
            pipe.lrange(jt.inprogress, 0, -1)
        with driver_errors(pool.safe_url, "in-progress check"):
            lists = await pipe.execute()
        found: set[tuple[JobType, bytes]] = set()
        for jt, raws in zip(types, lists, strict=True):
            found.update((jt, raw) for raw in raws if raw not in held)
        return found

    async def _put_back(self, items: set[tuple[JobType, bytes]]) -> int:
        pool = self.pool
        moved = 0
        for jt, raw in items:
            with driver_errors(pool.safe_url, "put back"):
                moved += int(
                    await pool.finish_to(
                        keys=[jt.inprogress, jt.lock, jt.lock_info, jt.jobs],
                        args=[pool.pool_id, raw, "r", 0, raw],
                    )
                )
        return moved

    async def put_back_all(self) -> int:
        """Shutdown: every unheld job back to the front of its queue."""
        return await self._put_back(await self._find())

    async def recover(self) -> int:
        """Running: put back jobs found unheld on this check and the previous one."""
        current = await self._find()
        stale = current & self._unheld
        self._unheld = current - stale
        moved = await self._put_back(stale) if stale else 0
        if moved:
            log.warning("put back %d job(s) fetched by this pool but never delivered", moved)
            self.pool.notify()
        return moved
