"""Unique jobs, pause, max concurrency across processes, priorities."""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from jobplug import Job, Worker
from jobplug_redis import RedisBroker
from jobplug_redis.keys import Keys


async def test_unique_marker_bytes_and_duplicates(
    broker: RedisBroker, raw: Any, namespace: str
) -> None:
    first = Job("clear_cache", {"object_id_": "123"})
    assert await broker.enqueue_unique(first)
    assert not await broker.enqueue_unique(Job("clear_cache", {"object_id_": "123"}))
    assert await broker.enqueue_unique(Job("clear_cache", {"object_id_": "124"}))
    key = f'{namespace}:unique:clear_cache:{{"object_id_":"123"}}\n'
    assert await raw.get(key) == b"1"
    assert 86000 < await raw.ttl(key) <= 86400
    stored = await raw.lrange(f"{namespace}:jobs:clear_cache", 0, -1)
    assert len(stored) == 2
    record = json.loads(stored[-1])
    assert record["unique"] is True and record["unique_key"] == key
    assert list(record) == ["name", "id", "t", "args", "unique", "unique_key"]


async def test_unique_released_when_job_starts(
    redis_url: str, raw: Any, namespace: str, wait: Any
) -> None:
    gate = asyncio.Event()
    started: list[dict[str, Any]] = []
    worker = Worker(url=redis_url)

    @worker.handler("u")
    async def u(args: dict[str, Any]) -> None:
        started.append(args)
        await gate.wait()

    async with worker:
        assert await worker.perform_unique(Job("u", {"a": 1}))
        await wait(lambda: asyncio.sleep(0, started))
        # running: the marker is gone, so the same job may be enqueued again (as gocraft)
        assert await worker.perform_unique(Job("u", {"a": 1}))
        assert not await worker.perform_unique(Job("u", {"a": 1}))
        gate.set()
        await wait(lambda: asyncio.sleep(0, len(started) == 2))


async def test_unique_by_key_runs_latest_args(
    redis_url: str, raw: Any, namespace: str, wait: Any
) -> None:
    broker = RedisBroker(redis_url)
    assert await broker.enqueue_unique(Job("k", {"v": 1}), key={"user": 7})
    assert not await broker.enqueue_unique(Job("k", {"v": 2}), key={"user": 7})
    marker = await raw.get(f'{namespace}:unique:k:{{"user":7}}\n')
    assert json.loads(marker)["args"] == {"v": 2}
    await broker.close()
    seen: list[dict[str, Any]] = []
    worker = Worker(url=redis_url)

    @worker.handler("k")
    async def k(args: dict[str, Any]) -> None:
        seen.append(args)

    async with worker:
        await wait(lambda: asyncio.sleep(0, seen))
    assert seen == [{"v": 2}]
    assert await raw.get(f"{namespace}:jobs:k:lock") == b"0"
    # the in-progress entry (the fetched bytes, not the marker's) was removed (gocraft #181)
    assert not [key async for key in raw.scan_iter(match=f"{namespace}:jobs:k:*:inprogress")]


async def test_unique_in_keeps_first_schedule(
    broker: RedisBroker, raw: Any, namespace: str
) -> None:
    soon = datetime.now(timezone.utc) + timedelta(seconds=60)
    assert await broker.enqueue_unique(Job("s", {"a": 1}), at=soon)
    assert not await broker.enqueue_unique(Job("s", {"a": 1}), at=soon + timedelta(hours=1))
    [(_, score)] = await raw.zrange(f"{namespace}:scheduled", 0, -1, withscores=True)
    assert score == math.ceil(soon.timestamp())


