"""Connection errors (jobplug's own type, password redacted) and a Redis restart mid-run."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from jobplug import BrokerConnectionError, Job, Worker
from jobplug_redis import RedisBroker, background


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_redis_is_a_jobplug_error_without_password() -> None:
    url = f"redis://admin:s3cret-pw@127.0.0.1:{_free_port()}/0?namespace=x"
    worker = Worker(url=url)
    with pytest.raises(BrokerConnectionError) as info:
        await worker.perform(Job("a"))
    text = str(info.value)
    assert "s3cret-pw" not in text and "***" in text and "127.0.0.1" in text
    assert "s3cret-pw" not in repr(worker.broker)
    broker = RedisBroker(url)
    for call in (broker.connect(), broker.enqueue([Job("a")]), broker.inspector().queues()):
        with pytest.raises(BrokerConnectionError) as info:
            await call
        assert "s3cret-pw" not in str(info.value)
    await broker.close()


async def test_worker_survives_redis_restart_and_loses_nothing(
    own_redis: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(background, "OBSERVE_PERIOD", 0.2)
    url = f"{own_redis.url}/0?namespace=restart"
    done: set[str] = set()
    worker = Worker(url=url, concurrency=8)

    @worker.handler("work")
    async def work(args: dict[str, Any]) -> None:
        await asyncio.sleep(0.03)
        done.add(args["id"])

    producer = RedisBroker(url)
    acknowledged: set[str] = set()

    async def produce(start: int, count: int) -> None:
        for i in range(start, start + count):
            job = Job("work", {"id": f"j{i}"})
            while True:
                try:
                    await producer.enqueue([job])
                    break
                except BrokerConnectionError:
                    await asyncio.sleep(0.05)
            acknowledged.add(f"j{i}")
            await asyncio.sleep(0.002)

    async with worker:
        await produce(0, 150)
        assert len(done) < 150  # some are still queued or running
        own_redis.stop()  # mid-run: jobs in progress, acks in flight
        await asyncio.sleep(1.0)
        own_redis.start()
        await produce(150, 150)
        deadline = time.monotonic() + 30
        while not acknowledged <= done:
            assert time.monotonic() < deadline, sorted(acknowledged - done)[:10]
            await asyncio.sleep(0.05)
    assert len(acknowledged) == 300
    assert any("unreachable" in r.getMessage() for r in caplog.records)
    await producer.close()
