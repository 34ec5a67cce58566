"""arq: one asyncio worker, its defaults: max_jobs 10, and every poll_delay (0.5 s) at most
queue_read_limit (100) job ids read from the queue."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from arq.connections import RedisSettings, create_pool
from benchkit import QUEUE, REDIS_URL, ahit

SETTINGS = "asyncio, max_jobs=10, poll_delay=0.5s (defaults)"


async def task(ctx: dict[str, Any]) -> None:
    await ahit(ctx["redis"])


class WorkerSettings:
    functions = [task]
    redis_settings = RedisSettings.from_dsn(REDIS_URL)
    queue_name = QUEUE
    keep_result = 0
    max_tries = 1


async def _produce(n: int) -> None:
    pool = await create_pool(WorkerSettings.redis_settings, default_queue_name=QUEUE)
    try:
        for _ in range(n):
            await pool.enqueue_job("task")
    finally:
        await pool.aclose()


def produce(n: int) -> None:
    asyncio.run(_produce(n))


def worker_argv() -> list[str]:
    return [sys.executable, "-m", "arq", "arq_app.WorkerSettings"]
