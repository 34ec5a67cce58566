"""Running jobs: handler kinds, typed args, middleware, hooks, registration, capabilities."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, TypedDict

import pydantic
import pytest

from jobplug import (
    CapabilityNotSupported,
    ConfigurationError,
    Job,
    Worker,
    WorkerStateError,
    hookimpl,
)
from jobplug_memory import MemoryBroker

from .conftest import memory


async def test_sync_and_async_handlers_get_the_exact_args(worker: Worker) -> None:
    got: list[Any] = []
    args = {"s": "héllo ✓", "n": [1, 2.5, None, True], "big": 2**62, "nested": {"a": {"b": []}}}

    @worker.handler("sync")
    def sync_handler(a: dict[str, Any]) -> None:
        got.append(("sync", a))

    @worker.handler()
    async def async_handler(a: dict[str, Any]) -> None:
        got.append(("async", a))

    await worker.perform(Job("sync", args))
    await worker.perform(Job("async_handler", args))
    async with worker:
        await memory(worker).join()
    assert sorted(got, key=str) == [("async", args), ("sync", args)]


@dataclasses.dataclass
class Email:
    to: str
    subject: str = "hi"


class Resize(TypedDict):
    path: str
    width: int


class Invoice(pydantic.BaseModel):
    number: int
    total: float


async def test_typed_handlers_get_validated_converted_args(worker: Worker) -> None:
    got: list[Any] = []
    worker.register("email", lambda e: got.append(e))

    def email(e: Email) -> None:
        got.append(e)

    def resize(r: Resize) -> None:
        got.append(r)

    def invoice(i: Invoice) -> None:
        got.append(i)

    def tick() -> None:
        got.append("tick")

    worker2 = Worker(MemoryBroker(), load_plugins=False)
    for name, fn in [("email", email), ("resize", resize), ("invoice", invoice), ("tick", tick)]:
        worker2.register(name, fn)
    await worker2.perform_many(
        [
            Job("email", {"to": "a@b"}),
            Job("resize", {"path": "x.png", "width": 3}),
            Job("invoice", {"number": "7", "total": 9.5}),
            Job("tick"),
        ]
    )
    async with worker2:
        await memory(worker2).join()
    assert Email("a@b") in got and {"path": "x.png", "width": 3} in got and "tick" in got
    assert Invoice(number=7, total=9.5) in got


@pytest.mark.parametrize(
    ("handler", "args", "reason"),
    [
        ("email", {"subject": "no recipient"}, "args do not fit Email"),
        ("email", {"to": 5}, "args do not fit Email: args['to'] must be a string, got an integer"),
        ("resize", {"path": "x"}, "missing width"),
        ("invoice", {"number": "seven", "total": 1}, "args do not fit Invoice"),
    ],
)
async def test_args_that_do_not_fit_the_model_kill_the_job_at_once(
    handler: str, args: dict[str, Any], reason: str
) -> None:
    w = Worker(MemoryBroker(), load_plugins=False)

    def email(e: Email) -> None: ...
    def resize(r: Resize) -> None: ...
    def invoice(i: Invoice) -> None: ...

    w.register("email", email)
    w.register("resize", resize)
    w.register("invoice", invoice)
    await w.perform(Job(handler, args))
    async with w:
        await memory(w).join()
    [dead] = memory(w).dead
    assert reason in (dead.job.last_error or "") and dead.job.fails == 0


async def test_middleware_wraps_handlers_in_order(worker: Worker) -> None:
    trail: list[str] = []

    async def outer(job: Job, call_next: Any) -> Any:
        trail.append("outer in")
        result = await call_next(job)
        trail.append("outer out")
        return result

    async def inner(job: Job, nxt: Any) -> Any:
        trail.append(f"inner {job.handler}")
        return await nxt(job)

    async def gate(job: Job, call_next: Any) -> Any:
        if job.args.get("skip"):
            trail.append("skipped")
            return None
        return await call_next(job)

    worker.middleware.extend([outer, inner])
    worker.use(gate)
    worker.register("h", lambda a: trail.append("handler"))
    async with worker:
        await worker.perform(Job("h"))
        await memory(worker).join()
        await worker.perform(Job("h", {"skip": True}))
        await memory(worker).join()
    first = ["outer in", "inner h", "handler", "outer out"]
    assert trail == [*first, "outer in", "inner h", "skipped", "outer out"]


async def test_hooks_see_the_lifecycle_and_a_failing_plugin_loses_nothing() -> None:
    events: list[str] = []

    class Recorder:
        @hookimpl
        def jobplug_job_enqueued(self, job: Job, at: Any) -> None:
            events.append(f"enqueued {job.handler}")

        @hookimpl
        def jobplug_job_started(self, job: Job) -> None:
            events.append(f"started {job.handler}")

        @hookimpl
        def jobplug_job_succeeded(self, job: Job, duration: float) -> None:
            events.append(f"succeeded {job.handler}")

        @hookimpl
        def jobplug_job_dead(self, job: Job, error: Any) -> None:
            events.append(f"dead {job.handler}")

    class Broken:
        @hookimpl
        def jobplug_job_started(self, job: Job) -> None:
            raise RuntimeError("plugin bug")

    w = Worker(MemoryBroker(), plugins=[Recorder(), Broken()], load_plugins=False)
    w.register("ok", lambda a: None)
    w.register("bad", lambda a: 1 / 0, max_fails=1)
    await w.perform(Job("ok"))
    async with w:
        await memory(w).join()
        await w.perform(Job("bad"))
        await memory(w).join()
    assert events == [
        "enqueued ok",
        "started ok",
        "succeeded ok",
        "enqueued bad",
        "started bad",
        "dead bad",
    ]


async def test_registration_errors() -> None:
    w = Worker(MemoryBroker(), load_plugins=False)
    w.register("h", print)
    with pytest.raises(ValueError, match="already registered"):
        w.register("h", print)
    with pytest.raises(ConfigurationError, match="non-empty"):
        w.register("", print)
    with pytest.raises(ConfigurationError, match="not callable"):
        w.register("x", "nope")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="unknown option"):
        w.register("y", print, retries=3)
    with pytest.raises(ConfigurationError, match="max_fails"):
        w.register("z", print, max_fails=0)
    await w.start()
    with pytest.raises(WorkerStateError):
        w.register("late", print)
    await w.stop()


async def test_undeclared_capabilities_raise() -> None:
    class Plain(MemoryBroker):
        capabilities = frozenset()

    w = Worker(Plain(), load_plugins=False)
    with pytest.raises(CapabilityNotSupported, match="delayed"):
        await w.perform_in(Job("h"), 5)
    with pytest.raises(CapabilityNotSupported, match="unique"):
        await w.perform_unique(Job("h"))
    with pytest.raises(CapabilityNotSupported, match="periodic"):
        w.every("* * * * *", "h")
    w.register("h", print, priority=5)
    with pytest.raises(CapabilityNotSupported, match="priority"):
        await w.start()


async def test_optional_broker_features_default_to_capability_not_supported() -> None:
    from jobplug import Broker

    class Bare(Broker):
        async def close(self) -> None: ...
        async def enqueue(self, jobs: Any, at: Any = None) -> None: ...
        async def subscribe(self, config: Any) -> None: ...
        async def fetch(self, max_jobs: int, timeout: float) -> Any: ...
        async def ack(self, deliveries: Any) -> None: ...
        async def retry(self, delivery: Any, at: Any) -> None: ...
        async def bury(self, delivery: Any) -> None: ...
        async def release(self, deliveries: Any) -> None: ...
        async def unsubscribe(self) -> None: ...

    bare = Bare("bare://user:pw@host")
    assert repr(bare) == "<Bare bare://user:***@host>"
    for call, capability in [
        (lambda: bare.inspector(), "inspect"),
        (lambda: asyncio.run(bare.pause("h")), "pause"),
        (lambda: asyncio.run(bare.unpause("h")), "pause"),
        (lambda: asyncio.run(bare.enqueue_unique(Job("h"))), "unique"),
    ]:
        with pytest.raises(CapabilityNotSupported, match=capability):
            await asyncio.to_thread(call)
