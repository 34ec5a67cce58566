"""The ASGI lifespan helper: the worker starts and stops with the application."""

from __future__ import annotations

import asyncio
import threading
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jobplug import BrokerConnectionError, Job, Worker, WorkerStateError
from jobplug.asgi import WORKER_OFF_ENV, lifespan
from jobplug.testing import JobTester
from jobplug.worker import State
from jobplug_memory import MemoryBroker


def make_app(**options: Any) -> Starlette:
    async def enqueue(request: Request) -> JSONResponse:
        worker: Worker = request.state.jobplug_worker
        job = Job("greet", {"name": request.query_params["name"]})
        await worker.perform(job)
        return JSONResponse({"id": job.id}, status_code=202)

    return Starlette(routes=[Route("/greet", enqueue, methods=["POST"])], **options)


def greeter(broker: MemoryBroker, log: list[str]) -> Worker:
    worker = Worker(broker, load_plugins=False, fetch_timeout=0.05, grace=5)
    worker.register("greet", lambda args: log.append(args["name"]))
    return worker


@asynccontextmanager
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            yield http


async def test_worker_runs_with_the_app_and_stops_at_shutdown() -> None:
    broker, log = MemoryBroker(), []
    worker = greeter(broker, log)
    app = make_app(lifespan=lifespan(worker))
    assert worker.state is State.NEW
    async with client(app) as http:
        assert worker.state is State.RUNNING
        reply = await http.post("/greet", params={"name": "ada"})
        assert reply.status_code == 202
        await broker.join(timeout=5)
        assert log == ["ada"]
    assert worker.state is State.STOPPED
    with pytest.raises(Exception, match="stopped"):
        await worker.perform(Job("greet", {"name": "late"}))


async def test_shutdown_lets_a_running_job_finish() -> None:
    broker = MemoryBroker()
    worker = Worker(broker, load_plugins=False, fetch_timeout=0.05, grace=5)
    started, finished = asyncio.Event(), []

    @worker.handler("greet")
    async def slow(args: dict[str, Any]) -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.append(args["name"])

    with JobTester(worker) as jobs:
        async with client(make_app(lifespan=lifespan(worker))) as http:
            await http.post("/greet", params={"name": "bob"})
            await asyncio.wait_for(started.wait(), 5)
        assert finished == ["bob"]  # shutdown waited for it
        jobs.assert_performed("greet", args={"name": "bob"})
    assert broker.pending() == 0


async def test_worker_off_only_produces() -> None:
    name = f"asgi{uuid.uuid4().hex[:8]}"
    log: list[str] = []
    producer = Worker(url=f"memory://{name}", load_plugins=False)
    async with client(make_app(lifespan=lifespan(producer, worker_off=True))) as http:
        assert producer.state is State.NEW  # connected, not consuming
        await http.post("/greet", params={"name": "cy"})
        shared = producer.broker
        assert isinstance(shared, MemoryBroker) and shared.pending() == 1
        consumer = greeter(shared, log)  # a separate worker (here: same process) runs it
        async with consumer:
            await shared.join(timeout=5)
    assert log == ["cy"]
    assert producer.state is State.STOPPED


async def test_worker_off_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WORKER_OFF_ENV, "1")
    broker, log = MemoryBroker(), []
    worker = greeter(broker, log)
    async with client(make_app(lifespan=lifespan(worker))) as http:
        await http.post("/greet", params={"name": "dee"})
        assert worker.state is State.NEW
        assert broker.pending() == 1 and log == []
    monkeypatch.setenv(WORKER_OFF_ENV, "0")
    worker = greeter(broker, log)
    async with client(make_app(lifespan=lifespan(worker))):
        await broker.join(timeout=5)
    assert log == ["dee"]


async def test_factory_gives_a_fresh_worker_per_start() -> None:
    broker, log = MemoryBroker(), []
    made: list[Worker] = []

    def factory() -> Worker:
        made.append(greeter(broker, log))
        return made[-1]

    app = make_app(lifespan=lifespan(factory))
    for name in ("e1", "e2"):
        async with client(app) as http:
            await http.post("/greet", params={"name": name})
            await broker.join(timeout=5)
    assert log == ["e1", "e2"]
    assert len(made) == 2 and all(w.state is State.STOPPED for w in made)


async def test_wrapped_app_lifespan_runs_inside_and_merges_state() -> None:
    broker, log = MemoryBroker(), []
    worker = greeter(broker, log)
    seen: list[State] = []

    @asynccontextmanager
    async def app_lifespan(app: Any) -> AsyncIterator[dict[str, str]]:
        seen.append(worker.state)
        await worker.perform(Job("greet", {"name": "at-startup"}))
        yield {"db": "connected"}
        seen.append(worker.state)

    async def db(request: Request) -> JSONResponse:
        return JSONResponse({"db": request.state.db})

    app = Starlette(routes=[Route("/db", db)], lifespan=lifespan(worker, wrap=app_lifespan))
    async with client(app) as http:
        assert (await http.get("/db")).json() == {"db": "connected"}
        await broker.join(timeout=5)
    assert log == ["at-startup"]
    assert seen == [State.RUNNING, State.RUNNING]  # the app's own shutdown ran first
    assert worker.state is State.STOPPED


async def test_a_worker_object_runs_once() -> None:
    worker = greeter(MemoryBroker(), [])
    app = make_app(lifespan=lifespan(worker))
    async with client(app):
        pass
    with pytest.raises(WorkerStateError, match="give lifespan\\(\\) a function"):
        async with client(app):
            pass


class _Unreachable(MemoryBroker):
    async def connect(self) -> None:
        raise BrokerConnectionError("cannot reach memory://nowhere")


@pytest.mark.parametrize("off", [False, True])
async def test_startup_fails_when_the_broker_is_unreachable(off: bool) -> None:
    worker = Worker(_Unreachable(), load_plugins=False)
    worker.register("greet", lambda args: None)
    with pytest.raises(BaseException, match="cannot reach"):
        async with LifespanManager(make_app(lifespan=lifespan(worker, worker_off=off))):
            pass
    assert worker.state is State.STOPPED


def test_starlette_test_client_runs_the_lifespan() -> None:
    with warnings.catch_warnings():  # Starlette 1.x asks for httpx2 here; httpx still works
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    broker, ran = MemoryBroker(), threading.Event()
    worker = Worker(broker, load_plugins=False, fetch_timeout=0.05)
    worker.register("greet", lambda args: ran.set())
    app = make_app(lifespan=lifespan(worker))
    with TestClient(app) as http:
        assert worker.state is State.RUNNING
        assert http.post("/greet", params={"name": "fay"}).status_code == 202
        assert ran.wait(5)
    assert worker.state is State.STOPPED
