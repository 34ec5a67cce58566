"""Enqueue, fetch, finish, retry and bury against the real Redis, checked key by key."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from redis_test_helpers import config

import jobplug
from jobplug import Job, Worker
from jobplug_redis import RedisBroker
from jobplug_redis.keys import Keys


async def test_enqueue_writes_gocraft_bytes(broker: RedisBroker, raw: Any, namespace: str) -> None:
    job = Job("send_email", {"to": "a@b.c", "n": 1.0}, id="0123456789abcdef01234567")
    job.enqueued_at = datetime.fromtimestamp(1700000000, timezone.utc)
    await broker.enqueue([job])
    stored = await raw.lrange(f"{namespace}:jobs:send_email", 0, -1)
    assert stored == [
        b'{"name":"send_email","id":"0123456789abcdef01234567","t":1700000000,'
        b'"args":{"n":1,"to":"a@b.c"}}'
    ]
    assert await raw.smembers(f"{namespace}:known_jobs") == {b"send_email"}
    cli = await asyncio.create_subprocess_exec(
        *("redis-cli", "-p", "6379", "--raw", "LINDEX", f"{namespace}:jobs:send_email", "-1"),
        stdout=asyncio.subprocess.PIPE,
    )
    assert (await cli.communicate())[0] == stored[0] + b"\n"  # what redis-cli shows


async def test_batch_enqueue_is_fifo_and_scheduled_scores_are_integers(
    broker: RedisBroker, raw: Any, namespace: str
) -> None:
    jobs = [Job("a", {"i": i}) for i in range(5)] + [Job("b", {"i": 9})]
    await broker.enqueue(jobs)
    # gocraft fetches from the right: the first enqueued is the rightmost
    oldest = await raw.lindex(f"{namespace}:jobs:a", -1)
    assert json.loads(oldest)["args"] == {"i": 0}
    assert await raw.llen(f"{namespace}:jobs:a") == 5
    when = datetime.now(timezone.utc) + timedelta(seconds=100.2)
    await broker.enqueue([Job("c")], at=when)
    [(member, score)] = await raw.zrange(f"{namespace}:scheduled", 0, -1, withscores=True)
    assert score == int(score) and score >= when.timestamp()
    assert (await raw.zrange(f"{namespace}:scheduled", 0, -1, withscores=True))[0][1] == score
    assert json.loads(member)["name"] == "c"
    await broker.close()
    await broker.enqueue([Job("a")])  # a closed broker reconnects when used again
    assert await raw.llen(f"{namespace}:jobs:a") == 6


async def test_finished_jobs_leave_nothing_behind_in_the_pool(broker: RedisBroker) -> None:
    # a worker's memory must not grow with the number of jobs it has finished
    await broker.enqueue([Job("a", {"i": i}) for i in range(30)])
    await broker.subscribe(config("a"))
    pool = broker.pool
    assert pool is not None
    got = await broker.fetch(30, 1.0)
    assert len(got) == 30
    await broker.ack(got[:20])
    await broker.retry(got[20], datetime.now(timezone.utc) + timedelta(seconds=60))
    await broker.bury(got[21])
    await broker.ack(got[22:])
    assert pool.held() == set()
    assert not pool._finishing


async def test_fetch_moves_to_inprogress_and_ack_fixes_locks(
    broker: RedisBroker, raw: Any, namespace: str
) -> None:
    await broker.enqueue([Job("a", {"i": i}) for i in range(7)])
    await broker.subscribe(config("a"))
    pool = broker.pool
    assert pool is not None
    got = await broker.fetch(5, 1.0)
    assert [d.job.args["i"] for d in got] == [0, 1, 2, 3, 4]
    k = Keys(namespace)
    assert await raw.llen(k.inprogress("a", pool.pool_id)) == 5
    assert await raw.get(k.lock("a")) == b"5"
    assert await raw.hget(k.lock_info("a"), pool.pool_id) == b"5"
    await broker.ack(got[:3])
    assert await raw.llen(k.inprogress("a", pool.pool_id)) == 2
    assert await raw.get(k.lock("a")) == b"2"
    await broker.ack(got[:3])  # a repeated finish changes nothing
    assert await raw.get(k.lock("a")) == b"2"
    await broker.retry(got[3], datetime.now(timezone.utc) + timedelta(seconds=60))
    got[4].job.fails, got[4].job.last_error = 4, "boom"
    got[4].job.failed_at = datetime.now(timezone.utc)
    await broker.bury(got[4])
    assert await raw.get(k.lock("a")) == b"0"
    assert await raw.hget(k.lock_info("a"), pool.pool_id) == b"0"
    [(dead, _)] = await raw.zrange(k.dead, 0, -1, withscores=True)
    assert json.loads(dead)["err"] == "boom" and json.loads(dead)["fails"] == 4
    assert list(json.loads(dead)) == ["name", "id", "t", "args", "fails", "err", "failed_at"]
    assert await raw.zcard(k.retry) == 1
    await broker.close()
    # clean stop: heartbeat gone, remaining jobs untouched
    assert not await raw.sismember(k.worker_pools, pool.pool_id)
    assert await raw.llen(k.jobs("a")) == 2


async def test_worker_runs_retries_and_buries(redis_url: str, raw: Any, namespace: str) -> None:
    seen: list[int] = []
    worker = Worker(url=redis_url, concurrency=4)

    @worker.handler("ok")
    async def ok(args: dict[str, Any]) -> None:
        seen.append(args["i"])

    @worker.handler("bad", max_fails=1)
    async def bad(args: dict[str, Any]) -> None:
        raise ValueError("nope")

    @worker.handler("flaky", max_fails=3, backoff=lambda job: 0)
    async def flaky(args: dict[str, Any]) -> None:
        raise RuntimeError("again")

    async with worker:
        await worker.perform_many([Job("ok", {"i": i}) for i in range(20)])
        await worker.perform(Job("bad"))
        await worker.perform(Job("flaky"))
        k = Keys(namespace)

        async def settled() -> bool:
            return len(seen) == 20 and await raw.zcard(k.dead) == 2

        deadline = time.monotonic() + 10
        while not await settled():
            assert time.monotonic() < deadline, (seen, await raw.zrange(k.dead, 0, -1))
            await asyncio.sleep(0.02)
    dead = {json.loads(m)["name"]: json.loads(m) for m in await raw.zrange(k.dead, 0, -1)}
    assert dead["bad"]["err"] == "ValueError: nope" and dead["bad"]["fails"] == 1
    assert dead["flaky"]["fails"] == 3
    assert sorted(seen) == list(range(20))
    assert await raw.get(k.lock("ok")) == b"0"


async def test_malformed_payload_goes_dead_and_worker_goes_on(
    redis_url: str, raw: Any, namespace: str, wait: Any
) -> None:
    k = Keys(namespace)
    seen: list[str] = []
    worker = Worker(url=redis_url)

    @worker.handler("a")
    async def a(args: dict[str, Any]) -> None:
        seen.append(args["x"])

    await raw.lpush(k.jobs("a"), b"{not json", b'{"name":"a","id":"1","t":1,"args":[1]}')
    await raw.lpush(k.jobs("a"), b'{"name":"a","id":"2","t":1,"args":{"x":"fine"}}')
    async with worker:
        await wait(lambda: asyncio.sleep(0, seen == ["fine"]))
        await wait(lambda: _count(raw, k.dead, 2))
    records = [json.loads(m) for m in await raw.zrange(k.dead, 0, -1)]
    reasons = sorted(r["err"] for r in records)
    assert reasons[0].startswith("malformed job payload: job 'args' must be a JSON object")
    assert reasons[1].startswith("malformed job payload: payload is not JSON")
    assert {r["payload"] for r in records} == {
        "{not json",
        '{"name":"a","id":"1","t":1,"args":[1]}',
    }
    assert all(r["name"] == "a" for r in records)
    assert await raw.get(k.lock("a")) == b"0"


async def _count(raw: Any, key: str, n: int) -> bool:
    return bool(await raw.zcard(key) == n)


async def test_raw_gocraft_job_pushed_with_redis_cli_runs(
    redis_server: str, namespace: str, raw: Any, wait: Any
) -> None:
    ran: list[dict[str, Any]] = []
    worker = Worker(url=f"{redis_server}/0?namespace={namespace}")

    @worker.handler("send_email")
    async def send_email(args: dict[str, Any]) -> None:
        ran.append(args)

    gocraft_json = (
        '{"name":"send_email","id":"0123456789abcdef01234567","t":1425263409,'
        '"args":{"address":"x@y.z","html":"\\u003cb\\u003e"}}'
    )
    async with worker:
        cli = await asyncio.create_subprocess_exec(
            "redis-cli",
            "-p",
            "6379",
            "LPUSH",
            f"{namespace}:jobs:send_email",
            gocraft_json,
            stdout=asyncio.subprocess.PIPE,
        )
        assert (await cli.communicate())[0].strip() == b"1"
        await wait(lambda: asyncio.sleep(0, ran))
    assert ran == [{"address": "x@y.z", "html": "<b>"}]


async def test_idle_worker_starts_a_pushed_job_within_milliseconds(
    redis_url: str, raw: Any, namespace: str
) -> None:
    started = asyncio.get_running_loop().create_future()
    worker = Worker(url=redis_url, fetch_timeout=30.0)

    @worker.handler("ping")
    async def ping(args: dict[str, Any]) -> None:
        started.set_result(time.perf_counter())

    async with worker:
        await asyncio.sleep(0.3)  # let the worker go idle (blocked in its wake-up watcher)
        other = await _plain_lpush(raw, namespace)  # pushed by "another process"
        latency = await asyncio.wait_for(started, 5) - other
    assert latency < 0.25, latency  # gocraft polls idle queues every 5 s


async def _plain_lpush(raw: Any, namespace: str) -> float:
    t0 = time.perf_counter()
    await raw.lpush(f"{namespace}:jobs:ping", b'{"name":"ping","id":"x","t":1,"args":null}')
    return t0


def test_entry_points_registered() -> None:
    from jobplug.registry import broker_class

    for scheme in ("redis", "rediss", "redis+cluster"):
        assert broker_class(f"{scheme}://127.0.0.1:1") is RedisBroker
    assert jobplug.Capability.PERIODIC in RedisBroker.capabilities
    with pytest.raises(jobplug.ConfigurationError):
        RedisBroker("redis://h/0?max_crashes=zero")


def test_broker_usable_from_successive_event_loops(redis_url: str, namespace: str) -> None:
    broker = RedisBroker(redis_url)

    async def enqueue_then_close() -> None:
        await broker.enqueue([Job("a")])
        await broker.close()

    asyncio.run(enqueue_then_close())
    asyncio.run(enqueue_then_close())  # a new loop: a new client, not a stale one

    async def queues() -> list[tuple[str, int]]:
        found = await broker.inspector().queues()
        await broker.close()
        return [(q.handler, q.count) for q in found]

    assert asyncio.run(queues()) == [("a", 2)]
    import redis

    client = redis.Redis.from_url(redis_url.split("?")[0])
    client.delete(*client.keys(f"{namespace}:*"))
    client.close()
