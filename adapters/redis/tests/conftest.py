"""Fixtures for the Redis adapter tests: a URL with a fresh namespace on the shared Redis
(keys removed after the test), a raw client, and helpers to wait for conditions."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).parent))
from redis_test_servers import RedisProcess


@pytest.fixture
def redis_url(redis_server: str, namespace: str) -> str:
    return f"{redis_server}/0?namespace={namespace}"


@pytest.fixture
async def raw(redis_server: str, namespace: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client on the shared Redis; deletes the test namespace's keys afterwards."""
    client = aioredis.Redis.from_url(redis_server)
    yield client
    keys = [k async for k in client.scan_iter(match=f"{namespace}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 10.0, interval: float = 0.02
) -> Any:
    """Poll ``check`` until it returns something truthy (bounded); return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)


@pytest.fixture
def wait() -> Callable[..., Awaitable[Any]]:
    """``await wait(check, timeout=...)``: see :func:`eventually`."""
    return eventually


@pytest.fixture
def own_redis(tmp_path: Any) -> Any:
    server = RedisProcess(str(tmp_path))
    server.start()
    yield server
    server.stop()