async def test_pause_any_value_and_unpause(
    redis_url: str, raw: Any, namespace: str, wait: Any
) -> None:
    k = Keys(namespace)
    seen: list[int] = []
    worker = Worker(url=redis_url)

    @worker.handler("p")
    async def p(args: dict[str, Any]) -> None:
        seen.append(args["i"])

    await raw.set(k.paused("p"), "0")  # gocraft: any value pauses, even "0"
    async with worker:
        await worker.perform(Job("p", {"i": 1}))
        await asyncio.sleep(0.5)
        assert seen == []
        await worker.broker.unpause("p")
        await wait(lambda: asyncio.sleep(0, seen == [1]), timeout=3)
        await worker.broker.pause("p")
        assert await raw.get(k.paused("p")) == b"1"
        await worker.perform(Job("p", {"i": 2}))
        await asyncio.sleep(0.3)
        assert seen == [1]
        t0 = time.monotonic()
        await raw.delete(k.paused("p"))  # unpaused by someone else: seen by polling
        await wait(lambda: asyncio.sleep(0, seen == [1, 2]), timeout=3)
        assert time.monotonic() - t0 < 1.5


async def test_max_concurrency_across_processes(
    redis_url: str, raw: Any, namespace: str, wait: Any
) -> None:
    running = 0
    peak = 0
    done = 0

    async def job(args: dict[str, Any]) -> None:
        nonlocal running, peak, done
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        done += 1

    workers = [Worker(url=redis_url, concurrency=10) for _ in range(2)]
    for w in workers:
        w.register("capped", job, max_concurrency=2)
    for w in workers:
        await w.start()
    try:
        await workers[0].perform_many([Job("capped", {"i": i}) for i in range(12)])
        await wait(lambda: asyncio.sleep(0, done == 12), timeout=10)
    finally:
        for w in workers:
            await w.stop()
    assert peak == 2
    assert await raw.get(f"{namespace}:jobs:capped:max_concurrency") == b"2"
    assert await raw.get(f"{namespace}:jobs:capped:lock") == b"0"


async def test_priorities_weight_the_mix(
    redis_url: str, raw: Any, namespace: str, wait: Any
) -> None:
    order: list[str] = []
    worker = Worker(url=redis_url, concurrency=1)

    @worker.handler("high", priority=9)
    async def high(args: dict[str, Any]) -> None:
        order.append("high")

    @worker.handler("low", priority=1)
    async def low(args: dict[str, Any]) -> None:
        order.append("low")

    producer = RedisBroker(redis_url)
    await producer.enqueue([Job("low", {"i": i}) for i in range(150)])
    await producer.enqueue([Job("high", {"i": i}) for i in range(150)])
    await producer.close()
    async with worker:
        await wait(lambda: asyncio.sleep(0, len(order) >= 100), timeout=20)
    share = order[:100].count("high") / 100
    assert 0.75 <= share <= 0.99, share


async def test_periodic_needs_the_cron_module(redis_url: str, raw: Any, monkeypatch: Any) -> None:
    from jobplug.errors import ConfigurationError

    monkeypatch.setitem(sys.modules, "jobplug_redis.periodic", None)  # import fails
    worker = Worker(url=redis_url)
    worker.register("tick", lambda: None)
    worker.every("* * * * * *", "tick")
    try:
        await worker.start()
    except ConfigurationError as exc:
        assert "jobplug_redis.periodic" in str(exc)
    else:
        raise AssertionError("start() should fail without the periodic module")
    finally:
        await worker.stop()


async def test_periodic_jobs_run(redis_url: str, raw: Any, namespace: str, wait: Any) -> None:
    import pytest

    pytest.importorskip("jobplug_redis.periodic")
    ticks: list[float] = []
    worker = Worker(url=redis_url)
    worker.register("tick", lambda: ticks.append(time.time()))
    worker.every("* * * * * *", "tick")
    async with worker:
        await wait(lambda: asyncio.sleep(0, len(ticks) >= 2), timeout=8)
    assert await raw.get(f"{namespace}:last_periodic_enqueue") is not None


async def test_a_bad_cron_spec_fails_in_every_and_the_good_ones_run(
    redis_url: str, raw: Any, namespace: str, wait: Any
) -> None:
    import pytest

    from jobplug.errors import InvalidScheduleError

    ticks: list[float] = []
    worker = Worker(url=redis_url)
    worker.register("tick", lambda: ticks.append(time.time()))
    with pytest.raises(InvalidScheduleError, match=r"'61 \* \* \* \*'"):
        worker.every("61 * * * *", "tick")
    worker.every("* * * * * *", "tick")
    async with worker:
        await wait(lambda: asyncio.sleep(0, len(ticks) >= 1), timeout=8)
