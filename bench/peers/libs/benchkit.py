"""What every peer's job body and worker share: the run's settings (from the environment,
set by ``driver.py``) and the Redis counter the job body increments.

The job body is the same for every library: ``INCR`` one counter; the job that brings it
to 1 stamps the first completion time and the one that brings it to N the last. The drain
rate is ``(N - 1) / (last - first)``, so worker start-up and the producer never count.
"""

from __future__ import annotations

import os
import time
from typing import Any

PREFIX = os.environ.get("BENCH_PREFIX", "jpbench:dev")
N = int(os.environ.get("BENCH_N", "1000"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
BROKER = os.environ.get("BENCH_BROKER", "redis")  # "redis" | "amqp"
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))

COUNT = f"{PREFIX}:count"
FIRST = f"{PREFIX}:first"
LAST = f"{PREFIX}:last"
#: A queue / exchange name usable by every library (letters, digits, "_" and "-").
QUEUE = PREFIX.replace(":", "_")

_sync_client: Any = None
_async_client: Any = None


def _stamp_key(n: int) -> str | None:
    if n == 1:
        return FIRST
    if n == N:
        return LAST
    return None


def sync_client() -> Any:
    global _sync_client
    if _sync_client is None:
        import redis

        _sync_client = redis.Redis.from_url(REDIS_URL)
    return _sync_client


def hit() -> None:
    """The job body for sync workers (thread-safe: redis-py pools connections)."""
    r = sync_client()
    n = r.incr(COUNT)
    key = _stamp_key(n)
    if key is not None:
        r.set(key, repr(time.time()))
    if N == 1:
        r.set(LAST, repr(time.time()))


async def ahit(client: Any = None) -> None:
    """The job body for asyncio workers; ``client`` defaults to one per process."""
    global _async_client
    if client is None:
        if _async_client is None:
            import redis.asyncio

            _async_client = redis.asyncio.Redis.from_url(REDIS_URL)
        client = _async_client
    n = await client.incr(COUNT)
    key = _stamp_key(n)
    if key is not None:
        await client.set(key, repr(time.time()))
    if N == 1:
        await client.set(LAST, repr(time.time()))
