"""Job names that would land on another job type's gocraft keys (``x:lock``, ``x:paused``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from jobplug import ConfigurationError, Job, Worker
from jobplug_redis.keys import Keys


@pytest.mark.parametrize(
    "name", ["x:lock", "x:lock_info", "x:paused", "x:max_concurrency", "x:p1:inprogress"]
)
async def test_colliding_names_are_refused_before_anything_is_written(
    redis_url: str, raw: Any, namespace: str, name: str
) -> None:
    worker = Worker(url=redis_url, load_plugins=False)
    with pytest.raises(ConfigurationError, match="rename it"):
        worker.register(name, print)
    with pytest.raises(ConfigurationError, match=f"job name '{name}'"):
        await worker.perform(Job(name))
    with pytest.raises(ConfigurationError):
        await worker.perform_in(Job(name), 60)
    assert [k async for k in raw.scan_iter(match=f"{namespace}:*")] == []
    worker.register("x:lockless", print)  # only the exact suffixes are taken
    await worker.stop()


async def test_stray_lists_on_a_types_keys_go_dead_and_the_type_runs_again(
    redis_url: str, raw: Any, namespace: str
) -> None:
    """Another producer (Go, redis-cli) pushed jobs named ``x:lock`` and ``y:paused``: their
    lists sit on x's lock counter and y's pause flag. No worker may run them; the worker of
    x and y moves them to dead, saying why, and x and y run."""
    k = Keys(namespace)
    await raw.lpush(k.lock("x"), b'{"name":"x:lock","id":"a","t":1,"args":{}}')
    await raw.lpush(k.paused("y"), b'{"name":"y:paused","id":"b","t":1,"args":{}}', b"junk")
    worker = Worker(url=redis_url, load_plugins=False, fetch_timeout=0.2)
    done = {name: asyncio.Event() for name in "xyz"}
    for name in "xyz":
        worker.register(name, lambda args, n=name: done[n].set())
    await worker.perform_many([Job("x"), Job("y"), Job("z")])
    async with worker:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in done.values())), 10)
        dead = (await worker.broker.inspector().dead()).items
    assert sorted(r.job.handler for r in dead) == ["x", "y", "y"]
    errors = sorted(r.job.last_error or "" for r in dead)
    assert all("collides with gocraft's keys" in e for e in errors), errors
    assert any(f"{k.lock('x')}, the 'lock' key of job type 'x'" in e for e in errors), errors
    assert await raw.exists(k.lock("x"), k.paused("y")) in (0, 1)  # lock is a counter again
    assert await raw.type(k.paused("y")) == b"none"  # y is not paused


async def test_a_key_of_another_wrong_type_stops_only_that_type(
    redis_url: str, raw: Any, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    k = Keys(namespace)
    worker = Worker(url=redis_url, load_plugins=False, fetch_timeout=0.2)
    done = asyncio.Event()
    worker.register("w", lambda args: None)
    worker.register("z", lambda args: done.set())
    await worker.perform(Job("w"))
    await raw.set(k.lock_info("w"), "1")  # a string where a hash belongs
    with caplog.at_level(logging.ERROR, logger="jobplug.redis"):
        async with worker:
            await worker.perform(Job("z"))
            await asyncio.wait_for(done.wait(), 10)
    reports = [r.getMessage() for r in caplog.records if "are not fetched" in r.getMessage()]
    assert len(reports) == 1 and "'w'" in reports[0], reports
    assert await raw.llen(k.jobs("w")) == 1  # kept for when the key is fixed
