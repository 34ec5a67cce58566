"""The inspect capability against real Redis data, with gocraft's client semantics."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from jobplug import ConsumerConfig, HandlerSpec, Job
from jobplug.errors import JobNotFoundError
from jobplug.inspect import PAGE_SIZE
from jobplug_redis import RedisBroker
from jobplug_redis.codec import encode_fields


def dead_member(i: int, name: str = "a") -> bytes:
    return encode_fields(name, f"d{i}", 100 + i, {"i": i}, fails=4, err="boom", failed_at=200 + i)


async def test_queues_pools_and_paging(redis_url: str, raw: Any, namespace: str) -> None:
    broker = RedisBroker(redis_url)
    old = Job("a", {"x": 1})
    old.enqueued_at = datetime.fromtimestamp(time.time() - 30, timezone.utc)
    await broker.enqueue([old, Job("a"), Job("b")])
    await broker.pause("b")
    await broker.subscribe(ConsumerConfig({"c": HandlerSpec("c")}, 4))
    inspector = broker.inspector()
    queues = {q.handler: q for q in await inspector.queues()}
    assert set(queues) == {"a", "b", "c"}
    assert queues["a"].count == 2 and 29 <= queues["a"].latency <= 35
    assert queues["b"].paused and not queues["a"].paused
    assert queues["c"].count == 0 and queues["c"].latency == 0
    [pool] = await inspector.pools()
    assert pool.handlers == ("c",) and pool.concurrency == 4 and len(pool.worker_ids) == 4
    assert pool.pid > 0 and pool.host
    await raw.zadd(f"{namespace}:dead", {dead_member(i): 200 + i for i in range(25)})
    first, second = await inspector.dead(1), await inspector.dead(2)
    assert first.total == 25 and len(first.items) == PAGE_SIZE and len(second.items) == 5
    assert first.items[0].job.id == "d24"  # newest first
    assert int(first.items[0].at.timestamp()) == 224
    assert first.items[0].job.last_error == "boom" and first.items[0].job.fails == 4
    await raw.zadd(f"{namespace}:scheduled", {b"not a job": 5})
    [odd] = (await inspector.scheduled()).items
    assert odd.job.handler == "?" and "payload" in odd.job.meta
    await broker.close()


async def test_retry_and_delete_dead(redis_url: str, raw: Any, namespace: str) -> None:
    broker = RedisBroker(redis_url)
    await raw.sadd(f"{namespace}:known_jobs", "a")
    await raw.zadd(f"{namespace}:dead", {dead_member(i): 200 + i for i in range(3)})
    await raw.zadd(f"{namespace}:dead", {dead_member(9, "nobody"): 209})
    inspector = broker.inspector()
    await inspector.retry_dead("d0", datetime.fromtimestamp(200, timezone.utc))
    [requeued] = await raw.lrange(f"{namespace}:jobs:a", 0, -1)
    record = json.loads(requeued)
    assert list(record) == ["name", "id", "t", "args"] and record["id"] == "d0"
    assert abs(record["t"] - time.time()) < 5
    with pytest.raises(JobNotFoundError):
        await inspector.retry_dead("d0")
    with pytest.raises(JobNotFoundError):
        await inspector.retry_dead("d9")  # unknown queue: stays dead, as gocraft
    left = {
        json.loads(m)["id"]: json.loads(m) for m in await raw.zrange(f"{namespace}:dead", 0, -1)
    }
    assert left["d9"]["err"] == "unknown job when requeueing"
    await inspector.delete_dead("d1")
    with pytest.raises(JobNotFoundError):
        await inspector.delete_dead("d1")
    assert await inspector.retry_all_dead() == 1  # d2 (d9 is not retriable)
    assert await raw.llen(f"{namespace}:jobs:a") == 2
    assert await inspector.delete_all_dead() == 1
    assert await raw.zcard(f"{namespace}:dead") == 0
    await broker.close()


async def test_delete_scheduled_frees_unique_and_delete_retry(
    redis_url: str, raw: Any, namespace: str
) -> None:
    broker = RedisBroker(redis_url)
    job = Job("s", {"a": 1})
    when = datetime.fromtimestamp(int(time.time()) + 100, timezone.utc)
    assert await broker.enqueue_unique(job, at=when)
    inspector = broker.inspector()
    [record] = (await inspector.scheduled()).items
    assert record.job.id == job.id and record.at == when
    await inspector.delete_scheduled(job.id, record.at)
    assert await raw.zcard(f"{namespace}:scheduled") == 0
    assert not await raw.exists(f'{namespace}:unique:s:{{"a":1}}\n')
    with pytest.raises(JobNotFoundError):
        await inspector.delete_scheduled(job.id)
    await raw.zadd(f"{namespace}:retry", {dead_member(5): 300})
    assert (await inspector.retries()).total == 1
    await inspector.delete_retry("d5")
    assert (await inspector.retries()).total == 0
    await inspector.pause("z")
    assert await raw.get(f"{namespace}:jobs:z:paused") == b"1"
    await inspector.unpause("z")
    assert not await raw.exists(f"{namespace}:jobs:z:paused")
    await broker.close()


async def test_busy_workers_from_observer_hashes(redis_url: str, raw: Any, namespace: str) -> None:
    broker = RedisBroker(redis_url)
    await broker.subscribe(ConsumerConfig({"c": HandlerSpec("c")}, 2))
    assert broker.pool is not None
    wid = broker.pool.worker_ids[0]
    await raw.hset(
        f"{namespace}:worker:{wid}",
        mapping={"job_name": "c", "job_id": "j", "started_at": 1425263401, "args": '{"a":1}'},
    )
    [busy] = await broker.inspector().busy()
    assert busy.worker_id == wid and busy.pool_id == broker.pool.pool_id
    assert busy.job.handler == "c" and busy.job.args == {"a": 1} and busy.job.id == "j"
    assert int(busy.started_at.timestamp()) == 1425263401
    await broker.close()
