"""A fleet: 3 worker processes, 3,000 good jobs, and one poison of every kind.

Every good job must run (at least once), every poison must end dead, and every worker must
still be running at the end, though its stdout and stderr are pipes nobody reads.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from jobplug import Job, Worker

HERE = Path(__file__).parent
GOOD = 3000
HANDLER_POISONS = ["exits", "interrupts", "odd", "fails"]


COMMAND = [sys.executable, "-m", "jobplug", "--log-level", "DEBUG", "worker", "fleet_app:worker"]


def spawn(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*COMMAND, "--concurrency", "8", "--grace", "5"],
        env=env,
        stdout=subprocess.PIPE,  # never read: a full pipe must not stop a worker
        stderr=subprocess.PIPE,
    )


def raw_poisons(name: str) -> list[bytes]:
    """Payloads no worker can read, put straight into ``name``'s queue by another producer."""
    deep = b'{"name":"' + name.encode() + b'","id":"deep","t":1,"args":{"a":'
    return [
        deep + b"[" * 100_000 + b"]" * 100_000 + b"}}",
        b"{not json",
        b"\xff\xfe not utf-8",
        json.dumps({"name": name, "id": "list-args", "t": 1, "args": [1]}).encode(),
        json.dumps({"name": "nobody", "id": "stray", "t": 1, "args": {}}).encode(),
    ]


@pytest.fixture
async def tally(redis_server: str, namespace: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server)
    yield client
    await client.delete(f"{namespace}:done", f"{namespace}:runs", f"{namespace}:idle")
    await client.aclose()


async def run_fleet(
    url: str,
    redis_server: str,
    namespace: str,
    tally: aioredis.Redis,
    inject: Callable[[Worker], Awaitable[None]],
    stray: int = 0,
) -> Worker:
    producer = Worker(url=url, load_plugins=False)
    await producer.perform_many([Job("good", {"n": n}) for n in range(GOOD)])
    await producer.perform_many([Job(name) for name in [*HANDLER_POISONS, "idle"]])
    await inject(producer)
    env = {
        **os.environ,
        "WORKER_URL": url,
        "FLEET_TALLY_URL": redis_server,
        "FLEET_KEY": namespace,
        "PYTHONPATH": str(HERE),
    }
    fleet = [spawn(env) for _ in range(3)]
    try:
        deadline = time.monotonic() + 60
        inspector = producer.broker.inspector()
        dead: list[Any] = []
        while time.monotonic() < deadline:
            done = await tally.scard(f"{namespace}:done")
            dead = (await inspector.dead()).items
            idle = int(await tally.get(f"{namespace}:idle") or 0)
            if done == GOOD and idle and len(dead) >= len(HANDLER_POISONS) + 5 + stray:
                break
            assert all(p.poll() is None for p in fleet), "a worker died"
            await asyncio.sleep(0.2)
        assert await tally.scard(f"{namespace}:done") == GOOD
        assert int(await tally.get(f"{namespace}:runs") or 0) >= GOOD
        assert all(p.poll() is None for p in fleet), "a worker died"
        dead_handlers = sorted(r.job.handler for r in dead)
        assert sorted(set(HANDLER_POISONS)) == sorted(set(HANDLER_POISONS) & set(dead_handlers))
        assert len(dead) == len(HANDLER_POISONS) + 5 + stray, dead_handlers
        assert int(await tally.get(f"{namespace}:idle") or 0) >= 1, "idle never ran"
        assert all(r.job.last_error for r in dead), "a dead job without its reason"
    finally:
        for p in fleet:
            p.send_signal(signal.SIGTERM)
        for p in fleet:
            try:
                p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
    assert all(p.returncode == 0 for p in fleet), [p.returncode for p in fleet]
    return producer


async def test_a_redis_fleet_survives_every_poison(
    redis_server: str, namespace: str, tally: aioredis.Redis, drop_redis: Any
) -> None:
    from jobplug_redis.keys import Keys

    url = f"{redis_server}/0?namespace={namespace}"
    keys = Keys(namespace)

    async def inject(producer: Worker) -> None:
        raw = aioredis.Redis.from_url(redis_server)
        await raw.lpush(keys.jobs("good"), *raw_poisons("good"))
        # another producer's job named "idle:paused": its list lands on idle's pause flag;
        # it must go dead and idle must run
        await raw.lpush(keys.paused("idle"), json.dumps({"name": "idle:paused", "args": {}}))
        await raw.aclose()

    try:
        producer = await run_fleet(url, redis_server, namespace, tally, inject, stray=1)
        await producer.stop()
    finally:
        await drop_redis(redis_server, namespace)


async def test_an_amqp_fleet_survives_every_poison(
    amqp_server: str, redis_server: str, namespace: str, tally: aioredis.Redis
) -> None:
    from jobplug_amqp import AmqpBroker
    from jobplug_amqp.codec import properties
    from jobplug_amqp.link import Outgoing

    url = f"{amqp_server}?namespace={namespace}"

    async def inject(producer: Worker) -> None:
        broker = producer.broker
        assert isinstance(broker, AmqpBroker)
        queue = broker.names.queue("good")
        messages = [Outgoing("", queue, body, properties()) for body in raw_poisons("good")]
        await broker.link.publish(messages)

    try:
        producer = await run_fleet(url, redis_server, namespace, tally, inject)
        await producer.stop()
    finally:
        cleaner = AmqpBroker(url)
        cleaner.known_handlers = {"good", "idle", "nobody", *HANDLER_POISONS}
        await cleaner.delete_topology()
        await cleaner.close()
