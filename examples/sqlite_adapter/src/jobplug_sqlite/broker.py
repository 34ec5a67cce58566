"""``SqliteBroker``: the jobplug Broker interface over :mod:`jobplug_sqlite.store`.

sqlite3 blocks, so every call runs in one worker thread per broker (one connection, in
order). Fetching polls: SQLite has no notifications, and a short poll of an indexed
query is cheap. Durability comes from the file; at-least-once from leases renewed while
jobs run.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, TypeVar
from urllib.parse import urlsplit

from jobplug import Broker, Capability, ConsumerConfig, Delivery, Job
from jobplug.adapter import Args, query_options, utcnow
from jobplug.errors import BrokerConnectionError, BrokerError, ConfigurationError
from jobplug_sqlite.store import Store

if TYPE_CHECKING:
    from jobplug.adapter import Inspector

T = TypeVar("T")


def database_path(url: str) -> str:
    """``sqlite:///rel.db`` -> ``rel.db``; ``sqlite:////abs.db`` -> ``/abs.db``."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc or not parts.path.startswith("/"):
        raise ConfigurationError(
            "expected sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    path = parts.path[1:]
    if not path:
        raise ConfigurationError("the sqlite:// URL names no database file")
    return path


class SqliteBroker(Broker):
    """Durable jobs in one SQLite file, shared by every process that opens it."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.DURABLE,
            Capability.DELAYED,
            Capability.DEAD_LETTER,
            Capability.UNIQUE,
            Capability.PAUSE,
            Capability.INSPECT,
        }
    )

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.path = database_path(url)
        options = query_options(url)
        try:
            self.lease = float(options.get("lease", "30"))
            self.poll = float(options.get("poll", "0.05"))
        except ValueError:
            raise ConfigurationError(f"lease and poll must be seconds: {self.safe_url}") from None
        self._store: Store | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._handlers: tuple[str, ...] = ()
        self._renewer: asyncio.Task[None] | None = None

    # -- plumbing --------------------------------------------------------------------
    async def connect(self) -> None:
        if self._store is not None:
            return
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="jobplug-sqlite")
        try:
            self._store = await self._run(Store, self.path)
        except BrokerError as exc:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise BrokerConnectionError(f"cannot open {self.safe_url}: {exc}") from exc.__cause__

    async def _run(self, func: Callable[..., T], *args: object) -> T:
        if self._executor is None:
            raise BrokerError(f"{self.safe_url} is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(func, *args))
        except sqlite3.Error as exc:  # never let a driver error out
            raise BrokerError(f"sqlite error on {self.safe_url}: {exc}") from exc

    async def _db(self) -> Store:
        await self.connect()
        assert self._store is not None
        return self._store

    async def close(self) -> None:
        await self._stop_renewer()
        if self._store is not None:
            store, self._store = self._store, None
            await self._run(store.close)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    # -- producing -------------------------------------------------------------------
    async def enqueue(self, jobs: Sequence[Job], at: datetime | None = None) -> None:
        store = await self._db()
        await self._run(store.insert, list(jobs), None if at is None else at.timestamp())

    async def enqueue_unique(
        self, job: Job, key: Args | None = None, at: datetime | None = None
    ) -> bool:
        store = await self._db()
        ukey = json.dumps([job.handler, job.args if key is None else key], sort_keys=True)
        return await self._run(
            store.insert_unique, job, ukey, None if at is None else at.timestamp()
        )

    # -- consuming -------------------------------------------------------------------
    async def subscribe(self, config: ConsumerConfig) -> None:
        await self._db()
        self._handlers = tuple(config.handlers)
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew_leases(), name="jobplug-sqlite-lease")

    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        store = await self._db()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            # Rows taken are recorded in the store's thread, so even if this fetch is
            # cancelled mid-call they are released by unsubscribe(), not lost.
            taken = await self._run(store.take, self._handlers, max_jobs, self.lease)
            if taken:
                return [Delivery(job, receipt=row_id) for row_id, job in taken]
            remaining = deadline - loop.time()
            if remaining <= 0 or not self._handlers:
                return []
            await asyncio.sleep(min(self.poll, remaining))

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        store = await self._db()
        await self._run(store.delete, [d.receipt for d in deliveries])

    async def retry(self, delivery: Delivery, at: datetime) -> None:
        store = await self._db()
        await self._run(store.reschedule, delivery.receipt, delivery.job, at.timestamp())

    async def bury(self, delivery: Delivery) -> None:
        store = await self._db()
        at = (delivery.job.failed_at or utcnow()).timestamp()
        await self._run(store.bury, delivery.receipt, delivery.job, at)

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        store = await self._db()
        await self._run(store.release, [d.receipt for d in deliveries])

    async def unsubscribe(self) -> None:
        await self._stop_renewer()
        self._handlers = ()
        if self._store is not None:
            await self._run(self._store.release_all)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            if self._store is not None:
                try:
                    await self._run(self._store.renew, self.lease)
                except BrokerError:
                    pass  # retried on the next beat; an expired lease only means a rerun

    async def _stop_renewer(self) -> None:
        task, self._renewer = self._renewer, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # -- control ---------------------------------------------------------------------
    async def pause(self, handler: str) -> None:
        store = await self._db()
        await self._run(store.pause, handler)

    async def unpause(self, handler: str) -> None:
        store = await self._db()
        await self._run(store.unpause, handler)

    def inspector(self) -> Inspector:
        from jobplug_sqlite.inspector import SqliteInspector

        return SqliteInspector(self)
