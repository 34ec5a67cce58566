"""``RedisBroker``: jobplug on Redis, wire-compatible with gocraft/work.

Producing needs no pool: ``enqueue`` writes gocraft's job JSON with ``LPUSH
<ns>jobs:<name>`` (a batch is one pipeline: one ``LPUSH`` per name with all its jobs, and
one ``SADD <ns>known_jobs``), or ``ZADD <ns>scheduled <run-at> <job>`` for later.
``subscribe`` creates a :class:`~jobplug_redis.pool.WorkerPool` (fetch and finish) and
its :class:`~jobplug_redis.background.Maintenance` (heartbeat, observer, requeuer,
reaper, periodic enqueuer).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from jobplug.adapter import Args, Broker, Capability, ConsumerConfig, Delivery, Job
from jobplug.errors import BrokerError, WorkerStateError
from jobplug_redis import codec, scripts
from jobplug_redis.background import Maintenance
from jobplug_redis.connection import Client, driver_errors, make_client, parse_url
from jobplug_redis.keys import Keys, check_job_name
from jobplug_redis.pool import WorkerPool
from jobplug_redis.reaper import Reaper
from jobplug_redis.recovery import UntrackedJobs

if TYPE_CHECKING:
    from jobplug.adapter import Inspector

#: gocraft's enqueuer re-adds a name to known_jobs at most every 300 s.
KNOWN_JOBS_TTL = 300.0


class RedisBroker(Broker):
    """Broker for ``redis://``, ``rediss://`` and ``redis+cluster://`` URLs."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.DURABLE,
            Capability.DELAYED,
            Capability.DEAD_LETTER,
            Capability.UNIQUE,
            Capability.PERIODIC,
            Capability.PAUSE,
            Capability.MAX_CONCURRENCY,
            Capability.PRIORITY,
            Capability.INSPECT,
        }
    )

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.settings = parse_url(url)
        self.keys = Keys(self.settings.namespace)
        self._client: Client | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._known: dict[str, float] = {}
        self.pool: WorkerPool | None = None
        self.maintenance: Maintenance | None = None

    def check_handler_name(self, name: str) -> None:
        check_job_name(name)

    # -- lifecycle -------------------------------------------------------------------
    @property
    def namespace(self) -> str:
        return self.settings.namespace

    @property
    def client(self) -> Client:
        """The redis-py asyncio client (created on first use; no I/O until a command)."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        # A client's connections belong to one event loop: a broker used from a new loop
        # (successive asyncio.run calls in a script) gets a new client. Also after close().
        if self._client is None or (loop is not None and loop is not self._client_loop):
            self._client = make_client(self.settings)
            self._client_loop = loop
            self._scripts()
        return self._client

    def _scripts(self) -> None:
        client = self._client
        assert client is not None
        self._enqueue_unique = client.register_script(scripts.ENQUEUE_UNIQUE)
        self._move_members = client.register_script(scripts.MOVE_MEMBERS)
        self._reap_one = client.register_script(scripts.REAP_ONE)
        self._reap_lock = client.register_script(scripts.REAP_LOCK)

    async def connect(self) -> None:
        with driver_errors(self.safe_url, "connect"):
            await self.client.ping()

    async def close(self) -> None:
        if self.pool is not None:
            await self.unsubscribe()
        if self._client is not None:
            client, self._client = self._client, None
            try:  # aclose() since redis-py 5.0.1; close() before
                await (getattr(client, "aclose", None) or client.close)()
            except Exception:  # closing a broken connection must not raise
                pass

    # -- producing -------------------------------------------------------------------
    async def enqueue(self, jobs: Sequence[Job], at: datetime | None = None) -> None:
        if not jobs:
            return
        pipe = self.client.pipeline(transaction=False)
        names: list[str] = []
        if at is None:
            by_name: dict[str, list[bytes]] = {}
            for job in jobs:
                by_name.setdefault(job.handler, []).append(codec.encode_job(job))
            for name, payloads in by_name.items():
                pipe.lpush(self.keys.jobs(name), *payloads)
            names = list(by_name)
        else:
            score = math.ceil(at.timestamp())  # integer scores (Go scans int64); never early
            pipe.zadd(self.keys.scheduled, {codec.encode_job(job): score for job in jobs})
            names = list(dict.fromkeys(job.handler for job in jobs))
        self._add_known(pipe, names)
        with driver_errors(self.safe_url, "enqueue"):
            await pipe.execute()
        self._poke(names, at)

    def _add_known(self, pipe: object, names: list[str]) -> None:
        now = time.monotonic()
        stale = [n for n in names if self._known.get(n, 0.0) <= now]
        if stale:
            pipe.sadd(self.keys.known_jobs, *stale)  # type: ignore[attr-defined]
            for name in stale:
                self._known[name] = now + KNOWN_JOBS_TTL

    def _poke(self, names: list[str], at: datetime | None) -> None:
        """Wake this process's own idle pool at once (other processes wake on the list)."""
        if self.pool is None:
            return
        if at is not None:
            if self.maintenance is not None:
                self.maintenance.requeue_wake.set()
        elif any(n in self.pool.types for n in names):
            self.pool.notify()

    async def enqueue_unique(
        self, job: Job, key: Args | None = None, at: datetime | None = None
    ) -> bool:
        ukey = codec.unique_key(self.keys.prefix, job.handler, job.args if key is None else key)
        job.meta["unique"] = True
        job.meta["unique_key"] = ukey
        payload = codec.encode_job(job)
        if at is None:
            target, score = self.keys.jobs(job.handler), ""
        else:
            target, score = self.keys.scheduled, str(math.ceil(at.timestamp()))
        pipe = self.client.pipeline(transaction=False)
        self._add_known(pipe, [job.handler])
        with driver_errors(self.safe_url, "enqueue_unique"):
            await pipe.execute()
            result = await self._enqueue_unique(
                keys=[target, ukey], args=[payload, b"1" if key is None else payload, score]
            )
        written = result in (b"ok", "ok")
        if written:
            self._poke([job.handler], at)
        return written

    # -- consuming -------------------------------------------------------------------
    async def subscribe(self, config: ConsumerConfig) -> None:
        if self.pool is not None:
            if self.pool.config == config:
                return
            await self.unsubscribe()
        client = self.client
        pool = WorkerPool(client, self.keys, config, self.safe_url)
        pipe = client.pipeline(transaction=False)
        for name, spec in config.handlers.items():
            pipe.set(self.keys.max_concurrency(name), spec.max_concurrency)
        if config.handlers:
            pipe.sadd(self.keys.known_jobs, *config.handlers)
        with driver_errors(self.safe_url, "subscribe"):
            await pipe.execute()
        reaper = Reaper(
            client,
            self.keys,
            pool.pool_id,
            sorted(config.handlers),
            self.settings.max_crashes,
            self._reap_one,
            self._reap_lock,
        )
        maintenance = Maintenance(
            client, self.keys, pool, self.safe_url, reaper, self._move_members, config.periodic
        )
        await maintenance.start()
        pool.start()
        self.pool, self.maintenance = pool, maintenance

    def _require_pool(self) -> WorkerPool:
        if self.pool is None:
            raise WorkerStateError("fetch before subscribe")
        return self.pool

    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        return await self._require_pool().fetch(max(1, max_jobs), timeout)

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        if deliveries:
            await self._require_pool().ack(deliveries)

    async def retry(self, delivery: Delivery, at: datetime) -> None:
        await self._require_pool().retry(delivery, at)

    async def bury(self, delivery: Delivery) -> None:
        await self._require_pool().bury(delivery)

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        if deliveries:
            await self._require_pool().release(deliveries)

    async def unsubscribe(self) -> None:
        pool, maintenance = self.pool, self.maintenance
        self.pool = self.maintenance = None
        if pool is None:
            return
        await pool.stop_watchers()
        if maintenance is not None:
            await maintenance.stop()
        await pool.drain()
        await pool.release_outstanding()
        try:
            await pool.retry_pending()
            await UntrackedJobs(pool).put_back_all()
            with driver_errors(self.safe_url, "unsubscribe"):
                for name in pool.types:
                    await self._reap_lock(
                        keys=[self.keys.lock(name), self.keys.lock_info(name)],
                        args=[pool.pool_id],
                    )
        except BrokerError:
            # Jobs still in progress are recovered by a reaper once our heartbeat is gone.
            pass
        if maintenance is not None:
            await maintenance.clear()

    # -- control ---------------------------------------------------------------------
    async def pause(self, handler: str) -> None:
        with driver_errors(self.safe_url, "pause"):
            await self.client.set(self.keys.paused(handler), "1")

    async def unpause(self, handler: str) -> None:
        with driver_errors(self.safe_url, "unpause"):
            await self.client.delete(self.keys.paused(handler))
        if self.pool is not None:
            self.pool.notify()

    async def discard_handler(self, handler: str) -> None:
        keys = self.keys
        with driver_errors(self.safe_url, "discard_handler"):
            pipe = self.client.pipeline(transaction=False)
            pipe.delete(keys.jobs(handler), *keys.state(handler).values())
            pipe.srem(keys.known_jobs, handler)
            await pipe.execute()

    def check_periodic(self, spec: str) -> None:
        """Parse ``spec`` as gocraft's cron does; InvalidScheduleError naming it if it cannot."""
        from jobplug_redis.cron import CronSchedule  # only apps with periodic jobs need it

        CronSchedule.parse(spec)

    def inspector(self) -> Inspector:
        from jobplug_redis.inspector import RedisInspector

        return RedisInspector(self)
