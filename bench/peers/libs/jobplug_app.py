"""jobplug: one worker process (asyncio), the same job body as the peers."""

from __future__ import annotations

import asyncio
import os
import sys

import jobplug
from benchkit import AMQP_URL, BROKER, PREFIX, QUEUE, REDIS_URL, ahit

CONCURRENCY = int(os.environ.get("BENCH_JOBPLUG_CONCURRENCY", "50"))
SETTINGS = f"asyncio, concurrency={CONCURRENCY}"
HANDLER = f"{QUEUE}_hit"


def url() -> str:
    if BROKER == "redis":
        sep = "&" if "?" in REDIS_URL else "?"
        return f"{REDIS_URL}{sep}namespace={PREFIX}"
    return AMQP_URL


def make_worker() -> jobplug.Worker:
    worker = jobplug.Worker(url=url(), concurrency=CONCURRENCY, load_plugins=False)

    async def hit() -> None:
        await ahit()

    worker.register(HANDLER, hit)
    return worker


async def _produce(n: int) -> None:
    worker = jobplug.Worker(url=url(), load_plugins=False)
    try:
        for _ in range(n):
            await worker.perform(jobplug.Job(HANDLER))
    finally:
        await worker.stop()


def produce(n: int) -> None:
    asyncio.run(_produce(n))


def worker_argv() -> list[str]:
    return [sys.executable, "jobplug_app.py"]


if __name__ == "__main__":
    make_worker().run()
