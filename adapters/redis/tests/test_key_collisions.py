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


async def test_a_list_on_another_types_key_stops_only_that_type(
    redis_url: str, raw: Any, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Another producer (Go, redis-cli) pushed jobs named ``x:lock`` and ``y:paused``: their
    lists sit on x's lock counter and y's pause flag. z must go on; x and y wait, said once,
    and run once the stray keys are gone."""
    k = Keys(namespace)
    await raw.lpush(k.lock("x"), b'{"name":"x:lock","id":"a","t":1,"args":{}}')
    await raw.lpush(k.paused("y"), b'{"name":"y:paused","id":"b","t":1,"args":{}}')
    worker = Worker(url=redis_url, load_plugins=False, fetch_timeout=0.2)
    ran: list[str] = []
    done = {name: asyncio.Event() for name in "xyz"}
    for name in "xyz":
        worker.register(name, lambda args, n=name: (ran.append(n), done[n].set()))
    await worker.perform_many([Job("x"), Job("y")])
    with caplog.at_level(logging.ERROR, logger="jobplug.redis"):
        async with worker:
            await worker.perform(Job("z"))
            await asyncio.wait_for(done["z"].wait(), 10)
            assert ran == ["z"]
            reports = [r.getMessage() for r in caplog.records if "not fetched" in r.getMessage()]
            assert sorted(m.split("'")[1] for m in reports) == ["x", "y"]
            await raw.delete(k.lock("x"), k.paused("y"))
            await asyncio.wait_for(asyncio.gather(done["x"].wait(), done["y"].wait()), 10)
    assert sorted(ran) == ["x", "y", "z"]
