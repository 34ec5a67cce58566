"""jobplug: one worker process (asyncio), the same job body as the peers."""

from __future__ import annotations

import asyncio
import os
import sys

from benchkit import AMQP_URL, BROKER, PREFIX, QUEUE, REDIS_URL, ahit

import jobplug
from jobplug import loops

CONCURRENCY = int(os.environ.get("BENCH_JOBPLUG_CONCURRENCY", "100"))
#: uvloop when installed (the harness installs it, as jobplug[uvloop] does); JOBPLUG_LOOP=asyncio
SETTINGS = f"{loops.resolve()}, concurrency={CONCURRENCY}"
HANDLER = f"{QUEUE}_hit"


def url() -> str:
    """The run's own namespace: nothing it creates can mix with anyone else's."""
    base = REDIS_URL if BROKER == "redis" else AMQP_URL
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}namespace={PREFIX if BROKER == 'redis' else QUEUE}"


def amqp_names() -> tuple[list[str], list[str]]:
    """The AMQP adapter's topology for the namespace (see jobplug_amqp.topology)."""
    ladder = [f"{QUEUE}.delay.{n:02d}" for n in range(32)]
    queues = [f"{QUEUE}.job.{HANDLER}", f"{QUEUE}.dead", *ladder]
    return queues, [f"{QUEUE}.lost", f"{QUEUE}.delay.out", *ladder]


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
