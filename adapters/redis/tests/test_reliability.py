"""Heartbeats, observer hashes, the reaper (dead, vanished and heartbeat-less pools), a
real worker process killed with SIGKILL, poison jobs, put-back on shutdown, requeuers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from jobplug import ConsumerConfig, HandlerSpec, Job, Worker
from jobplug_redis import RedisBroker, background, reaper
from jobplug_redis.keys import Keys

WORKER_PROC = Path(__file__).with_name("worker_proc.py")


def config(*names: str, concurrency: int = 3) -> ConsumerConfig:
    return ConsumerConfig({n: HandlerSpec(n) for n in names}, concurrency)


async def test_heartbeat_has_every_field_gocraft_reads(
    redis_url: str, raw: Any, namespace: str
) -> None:
    broker = RedisBroker(redis_url)
    await broker.subscribe(config("b", "a", concurrency=3))
    assert broker.pool is not None
    pool_id = broker.pool.pool_id
    k = Keys(namespace)
    assert await raw.smembers(k.worker_pools) == {pool_id.encode()}
    beat = {f.decode(): v.decode() for f, v in (await raw.hgetall(k.heartbeat(pool_id))).items()}
    assert set(beat) == {
        "heartbeat_at",
        "started_at",
        "job_names",
        "concurrency",
        "worker_ids",
        "host",
        "pid",
    }
    assert abs(int(beat["heartbeat_at"]) - time.time()) < 5
    assert int(beat["started_at"]) <= int(beat["heartbeat_at"])
    assert beat["job_names"] == "a,b" and beat["concurrency"] == "3"
    workers = beat["worker_ids"].split(",")
    assert len(workers) == 3 and workers == sorted(workers)
    assert all(len(w) == 24 and int(w, 16) >= 0 for w in workers)
    assert beat["pid"] == str(os.getpid()) and beat["host"]
    assert await raw.get(k.max_concurrency("a")) == b"0"
    assert await raw.smembers(k.known_jobs) == {b"a", b"b"}
    await broker.close()
    assert not await raw.exists(k.heartbeat(pool_id), k.worker_pools)


async def test_observer_hash_while_busy(
    redis_url: str, raw: Any, namespace: str, wait: Any
) -> None:
    gate = asyncio.Event()
    worker = Worker(url=redis_url, concurrency=2)

    @worker.handler("obs")
    async def obs(args: dict[str, Any]) -> None:
        await gate.wait()

    k = Keys(namespace)
    job = Job("obs", {"a": 1, "b": "wat"})
    async with worker:
        await worker.perform(job)
        pool = worker.broker.pool  # type: ignore[attr-defined]

        async def observed() -> dict[bytes, bytes]:
            for wid in pool.worker_ids:
                found: dict[bytes, bytes] = await raw.hgetall(k.worker(wid))
                if found:
                    return found
            return {}

        seen = await wait(observed, timeout=5)
        assert seen[b"job_name"] == b"obs" and seen[b"job_id"] == job.id.encode()
        assert seen[b"args"] == b'{"a":1,"b":"wat"}'
        assert abs(int(seen[b"started_at"]) - time.time()) < 5
        gate.set()

        async def idle() -> bool:
            return not any([await raw.exists(k.worker(w)) for w in pool.worker_ids])

        await wait(idle, timeout=5)


async def _fake_pool(raw: Any, k: Keys, pool: str, name: str, jobs: list[bytes]) -> None:
    if jobs:
        await raw.lpush(k.inprogress(name, pool), *jobs)
    await raw.incrby(k.lock(name), len(jobs))
    await raw.hset(k.lock_info(name), pool, len(jobs))


def _reaper(broker: RedisBroker, names: list[str]) -> reaper.Reaper:
    _ = broker.client
    return reaper.Reaper(
        broker.client,
        broker.keys,
        "me" * 12,
        names,
        broker.settings.max_crashes,
        broker._reap_one,
        broker._reap_lock,
    )


async def test_reaper_requeues_stale_vanished_and_scanned_pools(
    redis_url: str, raw: Any, namespace: str
) -> None:
    broker = RedisBroker(redis_url)
    k = broker.keys
    now = time.time()
    job = b'{"name":"a","id":"j1","t":1,"args":{}}'
    # 1. gocraft's case: in worker_pools, heartbeat 60 s old, job_names listed
    await raw.sadd(k.worker_pools, "stale")
    await raw.hset(k.heartbeat("stale"), mapping={"heartbeat_at": int(now) - 60, "job_names": "a"})
    await _fake_pool(raw, k, "stale", "a", [job])
    # 2. #146: a pool gone from worker_pools, still holding a job and a lock share
    await _fake_pool(raw, k, "ghost", "a", [job.replace(b"j1", b"j2")])
    # 3. in worker_pools without any heartbeat hash (gocraft never requeues these)
    await raw.sadd(k.worker_pools, "nobeat")
    await _fake_pool(raw, k, "nobeat", "a", [job.replace(b"j1", b"j3")])
    # 4. only an in-progress list: found by the scan
    await raw.lpush(k.inprogress("a", "orphan"), job.replace(b"j1", b"j4"))
    # 5. a live pool is never touched
    await raw.sadd(k.worker_pools, "alive")
    await raw.hset(k.heartbeat("alive"), mapping={"heartbeat_at": int(now), "job_names": "a"})
    await _fake_pool(raw, k, "alive", "a", [job.replace(b"j1", b"j5")])
    r = _reaper(broker, ["a"])
    assert await r.run_once(scan=True, now=now) == 1  # only the stale one at once
    assert await raw.llen(k.jobs("a")) == 1
    assert await r.run_once(scan=False, now=now + 5) == 0  # the others: not long enough
    later = now + reaper.DEAD_AFTER + 1
    await raw.hset(k.heartbeat("alive"), "heartbeat_at", int(later))
    assert await r.run_once(scan=False, now=later) == 3  # the scan's find is remembered
    ids = sorted(json.loads(j)["id"] for j in await raw.lrange(k.jobs("a"), 0, -1))
    assert ids == ["j1", "j2", "j3", "j4"]
    assert await raw.get(k.lock("a")) == b"1"  # the live pool's share only
    assert await raw.hgetall(k.lock_info("a")) == {b"alive": b"1"}
    assert await raw.smembers(k.worker_pools) == {b"alive"}
    assert not await raw.exists(k.heartbeat("stale"))
    assert await raw.llen(k.inprogress("a", "alive")) == 1
    await broker.close()


async def test_poison_job_ends_dead_after_max_crashes(
    redis_server: str, raw: Any, namespace: str
) -> None:
    broker = RedisBroker(f"{redis_server}/0?namespace={namespace}&max_crashes=2")
    k = broker.keys
    r = _reaper(broker, ["a"])
    job = b'{"name":"a","id":"p1","t":1,"args":{"x":1}}'
    now = time.time()
    for crash in (1, 2):
        pool = f"dead{crash}"
        await raw.sadd(k.worker_pools, pool)
        await raw.hset(k.heartbeat(pool), mapping={"heartbeat_at": 1, "job_names": "a"})
        await raw.rpoplpush(k.jobs("a"), k.inprogress("a", pool)) if crash > 1 else None
        if crash == 1:
            await _fake_pool(raw, k, pool, "a", [job])
        assert await r.run_once(now=now) == 1
    assert await raw.llen(k.jobs("a")) == 0
    [dead] = await raw.zrange(k.dead, 0, -1)
    record = json.loads(dead)
    assert record["id"] == "p1" and record["args"] == {"x": 1}
    assert "poison job" in record["err"] and record["failed_at"] > 0
    assert not await raw.hexists(k.crashes, "p1")
    await broker.close()


async def test_unsubscribe_puts_back_unfinished_jobs(
    redis_url: str, raw: Any, namespace: str
) -> None:
    broker = RedisBroker(redis_url)
    await broker.enqueue([Job("a", {"i": i}) for i in range(4)])
    await broker.subscribe(config("a"))
    got = await broker.fetch(3, 1.0)
    assert len(got) == 3
    await broker.release(got[:1])
    await broker.unsubscribe()
    k = broker.keys
    order = [json.loads(j)["args"]["i"] for j in await raw.lrange(k.jobs("a"), 0, -1)]
    assert sorted(order) == [0, 1, 2, 3] and order[-1] in (0, 1, 2)  # put back at the front
    assert await raw.get(k.lock("a")) == b"0"
    assert await raw.hlen(k.lock_info("a")) == 0
    assert not [key async for key in raw.scan_iter(match=f"{namespace}:jobs:a:*:inprogress")]
    await broker.close()


async def test_sigkilled_worker_job_runs_again_elsewhere(
    redis_url: str, raw: Any, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(background, "REAP_PERIOD", 0.5)
    k = Keys(namespace)
    job = Job("slow", {"n": 7})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(WORKER_PROC), redis_url, "sleep", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        assert (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() == b"READY"
        producer = RedisBroker(redis_url)
        await producer.enqueue([job])
        await producer.close()
        assert (await asyncio.wait_for(proc.stdout.readline(), 10)).strip() == b"STARTED 7"
        [dead_pool] = await raw.smembers(k.worker_pools)
        assert await raw.llen(k.inprogress("slow", dead_pool.decode())) == 1
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    ran: asyncio.Future[Job] = asyncio.get_running_loop().create_future()
    rescuer = Worker(url=redis_url)

    @rescuer.handler("slow")
    async def slow(args: dict[str, Any]) -> None:
        ran.set_result(args)

    t0 = time.monotonic()
    async with rescuer:
        assert await asyncio.wait_for(ran, reaper.DEAD_AFTER + 15) == {"n": 7}
    assert time.monotonic() - t0 < reaper.DEAD_AFTER + 10
    assert await raw.get(k.lock("slow")) == b"0"
    assert dead_pool not in await raw.smembers(k.worker_pools)
    assert await raw.hget(k.crashes, job.id) == b"1"


async def test_poison_job_in_real_process_ends_dead(
    redis_server: str, raw: Any, namespace: str, monkeypatch: pytest.MonkeyPatch, wait: Any
) -> None:
    monkeypatch.setattr(background, "REAP_PERIOD", 0.3)
    monkeypatch.setattr(reaper, "DEAD_AFTER", 3.0)
    url = f"{redis_server}/0?namespace={namespace}&max_crashes=2"
    k = Keys(namespace)
    producer = RedisBroker(url)
    await producer.enqueue([Job("slow", {"n": 1})])
    watcher = RedisBroker(url)  # a pool serving something else: its reaper does the work
    await watcher.subscribe(config("other"))
    for _ in range(2):
        await raw.delete(k.max_concurrency("slow"))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER_PROC), url, "poison", stdout=asyncio.subprocess.PIPE
        )
        assert await asyncio.wait_for(proc.wait(), 30) == -signal.SIGKILL
        await wait(lambda: _requeued_or_dead(raw, k), timeout=15)
    record = json.loads((await raw.zrange(k.dead, 0, -1))[0])
    assert record["name"] == "slow" and "died 2 time(s)" in record["err"]
    await watcher.close()
    await producer.close()


async def _requeued_or_dead(raw: Any, k: Keys) -> bool:
    return bool(await raw.llen(k.jobs("slow")) or await raw.zcard(k.dead))


async def test_perform_in_runs_on_time(redis_url: str, raw: Any, namespace: str) -> None:
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    worker = Worker(url=redis_url)

    @worker.handler("later")
    async def later(args: dict[str, Any]) -> None:
        done.set_result(time.time())

    async with worker:
        t0 = time.time()
        await worker.perform_in(Job("later"), 1.2)
        ran_at = await asyncio.wait_for(done, 10)
    assert 1.2 <= ran_at - t0 < 2.6


async def test_requeuer_never_dead_letters_other_pools_jobs(
    redis_url: str, raw: Any, namespace: str, wait: Any
) -> None:
    k = Keys(namespace)
    broker = RedisBroker(redis_url)
    await broker.subscribe(config("mine"))
    past = int(time.time()) - 5
    theirs = b'{"name":"theirs","id":"x1","t":1,"args":{"big":12345678901234567},"fails":1}'
    await raw.zadd(k.retry, {theirs: past})
    await raw.zadd(k.scheduled, {b"garbage": past})
    moved = await wait(lambda: raw.lrange(k.jobs("theirs"), 0, -1), timeout=5)
    record = json.loads(moved[0])
    assert record["args"]["big"] == 12345678901234567  # no cjson rounding
    assert record["fails"] == 1 and record["t"] >= past
    assert list(record) == ["name", "id", "t", "args", "fails"]
    await wait(lambda: raw.zcard(k.dead), timeout=5)
    [dead] = await raw.zrange(k.dead, 0, -1)
    assert json.loads(dead)["payload"] == "garbage"
    assert await raw.zcard(k.retry) == 0 and await raw.zcard(k.scheduled) == 0
    await broker.close()


async def test_retry_after_backoff_keeps_fields(redis_url: str, raw: Any, namespace: str) -> None:
    k = Keys(namespace)
    broker = RedisBroker(redis_url)
    await broker.enqueue([Job("a", {"x": 1})])
    await broker.subscribe(config("a"))
    [delivery] = await broker.fetch(1, 1.0)
    delivery.job.fails, delivery.job.last_error = 1, "boom"
    delivery.job.failed_at = datetime.now(timezone.utc)
    await broker.retry(delivery, datetime.now(timezone.utc) + timedelta(seconds=30))
    [(member, score)] = await raw.zrange(k.retry, 0, -1, withscores=True)
    assert score == int(score) and score >= time.time() + 29
    assert list(json.loads(member)) == ["name", "id", "t", "args", "fails", "err", "failed_at"]
    await broker.close()


async def test_lost_fetch_reply_is_put_back_while_running(
    redis_url: str, raw: Any, namespace: str, monkeypatch: pytest.MonkeyPatch, wait: Any
) -> None:
    monkeypatch.setattr(background, "OBSERVE_PERIOD", 0.1)
    seen: list[int] = []
    worker = Worker(url=redis_url)

    @worker.handler("lost")
    async def lost(args: dict[str, Any]) -> None:
        seen.append(args["i"])

    k = Keys(namespace)
    async with worker:
        pool = worker.broker.pool  # type: ignore[attr-defined]
        # as if a fetch moved it and the reply never arrived: in progress, held by nobody
        await raw.lpush(
            k.inprogress("lost", pool.pool_id), b'{"name":"lost","id":"l","t":1,"args":{"i":5}}'
        )
        await raw.incr(k.lock("lost"))
        await raw.hincrby(k.lock_info("lost"), pool.pool_id, 1)
        await wait(lambda: asyncio.sleep(0, seen == [5]), timeout=5)
    assert await raw.get(k.lock("lost")) == b"0"
