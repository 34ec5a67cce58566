"""The dead-pool reaper: jobs whose worker died go back to their queue.

gocraft's reaper (every 10 min) looks only at ids in ``<ns>worker_pools`` and only
requeues pools whose heartbeat is older than 10 s and still lists ``job_names``; the
in-progress lists of pools that vanished from the set or lost their heartbeat hash are
never recovered (issue #146). Ours also finds pools through each job type's
``lock_info`` hash (every pool that fetched a type has a field there) and, now and then,
by scanning for ``<ns>jobs:*:*:inprogress`` keys. A pool found that way, with no live
heartbeat, is reaped once it has stayed that way for ``DEAD_AFTER`` seconds, so a pool
that is just starting is never mistaken for a dead one.

Each recovered job is counted in ``<ns>jobplug:crashes`` (by job id); once a job has been
in progress in ``max_crashes`` dead workers it is moved to dead with the reason instead
(a poison job that kills its worker every time must not loop forever).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from jobplug.errors import MalformedJobError
from jobplug_redis import codec
from jobplug_redis.connection import Client
from jobplug_redis.keys import Keys

log = logging.getLogger("jobplug.redis")

#: A heartbeat older than this means the pool is dead (gocraft: 2 x the 5 s beat).
DEAD_AFTER = 10.0


@dataclass
class Reaper:
    client: Client
    keys: Keys
    own_pool: str
    own_names: list[str]
    max_crashes: int
    reap_one: object
    reap_lock: object
    #: pools without a live heartbeat, by when we first saw them so
    suspects: dict[str, float] = field(default_factory=dict)
    #: job names seen for suspects (a scan runs rarely; remember what it found)
    suspect_names: dict[str, set[str]] = field(default_factory=dict)

    async def run_once(self, scan: bool = False, now: float | None = None) -> int:
        """One pass; returns how many jobs went back to a queue or to dead."""
        stamp = time.time() if now is None else now
        members = {m.decode() for m in await self.client.smembers(self.keys.worker_pools)}
        pipe = self.client.pipeline(transaction=False)
        ordered = sorted(members)
        for pool in ordered:
            pipe.hmget(self.keys.heartbeat(pool), "heartbeat_at", "job_names")
        beats = await pipe.execute() if ordered else []
        live: set[str] = {self.own_pool}
        dead: dict[str, set[str]] = {}
        for pool, (beat, names) in zip(ordered, beats, strict=True):
            if beat is not None and _int(beat) + DEAD_AFTER > stamp:
                live.add(pool)
            elif beat is not None and names is not None:  # gocraft's own rule: dead now
                dead[pool] = {n for n in names.decode().split(",") if n}
            else:
                dead.setdefault(pool, set())  # no heartbeat: only after the grace below
                self.suspects.setdefault(pool, stamp)
        known = {n.decode() for n in await self.client.smembers(self.keys.known_jobs)}
        names = sorted(known | set(self.own_names))
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.hkeys(self.keys.lock_info(name))
        holders = await pipe.execute() if names else []
        found: dict[str, set[str]] = {}
        for name, pools in zip(names, holders, strict=True):
            for raw_pool in pools:
                found.setdefault(raw_pool.decode(), set()).add(name)
        if scan:
            for pool, name in await self._scan_inprogress():
                found.setdefault(pool, set()).add(name)
        for pool, remembered in self.suspect_names.items():
            found.setdefault(pool, set()).update(remembered)
        unlisted = sorted(p for p in found if p not in members and p not in live)
        if unlisted:
            pipe = self.client.pipeline(transaction=False)
            for pool in unlisted:
                pipe.hget(self.keys.heartbeat(pool), "heartbeat_at")
            for pool, beat in zip(unlisted, await pipe.execute(), strict=True):
                if beat is not None and _int(beat) + DEAD_AFTER > stamp:
                    live.add(pool)  # heartbeating, just missing from the set
        for pool, pool_names in found.items():
            if pool in live:
                continue
            if pool not in dead:
                self.suspects.setdefault(pool, stamp)
                self.suspect_names.setdefault(pool, set()).update(pool_names)
            dead.setdefault(pool, set()).update(pool_names)
        moved = 0
        for pool, pool_names in dead.items():
            beat_dead = pool in members and pool not in self.suspects
            if not beat_dead and stamp - self.suspects.get(pool, stamp) < DEAD_AFTER:
                continue  # not long enough without a heartbeat: could be starting up
            moved += await self._reap_pool(pool, pool_names or set(self.own_names), stamp)
            self.suspects.pop(pool, None)
            self.suspect_names.pop(pool, None)
        for pool in list(self.suspects):
            if pool in live:
                del self.suspects[pool]
                self.suspect_names.pop(pool, None)
        return moved

    async def _reap_pool(self, pool: str, names: set[str], stamp: float) -> int:
        moved = 0
        now = int(stamp)
        for name in sorted(names):
            inprogress = self.keys.inprogress(name, pool)
            for raw in await self.client.lrange(inprogress, 0, -1):
                job_id, dead_payload = self._poison_record(raw, now)
                result = await self.reap_one(  # type: ignore[operator]
                    keys=[inprogress, self.keys.jobs(name), self.keys.crashes, self.keys.dead],
                    args=[raw, job_id, self.max_crashes, now, dead_payload],
                )
                if int(result) == 2:
                    log.error(
                        "job %s of %s is dead: its worker died %d times while running it",
                        job_id,
                        name,
                        self.max_crashes,
                    )
                moved += int(result) > 0
            await self.reap_lock(  # type: ignore[operator]
                keys=[self.keys.lock(name), self.keys.lock_info(name)], args=[pool]
            )
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(self.keys.heartbeat(pool))
        pipe.srem(self.keys.worker_pools, pool)
        await pipe.execute()
        if moved:
            log.warning("reaped dead worker pool %s: %d job(s) recovered", pool, moved)
        return moved

    def _poison_record(self, raw: bytes, now: int) -> tuple[str, bytes]:
        try:
            job, args_null = codec.decode_job(raw)
        except MalformedJobError:
            return hashlib.sha1(raw).hexdigest()[:24], raw  # the fetcher will bury it
        job.last_error = (
            f"poison job: its worker process died {self.max_crashes} time(s) while running it"
        )
        job.failed_at = datetime.fromtimestamp(now, timezone.utc)
        job.last_traceback = None  # an earlier failure's: not why it is dead
        return job.id, codec.encode_job(job, args_null)

    async def _scan_inprogress(self) -> list[tuple[str, str]]:
        """(pool, name) of every in-progress list in the namespace."""
        out = []
        pattern = self.keys.jobs_prefix + "*:inprogress"
        try:
            async for key in self.client.scan_iter(match=pattern, count=1000):
                text = key.decode() if isinstance(key, bytes) else key
                head, pool, _ = text.rsplit(":", 2)
                out.append((pool, head[len(self.keys.jobs_prefix) :]))
        except Exception as exc:  # scanning is a best-effort extra; never fail the reap
            log.debug("in-progress scan failed: %s", exc)
        return out


def _int(value: bytes) -> int:
    try:
        return int(value)
    except ValueError:
        return 0
