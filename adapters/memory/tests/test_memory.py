from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from jobplug import ConfigurationError, Job, JobNotFoundError, UnknownHandlerError, Worker
from jobplug_memory import MemoryBroker


def make(url: str = "memory://", **kw: Any) -> tuple[Worker, MemoryBroker]:
    broker = MemoryBroker.from_url(url)
    return Worker(broker, load_plugins=False, **kw), broker


async def test_named_urls_share_one_broker_per_process() -> None:
    assert MemoryBroker.from_url("memory://shared-a") is MemoryBroker.from_url("memory://shared-a")
    assert MemoryBroker.from_url("memory://") is not MemoryBroker.from_url("memory://")


async def test_a_producer_closing_a_shared_broker_leaves_its_worker_consuming() -> None:
    seen: list[int] = []
    consumer, broker = make("memory://shared-close")
    consumer.register("h", lambda args: seen.append(args["i"]))
    producer, _ = make("memory://shared-close")
    async with consumer:
        await producer.perform(Job("h", {"i": 1}))
        await producer.stop()  # a producer done with its work closes the shared broker
        await make("memory://shared-close")[0].perform(Job("h", {"i": 2}))
        await broker.join(timeout=5)
    assert sorted(seen) == [1, 2]


def test_bad_mode_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="mode"):
        MemoryBroker("memory://?mode=fast")


async def test_pause_holds_jobs_until_unpause() -> None:
    w, b = make()
    ran = asyncio.Event()
    w.register("h", lambda a: ran.set())
    await b.pause("h")
    await w.perform(Job("h"))
    async with w:
        with pytest.raises(TimeoutError, match=r"ready=\{'h': 1\}"):
            await b.join(timeout=0.1)
        assert not ran.is_set()
        await b.unpause("h")
        await asyncio.wait_for(ran.wait(), 2)


async def test_max_concurrency_caps_jobs_in_flight_per_handler() -> None:
    w, b = make(concurrency=8)
    running, peak = 0, 0

    async def h(args: dict[str, Any]) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    w.register("h", h, max_concurrency=2)
    await w.perform_many([Job("h") for _ in range(10)])
    async with w:
        await b.join()
    assert peak == 2


async def test_priorities_weight_which_handler_is_fetched_first() -> None:
    w, b = make(concurrency=1)
    order: list[str] = []
    w.register("high", lambda a: order.append("high"), priority=100)
    w.register("low", lambda a: order.append("low"), priority=1)
    await w.perform_many([Job("low") for _ in range(50)] + [Job("high") for _ in range(50)])
    async with w:
        await b.join()
    first_half = Counter(order[:50])
    assert first_half["high"] > 40, first_half


async def test_unique_jobs_are_enqueued_once_while_pending() -> None:
    w, b = make()
    assert await w.perform_unique(Job("h", {"a": 1}))
    assert not await w.perform_unique(Job("h", {"a": 1}))
    assert await w.perform_unique(Job("h", {"a": 2}))
    assert await w.perform_unique(Job("h", {"a": 3}), key={"k": 1})
    assert not await w.perform_unique(Job("h", {"a": 4}), key={"k": 1})
    ran: list[Any] = []
    w.register("h", ran.append)
    async with w:
        await b.join()
        assert await w.perform_unique(Job("h", {"a": 1}))  # done: may run again
        await b.join()
    assert ran == [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 1}]


async def test_inspector_pages_and_manages_jobs() -> None:
    w, b = make()
    w.register("boom", lambda a: 1 / 0, max_fails=1)
    w.register("later", print)
    await w.perform_many([Job("boom", {"n": n}) for n in range(25)])
    when = datetime.now(timezone.utc) + timedelta(hours=1)
    await w.perform_at(Job("later", {"x": 1}), when)
    async with w:
        await b.join()
    insp = b.inspector()
    page1, page2 = await insp.dead(1), await insp.dead(2)
    assert (page1.total, len(page1.items), len(page2.items)) == (25, 20, 5)
    assert "ZeroDivisionError" in (page1.items[0].job.last_error or "")
    scheduled = await insp.scheduled()
    assert scheduled.total == 1 and abs((scheduled.items[0].at - when).total_seconds()) < 0.01
    assert (await insp.retries()).total == 0
    [queue] = [q for q in await insp.queues() if q.handler == "boom"]
    assert queue.count == 0 and not queue.paused

    one = page1.items[0].job.id
    await insp.retry_dead(one)
    assert (await insp.dead()).total == 24 and b.pending() == 1
    [retried] = b.ready["boom"]  # back as new, as gocraft's client requeues a dead job
    assert (retried.fails, retried.last_error, retried.failed_at) == (0, None, None)
    await insp.delete_dead(page1.items[1].job.id)
    with pytest.raises(JobNotFoundError):
        await insp.delete_dead("nope")
    assert await insp.retry_all_dead() == 23
    assert b.pending() == 24
    await insp.delete_scheduled(scheduled.items[0].job.id)
    assert (await insp.scheduled()).total == 0
    await insp.pause("boom")
    assert [q.paused for q in await insp.queues() if q.handler == "boom"] == [True]
    await insp.unpause("boom")
    assert await insp.delete_all_dead() == 0


async def test_perform_for_a_handler_no_running_worker_serves_is_refused() -> None:
    worker, broker = make()
    worker.register("known", lambda args: None)
    await worker.perform(Job("later"))  # before start: a producer may fill queues first
    async with worker:
        with pytest.raises(UnknownHandlerError, match=r"'nobody'.*registered: known"):
            await worker.perform(Job("nobody"))
        with pytest.raises(UnknownHandlerError, match="'nobody'"):
            await worker.perform_unique(Job("nobody"))
        with pytest.raises(UnknownHandlerError, match="'nobody'"):
            await worker.perform_in(Job("nobody"), 60)
    assert "nobody" not in broker.ready and not broker.timed


async def test_stop_says_how_many_jobs_it_leaves_unrun(caplog: pytest.LogCaptureFixture) -> None:
    worker, _ = make()
    worker.register("h", lambda args: None)
    worker.register("paused", lambda args: None)
    async with worker:
        await worker.broker.pause("paused")
        await worker.perform_many([Job("paused"), Job("paused")])
        await worker.perform_in(Job("h"), 3600)
        with caplog.at_level(logging.WARNING, logger="jobplug.memory"):
            await worker.stop()
    [line] = [r.getMessage() for r in caplog.records if r.name == "jobplug.memory"]
    assert "2 ready and 1 scheduled job(s)" in line
