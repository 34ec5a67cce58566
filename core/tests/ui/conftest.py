"""Fixtures for the dashboard tests: a backend pre-filled through the Broker interface.

The fill goes through ``subscribe``/``enqueue``/``fetch``/``retry``/``bury`` only, so the
same test runs on every adapter that declares ``inspect``.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from jobplug import Broker, ConsumerConfig, HandlerSpec, Job
from jobplug.errors import UnknownSchemeError
from jobplug.job import utcnow
from jobplug.registry import broker_class, broker_from_url
from jobplug.ui import create_app

ORIGIN = "http://127.0.0.1:5040"


@dataclass
class Filled:
    broker: Broker
    handler: str
    ready: list[Job]
    scheduled: list[Job]
    retry: list[Job]
    dead: list[Job]


async def fetch_n(broker: Broker, n: int) -> list[Any]:
    got: list[Any] = []
    for _ in range(50):
        if len(got) >= n:
            break
        got += await broker.fetch(n - len(got), 0.2)
    assert len(got) == n, f"fetched {len(got)} of {n}"
    return got


_subscribed: weakref.WeakKeyDictionary[Broker, set[str]] = weakref.WeakKeyDictionary()


async def fill(
    broker: Broker,
    handler: str = "send_email",
    *,
    ready: int = 0,
    scheduled: int = 0,
    retry: int = 0,
    dead: int = 0,
    args: dict[str, Any] | None = None,
    error: str = "boom",
    traceback: str | None = None,
) -> Filled:
    """Subscribe as a consumer of ``handler`` and leave jobs in every state asked for."""
    await broker.connect()
    # a second fill on the same broker consumes the handlers of both
    handlers = _subscribed.setdefault(broker, set())
    if handlers and handler not in handlers:
        await broker.unsubscribe()
    if handler not in handlers:
        handlers.add(handler)
        specs = {name: HandlerSpec(name) for name in sorted(handlers)}
        await broker.subscribe(ConsumerConfig(specs, concurrency=4))
    made = Filled(broker, handler, [], [], [], [])

    def job(i: int, kind: str) -> Job:
        return Job(handler, dict(args) if args is not None else {"n": i, "kind": kind})

    for kind, count in (("dead", dead), ("retry", retry)):
        if not count:
            continue
        await broker.enqueue([job(i, kind) for i in range(count)])
        for delivery in await fetch_n(broker, count):
            delivery.job.fails = 1 if kind == "retry" else 4
            delivery.job.last_error = error
            delivery.job.last_traceback = traceback
            delivery.job.failed_at = utcnow()
            if kind == "retry":
                await broker.retry(delivery, utcnow() + timedelta(hours=1))
                made.retry.append(delivery.job)
            else:
                await broker.bury(delivery)
                made.dead.append(delivery.job)
    made.ready = [job(i, "ready") for i in range(ready)]
    if made.ready:
        await broker.enqueue(made.ready)
    made.scheduled = [job(i, "scheduled") for i in range(scheduled)]
    if made.scheduled:
        await broker.enqueue(made.scheduled, at=utcnow() + timedelta(hours=2))
    return made


@pytest.fixture(params=["memory", "redis"])
async def backend(
    request: pytest.FixtureRequest, namespace: str, drop_redis: Any
) -> AsyncIterator[Broker]:
    """A fresh, empty broker: a named in-process one, or Redis in its own namespace."""
    if request.param == "memory":
        broker = broker_from_url(f"memory://ui-{uuid.uuid4().hex[:10]}")
        yield broker
        await broker.unsubscribe()
        await broker.close()
        return
    try:
        broker_class("redis://")
    except UnknownSchemeError:
        pytest.skip("the Redis adapter is not installed")
    server = request.getfixturevalue("redis_server")
    broker = broker_from_url(f"{server}/0?namespace={namespace}")
    try:
        yield broker
    finally:
        await broker.unsubscribe()
        await broker.close()
        await drop_redis(f"{server}/0", namespace)


def client_for(broker: Broker, **options: Any) -> httpx.AsyncClient:
    app = create_app(broker, **options)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN)


@pytest.fixture
async def memory_broker() -> AsyncIterator[Broker]:
    broker = broker_from_url(f"memory://ui-{uuid.uuid4().hex[:10]}")
    yield broker
    await broker.close()


@pytest.fixture
def fill_backend() -> Any:
    """:func:`fill`, for tests (test modules cannot import conftest under importlib mode)."""
    return fill


@pytest.fixture
def make_client() -> Any:
    """:func:`client_for`: an httpx client talking to the app in-process."""
    return client_for
