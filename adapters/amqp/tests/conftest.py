"""Fixtures for the AMQP adapter's tests: a URL per test, and cleanup of its topology."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from jobplug import Worker
from jobplug_amqp import AmqpBroker


@pytest.fixture
def amqp_url(amqp_server: str, namespace: str) -> str:
    return f"{amqp_server}?namespace={namespace}"


@pytest.fixture
async def make_broker(amqp_url: str) -> AsyncIterator[Callable[..., AmqpBroker]]:
    """Build brokers on this test's namespace; every queue and exchange is deleted after."""
    made: list[AmqpBroker] = []

    def make(url: str | None = None, **options: Any) -> AmqpBroker:
        url = url or amqp_url
        if options:
            url += "".join(f"&{k}={v}" for k, v in options.items())
        broker = AmqpBroker(url)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.close()
    if made:
        names: set[str] = set()
        for broker in made:
            names |= broker.known_handlers
        cleaner = AmqpBroker(made[0].url)
        cleaner.known_handlers = names
        await cleaner.delete_topology()


@pytest.fixture
async def make_worker(
    make_broker: Callable[..., AmqpBroker],
) -> AsyncIterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def make(concurrency: int = 10, broker: AmqpBroker | None = None, **options: Any) -> Worker:
        worker = Worker(
            broker or make_broker(**options),
            concurrency=concurrency,
            load_plugins=False,
            grace=5,
            fetch_timeout=0.2,
        )
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        await worker.stop()


class Waiter:
    """Bounded polling (10 ms steps) for conditions that have no event to await."""

    @staticmethod
    async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.01)

    @staticmethod
    async def until_async(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await check():
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.02)


@pytest.fixture
def wait() -> Waiter:
    return Waiter()
