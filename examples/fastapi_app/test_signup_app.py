"""The example app: the endpoint enqueues; the worker runs in-process or apart (Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import signup_app
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from signup_app import Welcome, build_worker, create_app

import jobplug
from jobplug.testing import JobTester
from jobplug_memory import MemoryBroker


class Made:
    """A worker factory that keeps what it made, so tests can watch the app's worker."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.workers: list[jobplug.Worker] = []
        self.testers: list[JobTester] = []

    def __call__(self) -> jobplug.Worker:
        worker = build_worker(self.url)
        self.workers.append(worker)
        self.testers.append(JobTester(worker))
        return worker


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            yield http


async def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_in_process_worker_on_memory() -> None:
    made = Made("memory://")
    async with serving(create_app(made, worker_off=False)) as http:
        health = (await http.get("/health")).json()
        assert health == {"worker": "running", "broker": "memory://"}
        reply = await http.post("/signup", json={"email": "ada@example.com", "name": "Ada"})
        assert reply.status_code == 202
        broker = made.workers[0].broker
        assert isinstance(broker, MemoryBroker)
        await broker.join(timeout=5)
    assert signup_app.outbox == [Welcome("ada@example.com", "Ada")]
    job = made.testers[0].assert_performed(
        "send_welcome", args={"email": "ada@example.com", "name": "Ada"}
    )
    assert job.id == reply.json()["job_id"]
    assert made.workers[0].state.value == "stopped"


async def test_bad_request_enqueues_nothing() -> None:
    made = Made("memory://?mode=inline")
    async with serving(create_app(made, worker_off=False)) as http:
        reply = await http.post("/signup", json={"email": "no-name@example.com"})
        assert reply.status_code == 422
    made.testers[0].assert_not_enqueued("send_welcome")
    assert signup_app.outbox == []


async def test_inline_mode_runs_the_job_within_the_request() -> None:
    made = Made("memory://?mode=inline")
    async with serving(create_app(made, worker_off=False)) as http:
        await http.post("/signup", json={"email": "bo@example.com", "name": "Bo"})
        assert signup_app.outbox == [Welcome("bo@example.com", "Bo")]  # no waiting


async def test_producer_only_app_and_a_separate_worker_on_shared_memory() -> None:
    url = f"memory://signup{uuid.uuid4().hex[:8]}"  # one broker per process and name
    made = Made(url)
    consumer = build_worker(url)
    async with serving(create_app(made, worker_off=True)) as http:
        assert (await http.get("/health")).json()["worker"] == "new"  # not consuming
        await http.post("/signup", json={"email": "cy@example.com", "name": "Cy"})
        assert signup_app.outbox == []
        async with consumer:
            await wait_for(lambda: bool(signup_app.outbox))
    assert signup_app.outbox == [Welcome("cy@example.com", "Cy")]


async def test_producer_only_app_and_a_separate_worker_on_redis(
    redis_server: str, namespace: str, drop_redis: Any
) -> None:
    url = f"{redis_server}/0?namespace={namespace}"
    made = Made(url)
    consumer = build_worker(url)
    try:
        async with serving(create_app(made, worker_off=True)) as http:
            reply = await http.post("/signup", json={"email": "dee@example.com", "name": "Dee"})
            assert reply.status_code == 202
            with JobTester(consumer) as jobs:
                async with consumer:
                    await wait_for(lambda: bool(jobs.performed("send_welcome")))
            assert jobs.performed()[0].id == reply.json()["job_id"]
    finally:
        await drop_redis(redis_server, namespace)
    assert signup_app.outbox == [Welcome("dee@example.com", "Dee")]
