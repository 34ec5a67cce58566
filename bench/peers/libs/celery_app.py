"""Celery: solo pool (one job at a time in the worker process), results ignored."""

from __future__ import annotations

import sys

from benchkit import AMQP_URL, BROKER, QUEUE, REDIS_URL, hit
from celery import Celery

# Celery's optimizing guide: for many short tasks where throughput matters, a large
# prefetch multiplier ("say 64, or 128"); the default 4 is meant for long tasks.
PREFETCH = 128
SETTINGS = f"solo pool, prefetch x{PREFETCH}"

app = Celery("celery_app", broker=REDIS_URL if BROKER == "redis" else AMQP_URL)
app.conf.update(
    task_ignore_result=True,
    task_default_queue=QUEUE,
    task_default_exchange=QUEUE,
    task_default_routing_key=QUEUE,
    worker_enable_remote_control=False,
    worker_send_task_events=False,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=PREFETCH,
)


@app.task(name="bench.hit")
def task() -> None:
    hit()


def produce(n: int) -> None:
    with app.producer_or_acquire() as producer:
        for _ in range(n):
            task.apply_async(producer=producer)


def worker_argv() -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "celery_app", "worker", "-P", "solo",
        "-c", "1", "-Q", QUEUE, "--without-gossip", "--without-mingle",
        "--without-heartbeat", "--loglevel", "WARNING",
    ]  # fmt: skip


def amqp_names() -> tuple[list[str], list[str]]:
    return [QUEUE], [QUEUE]
