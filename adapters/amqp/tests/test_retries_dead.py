"""Retries through the delay path, the dead queue, malformed messages, poison messages."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from jobplug import Job
from jobplug.broker import ConsumerConfig, HandlerSpec
from jobplug_amqp import AmqpBroker, codec
from jobplug_amqp.link import Outgoing


async def test_failures_retry_with_backoff_then_die_with_everything_kept(
    make_worker: Any, wait: Any
) -> None:
    worker = make_worker()
    runs: list[tuple[float, int, str | None]] = []

    async def spy(job: Job, call_next: Any) -> Any:
        runs.append((time.time(), job.fails, job.last_error))
        return await call_next(job)

    worker.use(spy)

    def boom(args: dict[str, Any]) -> None:
        raise ValueError(f"bad {args['n']}")

    worker.register("boom", boom, max_fails=3, backoff=lambda job: 0.4)
    await worker.start()
    before = time.time()
    await worker.perform(Job("boom", {"n": 7}))
    inspector = worker.broker.inspector()

    async def one_dead() -> bool:
        return (await inspector.dead()).total == 1

    await wait.until_async(one_dead, timeout=5)
    assert [fails for _, fails, _ in runs] == [0, 1, 2]
    assert runs[1][2] == "ValueError: bad 7"
    for (t0, _, _), (t1, _, _) in itertools.pairwise(runs):
        assert t1 - t0 >= 0.4  # the retry is not early
    page = await inspector.dead()
    record = page.items[0]
    assert record.job.handler == "boom"
    assert record.job.args == {"n": 7}
    assert record.job.fails == 3
    assert record.job.last_error == "ValueError: bad 7"
    assert before <= record.at.timestamp() <= time.time() + 1


async def test_retry_headers_carry_fails_and_error(make_broker: Any) -> None:
    broker: AmqpBroker = make_broker()
    await broker.enqueue([Job("h", {})])
    await broker.subscribe(ConsumerConfig({"h": HandlerSpec("h")}, 1))
    [delivery] = await broker.fetch(1, 2)
    delivery.job.fails, delivery.job.last_error = 1, "KeyError: 'x'"
    from datetime import datetime, timezone

    await broker.retry(delivery, datetime.now(timezone.utc))  # due now: straight back
    [again] = await broker.fetch(1, 2)
    headers = again.receipt.headers
    assert headers["jobplug-fails"] == 1
    assert headers["jobplug-error"] == "KeyError: 'x'"
    assert (again.job.fails, again.job.last_error) == (1, "KeyError: 'x'")
    await broker.ack([again])


async def test_dead_jobs_are_retried_deleted_and_purged(make_worker: Any, wait: Any) -> None:
    worker = make_worker()
    good: list[int] = []
    fail = {"on": True}

    def flaky(args: dict[str, Any]) -> None:
        if fail["on"]:
            raise RuntimeError("down")
        good.append(args["n"])

    worker.register("flaky", flaky, max_fails=1)
    await worker.start()
    await worker.perform_many([Job("flaky", {"n": n}) for n in range(4)])
    inspector = worker.broker.inspector()

    async def dead_count(n: int) -> bool:
        return (await inspector.dead()).total == n

    await wait.until_async(lambda: dead_count(4))
    page = await inspector.dead()
    ids = {r.job.args["n"]: r.job.id for r in page.items}
    fail["on"] = False
    await inspector.retry_dead(ids[0])
    await wait.until(lambda: good == [0])
    await inspector.delete_dead(ids[1])
    assert (await inspector.dead()).total == 2
    try:
        await inspector.retry_dead(ids[1])
        raise AssertionError("deleted job still retryable")
    except Exception as exc:
        assert type(exc).__name__ == "JobNotFoundError"
    assert await inspector.retry_all_dead() == 2
    await wait.until(lambda: sorted(good) == [0, 2, 3])
    assert (await inspector.dead()).total == 0
    fail["on"] = True
    await worker.perform_many([Job("flaky", {"n": 8}), Job("flaky", {"n": 9})])
    await wait.until_async(lambda: dead_count(2))
    assert await inspector.delete_all_dead() == 2
    assert (await inspector.dead()).total == 0


async def test_malformed_messages_go_dead_with_the_reason(make_worker: Any, wait: Any) -> None:
    worker = make_worker()
    ran: list[int] = []
    worker.register("m", lambda args: ran.append(args["n"]))
    await worker.start()
    broker: AmqpBroker = worker.broker
    queue = broker.names.queue("m")
    await broker.link.publish(
        [
            Outgoing("", queue, b"not json at all", codec.properties()),
            Outgoing("", queue, b'{"args": {"n": 1}}', codec.properties()),
            Outgoing("", queue, b'{"name": "m", "args": [1, 2]}', codec.properties()),
        ]
    )
    await worker.perform(Job("m", {"n": 5}))  # the worker keeps running
    await wait.until(lambda: ran == [5])
    inspector = broker.inspector()

    async def three_dead() -> bool:
        return (await inspector.dead()).total == 3

    await wait.until_async(three_dead)
    errors = sorted(r.job.last_error or "" for r in (await inspector.dead()).items)
    assert any("not JSON" in e for e in errors)
    assert any("no 'name'" in e for e in errors)
    assert any("'args' must be a JSON object" in e for e in errors)
    raws = sorted(r.job.meta["raw"] for r in (await inspector.dead()).items)
    assert "not json at all" in raws  # the original bytes are kept
    assert all(r.job.handler == "m" for r in (await inspector.dead()).items)
    ids = sorted(r.job.id for r in (await inspector.dead()).items)
    assert ids == sorted(r.job.id for r in (await inspector.dead()).items), "ids change"
    assert len(set(ids)) == 3
    await inspector.delete_dead(ids[0])  # found by the id an earlier listing showed
    assert sorted(r.job.id for r in (await inspector.dead()).items) == ids[1:]


async def test_quorum_delivery_limit_dead_letters_a_poison_message(make_broker: Any) -> None:
    broker: AmqpBroker = make_broker(queue_type="quorum", delivery_limit=2)
    await broker.enqueue([Job("poison", {"p": 1})])
    config = ConsumerConfig({"poison": HandlerSpec("poison")}, 1)
    for _ in range(3):  # a worker that dies holding it, again and again
        await broker.subscribe(config)
        got = await broker.fetch(1, 2)
        assert len(got) == 1
        await broker.unsubscribe()
    await broker.subscribe(config)
    assert await broker.fetch(1, 0.5) == []
    page = await broker.inspector().dead()
    assert page.total == 1
    record = page.items[0]
    assert record.job.args == {"p": 1}
    assert "delivery_limit" in (record.job.last_error or "")
    await asyncio.sleep(0)
