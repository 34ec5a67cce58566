"""The ``inspect`` capability on Redis: gocraft/work's ``Client`` semantics.

Queues come from ``<ns>known_jobs`` (count = ``LLEN``, latency = now - ``t`` of the oldest
job), pools from the heartbeats, busy workers from the observer hashes, and pages of 20
from the ``scheduled``/``retry``/``dead`` zsets. As the :class:`~jobplug.inspect.Inspector`
contract asks, dead jobs are listed newest first (gocraft pages every zset oldest first).
A job is named by id, optionally with its score (gocraft's ``died_at``/``retry_at``/
``run_at``) which makes the lookup exact and cheap; without it the zset is scanned.
Retrying a dead job strips ``fails``/``err``/``failed_at`` and resets ``t``, as gocraft's
script does; a dead job whose name is not in ``known_jobs`` is left dead with ``err``
"unknown job when requeueing", as gocraft leaves it. Members that are not valid jobs are
listed (handler ``?``, the reason in ``meta``) instead of failing the whole page.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

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
from jobplug_redis import codec
from jobplug_redis.connection import driver_errors
from jobplug_redis.records import (
    args_of,
    int_of,
    is_malformed_record,
    job_of,
    kept_dead,
    stored_of,
    text_of,
    time_of,
)

if TYPE_CHECKING:
    from jobplug_redis.broker import RedisBroker

#: gocraft's RetryAllDeadJobs: 1000 jobs per script call.
RETRY_ALL_BATCH = 1000


class RedisInspector(Inspector):
    def __init__(self, broker: RedisBroker) -> None:
        self.broker = broker
        self.keys = broker.keys

    def _errors(self, what: str):  # type: ignore[no-untyped-def]
        return driver_errors(self.broker.safe_url, what)

    # -- reading ---------------------------------------------------------------------
    async def queues(self) -> list[QueueInfo]:
        client = self.broker.client
        with self._errors("inspect queues"):
            names = sorted(n.decode() for n in await client.smembers(self.keys.known_jobs))
            if not names:
                return []
            pipe = client.pipeline(transaction=False)
            for name in names:
                pipe.llen(self.keys.jobs(name))
                pipe.exists(self.keys.paused(name))
                pipe.lindex(self.keys.jobs(name), -1)
            replies = await pipe.execute()
        now = time.time()
        out = []
        for i, name in enumerate(names):
            count, paused, oldest = replies[3 * i : 3 * i + 3]
            latency = 0.0
            if count and oldest is not None:
                try:
                    job, _ = codec.decode_job(oldest)
                    latency = max(0.0, now - int(job.enqueued_at.timestamp()))
                except MalformedJobError:
                    latency = 0.0
            out.append(QueueInfo(name, int(count), latency, bool(paused)))
        return out

    async def _heartbeats(self) -> list[tuple[str, dict[bytes, bytes]]]:
        client = self.broker.client
        with self._errors("inspect pools"):
            ids = sorted(p.decode() for p in await client.smembers(self.keys.worker_pools))
            if not ids:
                return []
            pipe = client.pipeline(transaction=False)
            for pool_id in ids:
                pipe.hgetall(self.keys.heartbeat(pool_id))
            return list(zip(ids, await pipe.execute(), strict=True))

    async def pools(self) -> list[PoolInfo]:
        out = []
        for pool_id, h in await self._heartbeats():
            out.append(
                PoolInfo(
                    pool_id=pool_id,
                    host=text_of(h.get(b"host")),
                    pid=int_of(h.get(b"pid")),
                    started_at=time_of(h.get(b"started_at")),
                    heartbeat_at=time_of(h.get(b"heartbeat_at")),
                    concurrency=int_of(h.get(b"concurrency")),
                    handlers=tuple(sorted(n for n in text_of(h.get(b"job_names")).split(",") if n)),
                    worker_ids=tuple(
                        sorted(w for w in text_of(h.get(b"worker_ids")).split(",") if w)
                    ),
                )
            )
        return out

    async def busy(self) -> list[BusyWorker]:
        workers = [(p.pool_id, w) for p in await self.pools() for w in p.worker_ids]
        if not workers:
            return []
        client = self.broker.client
        with self._errors("inspect busy workers"):
            pipe = client.pipeline(transaction=False)
            for _, worker_id in workers:
                pipe.hgetall(self.keys.worker(worker_id))
            observations = await pipe.execute()
        out = []
        for (pool_id, worker_id), obs in zip(workers, observations, strict=True):
            if not obs:
                continue
            job_args = args_of(text_of(obs.get(b"args")))
            job = Job(
                text_of(obs.get(b"job_name")) or "?",
                job_args,
                id=text_of(obs.get(b"job_id")) or "?",
                enqueued_at=time_of(obs.get(b"started_at")),
            )
            if obs.get(b"checkin"):
                job.meta["checkin"] = text_of(obs.get(b"checkin"))
            out.append(BusyWorker(worker_id, pool_id, job, time_of(obs.get(b"started_at"))))
        return out

    async def _page(self, zset: str, page: int, newest_first: bool = False) -> Page:
        page = max(1, page)
        client = self.broker.client
        start = (page - 1) * PAGE_SIZE
        with self._errors("inspect jobs"):
            pipe = client.pipeline(transaction=False)
            if newest_first:
                pipe.zrevrangebyscore(
                    zset, "+inf", "-inf", start=start, num=PAGE_SIZE, withscores=True
                )
            else:
                pipe.zrangebyscore(
                    zset, "-inf", "+inf", start=start, num=PAGE_SIZE, withscores=True
                )
            pipe.zcard(zset)
            items, total = await pipe.execute()
        records = [
            JobRecord(job_of(member), time_of(score), stored_of(member)) for member, score in items
        ]
        return Page(records, int(total), page)

    async def scheduled(self, page: int = 1) -> Page:
        return await self._page(self.keys.scheduled, page)

    async def retries(self, page: int = 1) -> Page:
        return await self._page(self.keys.retry, page)

    async def dead(self, page: int = 1) -> Page:
        return await self._page(self.keys.dead, page, newest_first=True)

    # -- acting ----------------------------------------------------------------------
    async def _find(self, zset: str, job_id: str, at: datetime | None) -> list[tuple[bytes, float]]:
        """Members of ``zset`` with this id (at score ``at`` if given)."""
        client = self.broker.client
        found = []
        with self._errors("find job"):
            if at is not None:
                score = int(at.timestamp())
                items = await client.zrangebyscore(zset, score, score, withscores=True)
            else:
                items = [item async for item in client.zscan_iter(zset, count=1000)]
        for member, score in items:
            if job_id.encode() in member and job_of(member).id == job_id:
                found.append((member, float(score)))
        return found

    async def _delete(self, zset: str, kind: str, job_id: str, at: datetime | None) -> list[bytes]:
        found = await self._find(zset, job_id, at)
        removed = []
        with self._errors(f"delete {kind} job"):
            for member, _ in found:
                if await self.broker.client.zrem(zset, member):
                    removed.append(member)
        if not removed:
            raise JobNotFoundError(f"no {kind} job with id {job_id!r}: nothing deleted")
        return removed

    async def delete_dead(self, job_id: str, at: datetime | None = None) -> None:
        await self._delete(self.keys.dead, "dead", job_id, at)

    async def delete_retry(self, job_id: str, at: datetime | None = None) -> None:
        await self._delete(self.keys.retry, "retry", job_id, at)

    async def delete_scheduled(self, job_id: str, at: datetime | None = None) -> None:
        for member in await self._delete(self.keys.scheduled, "scheduled", job_id, at):
            job = job_of(member)
            if job.meta.get("unique"):  # gocraft frees the unique marker with the job
                args = None if b'"args":null' in member else job.args
                key = codec.unique_key(self.keys.prefix, job.handler, args)
                with self._errors("delete unique marker"):
                    await self.broker.client.delete(key)

    async def _requeue_dead(self, members: list[bytes], known: set[str]) -> int:
        """gocraft's dead requeue: back to the queue with fails/err/failed_at removed and
        ``t`` = now; an unknown name stays dead (score now + 5) with err set."""
        if not members:
            return 0
        now = int(time.time())
        dests: list[str] = [self.keys.dead]
        args: list[object] = []
        for member in members:
            try:
                job, args_null = codec.decode_job(member)
            except MalformedJobError:
                continue  # not a job: nothing could run it; leave it for deletion
            if is_malformed_record(job):
                continue
            if job.handler in known:
                job.clear_failure()
                job.enqueued_at = datetime.fromtimestamp(now, timezone.utc)
                dests.append(self.keys.jobs(job.handler))
                args += [member, "l", codec.encode_job(job, args_null)]
            else:
                job.last_error = "unknown job when requeueing"
                job.failed_at = datetime.fromtimestamp(now, timezone.utc)
                dests.append(self.keys.dead)
                args += [member, "z", codec.encode_job(job, args_null), now + 5]
        if len(dests) == 1:
            return 0
        with self._errors("retry dead jobs"):
            await self.broker._move_members(keys=dests, args=args)
        return sum(1 for d in dests[1:] if d != self.keys.dead)

    async def _known(self) -> set[str]:
        with self._errors("read known jobs"):
            return {n.decode() for n in await self.broker.client.smembers(self.keys.known_jobs)}

    async def retry_dead(self, job_id: str, at: datetime | None = None) -> None:
        found = [m for m, _ in await self._find(self.keys.dead, job_id, at)]
        if not found:
            raise JobNotFoundError(f"no dead job with id {job_id!r}: nothing retried")
        if all(kept_dead(m) for m in found):
            raise MalformedJobError(
                f"dead job {job_id!r} is a payload that was not a valid job, kept for "
                "inspection; it cannot be retried, only deleted"
            )
        if not await self._requeue_dead(found, await self._known()):
            raise JobNotFoundError(
                f"dead job {job_id!r} not retried: its name is not a known queue"
            )
        self._poke()

    async def retry_all_dead(self) -> int:
        known = await self._known()
        total = 0
        client = self.broker.client
        kept = 0  # members no retry can run stay in place, ahead of the rest: skip them
        for _ in range(1000):  # gocraft's bound: at most 1000 x 1000 jobs
            with self._errors("retry dead jobs"):
                members = await client.zrangebyscore(
                    self.keys.dead, "-inf", int(time.time()), start=kept, num=RETRY_ALL_BATCH
                )
            if not members:
                break
            kept += sum(1 for m in members if kept_dead(m))
            moved = await self._requeue_dead(members, known)
            total += moved
            if len(members) < RETRY_ALL_BATCH:
                break
        self._poke()
        return total

    async def delete_all_dead(self) -> int:
        client = self.broker.client
        with self._errors("delete dead jobs"):
            pipe = client.pipeline(transaction=False)
            pipe.zcard(self.keys.dead)
            pipe.delete(self.keys.dead)
            count, _ = await pipe.execute()
        return int(count)

    async def pause(self, handler: str) -> None:
        await self.broker.pause(handler)

    async def unpause(self, handler: str) -> None:
        await self.broker.unpause(handler)

    def _poke(self) -> None:
        if self.broker.pool is not None:
            self.broker.pool.notify()
