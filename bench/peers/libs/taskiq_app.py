"""taskiq: ListQueueBroker (taskiq-redis) or AioPikaBroker (taskiq-aio-pika), one worker
process, default max async tasks."""

from __future__ import annotations

import asyncio
import sys

from benchkit import AMQP_URL, BROKER, QUEUE, REDIS_URL, ahit

try:  # taskiq's worker runs on uvloop when it is installed (taskiq[uv])
    import uvloop  # noqa: F401

    LOOP = "uvloop"
except ImportError:
    LOOP = "asyncio"

if BROKER == "redis":
    from taskiq_redis import ListQueueBroker

    broker = ListQueueBroker(url=REDIS_URL, queue_name=QUEUE)
    SETTINGS = f"ListQueueBroker, 1 process, {LOOP}"
else:
    from taskiq_aio_pika import AioPikaBroker

    broker = AioPikaBroker(url=AMQP_URL, queue_name=QUEUE, exchange_name=QUEUE)
    SETTINGS = f"AioPikaBroker, 1 process, {LOOP}"


@broker.task(task_name="bench.hit")
async def task() -> None:
    await ahit()


async def _produce(n: int) -> None:
    await broker.startup()
    try:
        for _ in range(n):
            await task.kiq()
    finally:
        await broker.shutdown()


def produce(n: int) -> None:
    asyncio.run(_produce(n))


def worker_argv() -> list[str]:
    return [
        sys.executable, "-m", "taskiq", "worker", "taskiq_app:broker", "--workers", "1",
        "--log-level", "WARNING",
    ]  # fmt: skip


def amqp_names() -> tuple[list[str], list[str]]:
    return [QUEUE, f"{QUEUE}.delay"], [QUEUE]
