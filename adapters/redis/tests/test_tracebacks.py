"""A failed job keeps its traceback (bounded) in an extra field Go skips; ``err`` is as
gocraft writes it."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from jobplug import Job, Worker
from jobplug.policy import TRACEBACK_CHARS, TRACEBACK_LINES
from jobplug_redis import RedisBroker
from jobplug_redis.keys import Keys

GOCRAFT_ORDER = ["name", "id", "t", "args", "fails", "err", "failed_at"]


def parse_member(raw: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw)
    return data


async def settle(check: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_retry_and_dead_members_keep_the_traceback_after_gocrafts_fields(
    redis_url: str, raw: Any, namespace: str
) -> None:
    keys = Keys(namespace)
    worker = Worker(url=redis_url, load_plugins=False)

    def lookup(args: dict[str, Any]) -> None:
        raise KeyError(args["key"])

    @worker.handler("bad", max_fails=2, backoff=lambda job: 3600)
    async def bad(args: dict[str, Any]) -> None:
        lookup(args)

    async with worker:
        await worker.perform(Job("bad", {"key": "user"}))
        await settle(lambda: raw.zcard(keys.retry))
        [retry] = [parse_member(m) for m in await raw.zrange(keys.retry, 0, -1)]
        assert list(retry) == [*GOCRAFT_ORDER, "err_traceback"]
        assert retry["err"] == "KeyError: 'user'"  # what gocraft shows, unchanged
        tb = retry["err_traceback"]
        assert tb.startswith("Traceback (most recent call last):")
        assert 'in lookup\n    raise KeyError(args["key"])' in tb
        assert tb.endswith("KeyError: 'user'")
        # due now: the requeuer hands it back, it fails for good
        await raw.zadd(keys.retry, {(await raw.zrange(keys.retry, 0, 0))[0]: 1})
        await settle(lambda: raw.zcard(keys.dead))
    [dead] = [parse_member(m) for m in await raw.zrange(keys.dead, 0, -1)]
    assert list(dead) == [*GOCRAFT_ORDER, "err_traceback"] and dead["fails"] == 2
    assert dead["err"] == "KeyError: 'user'" and "in lookup" in dead["err_traceback"]

    broker = RedisBroker(redis_url)
    try:
        inspector = broker.inspector()
        [record] = (await inspector.dead()).items
        assert record.job.last_error == "KeyError: 'user'"
        assert record.job.last_traceback == dead["err_traceback"]
        await inspector.retry_dead(record.job.id)
        [queued] = [parse_member(m) for m in await raw.lrange(keys.jobs("bad"), 0, -1)]
        assert list(queued) == ["name", "id", "t", "args"]  # a fresh start, as gocraft's
    finally:
        await broker.close()


async def test_a_deep_traceback_is_bounded_to_its_innermost_lines(
    redis_url: str, raw: Any, namespace: str
) -> None:
    keys = Keys(namespace)
    worker = Worker(url=redis_url, load_plugins=False)

    def ping(n: int) -> None:  # two functions: Python would fold one repeated frame
        if n == 0:
            raise RuntimeError("bottom " + "x" * 300)
        pong(n - 1)

    def pong(n: int) -> None:
        ping(n)

    worker.register("deep", lambda args: ping(200), max_fails=1)
    async with worker:
        await worker.perform(Job("deep"))
        await settle(lambda: raw.zcard(keys.dead))
    [dead] = [parse_member(m) for m in await raw.zrange(keys.dead, 0, -1)]
    tb = dead["err_traceback"]
    lines = tb.split("\n")
    assert lines[0].startswith("... ") and lines[0].endswith(" earlier line(s) cut")
    assert len(lines) <= TRACEBACK_LINES + 1 and len(tb) <= TRACEBACK_CHARS + 40
    assert lines[-1] == "RuntimeError: bottom " + "x" * 300
