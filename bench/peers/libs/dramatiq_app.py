"""Dramatiq: one worker process with 8 threads."""

from __future__ import annotations

import sys

import dramatiq
from benchkit import AMQP_URL, BROKER, CONCURRENCY, PREFIX, QUEUE, REDIS_URL, hit

SETTINGS = f"1 process x {CONCURRENCY} threads"

if BROKER == "redis":
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=REDIS_URL, namespace=PREFIX)
else:
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    broker = RabbitmqBroker(url=AMQP_URL)
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def task() -> None:
    hit()


def produce(n: int) -> None:
    for _ in range(n):
        task.send()


def worker_argv() -> list[str]:
    return [
        sys.executable, "-m", "dramatiq", "dramatiq_app", "--processes", "1",
        "--threads", str(CONCURRENCY), "--queues", QUEUE,
    ]  # fmt: skip


def amqp_names() -> tuple[list[str], list[str]]:
    return [QUEUE, f"{QUEUE}.DQ", f"{QUEUE}.XQ"], []
