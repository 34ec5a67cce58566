"""perform / perform_in / perform_at and the producer-side rules."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from jobplug import InvalidArgsError, InvalidScheduleError, Job, Worker, WorkerStateError

from .conftest import memory


async def test_perform_before_start_is_allowed_and_runs_once_started(worker: Worker) -> None:
    seen: list[dict[str, object]] = []
    worker.register("h", seen.append)
    await worker.perform(Job("h", {"n": 1}))
    assert memory(worker).pending() == 1
    await worker.start()
    await memory(worker).join()
    assert seen == [{"n": 1}]


async def test_perform_after_stop_is_an_error(worker: Worker) -> None:
    worker.register("h", lambda args: None)
    await worker.start()
    await worker.stop()
    with pytest.raises(WorkerStateError, match="after stop"):
        await worker.perform(Job("h"))


async def test_non_json_args_raise_before_anything_is_queued(worker: Worker) -> None:
    with pytest.raises(InvalidArgsError, match=r"args\['at'\] is of type datetime"):
        await worker.perform(Job("h", {"at": datetime.now()}))
    with pytest.raises(InvalidArgsError):
        await worker.perform_many([Job("h", {"ok": 1}), Job("h", {"bad": object()})])
    with pytest.raises(InvalidArgsError):
        await worker.perform_in(Job("h", {"bad": {1, 2}}), 10)
    assert memory(worker).pending(include_scheduled=True) == 0


async def test_perform_in_takes_seconds_or_timedelta_and_is_not_early(worker: Worker) -> None:
    ran: dict[str, float] = {}
    worker.register("h", lambda args: ran.setdefault(args["k"], time.monotonic()))
    await worker.start()
    start = time.monotonic()
    await worker.perform_in(Job("h", {"k": "seconds"}), 0.3)
    await worker.perform_in(Job("h", {"k": "timedelta"}), timedelta(milliseconds=200))
    await memory(worker).join(include_scheduled=True)
    assert 0.3 <= ran["seconds"] - start < 1.3
    assert 0.2 <= ran["timedelta"] - start < 1.2


async def test_non_positive_delay_and_past_time_mean_now(worker: Worker) -> None:
    worker.register("h", lambda args: None)
    await worker.perform_in(Job("h"), 0)
    await worker.perform_in(Job("h"), timedelta(seconds=-5))
    await worker.perform_at(Job("h"), datetime.now(timezone.utc) - timedelta(hours=1))
    assert memory(worker).pending() == 3 and not memory(worker).timed


async def test_perform_at_requires_an_aware_datetime(worker: Worker) -> None:
    with pytest.raises(InvalidScheduleError, match="naive datetime"):
        await worker.perform_at(Job("h"), datetime.now() + timedelta(minutes=1))
    with pytest.raises(InvalidScheduleError):
        await worker.perform_in(Job("h"), "5s")  # type: ignore[arg-type]


async def test_times_past_the_year_9999_are_schedule_errors(worker: Worker) -> None:
    with pytest.raises(InvalidScheduleError, match="past the year 9999"):
        await worker.perform_in(Job("h"), timedelta(days=3_000_000))
    with pytest.raises(InvalidScheduleError, match="past the year 9999"):
        await worker.perform_in(Job("h"), 1e300)
    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12)))
    with pytest.raises(InvalidScheduleError, match="past the year 9999"):
        await worker.perform_at(Job("h"), far)
    assert memory(worker).pending(include_scheduled=True) == 0


async def test_perform_at_runs_at_the_time(worker: Worker) -> None:
    ran = asyncio.Event()
    worker.register("h", lambda args: ran.set())
    await worker.start()
    when = datetime.now(timezone(timedelta(hours=2))) + timedelta(milliseconds=300)
    await worker.perform_at(Job("h"), when)
    await asyncio.wait_for(ran.wait(), 3)
    assert datetime.now(timezone.utc) >= when


async def test_a_worker_only_receives_jobs_for_handlers_it_registered() -> None:
    from jobplug_memory import MemoryBroker

    shared = MemoryBroker.from_url("memory://only-registered")
    producer = Worker(shared, load_plugins=False)
    await producer.perform(Job("theirs"))
    await producer.perform(Job("mine"))
    ran = asyncio.Event()
    consumer = Worker(shared, load_plugins=False)
    consumer.register("mine", lambda args: ran.set())
    async with consumer:
        await asyncio.wait_for(ran.wait(), 3)
        assert len(shared.ready["theirs"]) == 1 and not shared.ready["mine"]


def test_sync_facade_performs_from_plain_code() -> None:
    w = Worker(url="memory://", load_plugins=False)
    w.sync.perform(Job("h", {"a": 1}))
    w.sync.perform_in(Job("h"), 60)
    with pytest.raises(InvalidArgsError):
        w.sync.perform(Job("h", {"a": object()}))
    assert w.broker.pending() == 1 and len(w.broker.timed) == 1  # type: ignore[attr-defined]
    w.sync.close()


async def test_sync_facade_hands_calls_to_a_running_worker_loop() -> None:
    w = Worker(url="memory://", load_plugins=False)
    got = asyncio.Event()
    w.register("h", lambda args: got.set())
    async with w:
        await asyncio.to_thread(w.sync.perform, Job("h"))
        await asyncio.wait_for(got.wait(), 3)


async def test_sync_facade_refuses_to_block_a_running_loop(worker: Worker) -> None:
    with pytest.raises(WorkerStateError, match="running event loop"):
        worker.sync.perform(Job("h"))
