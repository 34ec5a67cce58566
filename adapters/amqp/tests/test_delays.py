"""Delays through the TTL ladder: milliseconds, not early, on time, no head-of-line blocking."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from jobplug import Job
from jobplug_amqp import AmqpBroker, codec, topology
from jobplug_amqp.link import Outgoing
from jobplug_amqp.topology import LEVELS, MAX_LADDER_MS, Names

#: How late a delayed job may start (ladder hops plus delivery, on a loaded CI machine).
LATE_BOUND = 0.5


def ladder_wait(routing_key: str) -> int:
    """The time a message with this key spends in the ladder: sum of its set bits' TTLs."""
    bits = routing_key.split(".")
    assert len(bits) == LEVELS
    return sum(2 ** (LEVELS - 1 - i) for i, bit in enumerate(bits) if bit == "1")


def test_ladder_route_is_exact_in_milliseconds() -> None:
    names = Names("ns")
    thirty_days = 30 * 24 * 3600 * 1000
    for delay in (1, 2, 3, 999, 1000, 1500, 65_537, thirty_days, MAX_LADDER_MS):
        exchange, key = topology.ladder_route(names, delay)
        assert ladder_wait(key) == delay
        assert exchange == names.level(delay.bit_length() - 1)
    assert thirty_days < MAX_LADDER_MS  # 30 days fit in one pass (49.7 days)


def test_level_queues_hold_their_power_of_two_in_ms() -> None:
    names = Names("ns")
    assert topology.level_queue_args(names, 0, False)["x-message-ttl"] == 1
    assert topology.level_queue_args(names, 10, False)["x-message-ttl"] == 1024
    assert topology.level_queue_args(names, 31, False)["x-message-ttl"] == 2**31
    assert topology.level_queue_args(names, 0, False)["x-dead-letter-exchange"] == names.out
    assert topology.level_pattern(0, "1").endswith(".*.1")


async def _timed_worker(make_worker: Any, name: str = "d") -> tuple[Any, dict[str, float]]:
    worker = make_worker()
    ran: dict[str, float] = {}

    @worker.handler(name)
    def record(args: dict[str, Any]) -> None:
        ran[args["tag"]] = time.time()

    await worker.start()
    return worker, ran


async def test_perform_in_is_not_early_and_on_time(make_worker: Any, wait: Any) -> None:
    worker, ran = await _timed_worker(make_worker)
    start = time.time()
    await worker.perform_in(Job("d", {"tag": "in"}), 1.5)
    due_at = datetime.now(timezone.utc) + timedelta(seconds=1.0)
    await worker.perform_at(Job("d", {"tag": "at"}), due_at)
    await wait.until(lambda: len(ran) == 2, timeout=1.5 + LATE_BOUND + 1)
    assert start + 1.5 <= ran["in"] <= start + 1.5 + LATE_BOUND
    assert due_at.timestamp() <= ran["at"] <= due_at.timestamp() + LATE_BOUND


async def test_short_delay_is_not_stuck_behind_a_long_one(make_worker: Any, wait: Any) -> None:
    worker, ran = await _timed_worker(make_worker)
    start = time.time()
    await worker.perform_in(Job("d", {"tag": "long"}), 3600)
    await worker.perform_in(Job("d", {"tag": "long-ish"}), 1.9)
    await worker.perform_in(Job("d", {"tag": "short"}), 1.0)
    await wait.until(lambda: "short" in ran, timeout=1.0 + LATE_BOUND + 1)
    assert start + 1.0 <= ran["short"] <= start + 1.0 + LATE_BOUND
    await wait.until(lambda: "long-ish" in ran, timeout=2)
    assert "long" not in ran


async def test_thirty_days_waits_in_the_top_level(make_broker: Any) -> None:
    broker = make_broker()
    at = datetime.now(timezone.utc) + timedelta(days=30)
    await broker.enqueue([Job("far", {})], at=at)
    raw = await broker.link.raw_channel()
    try:
        top = await raw.queue_declare(broker.names.level(31), passive=True)
        ready = await raw.queue_declare(broker.names.queue("far"), passive=True)
    finally:
        await raw.close()
    assert (top.message_count, ready.message_count) == (1, 0)


async def test_job_arriving_before_its_time_is_delayed_again(
    make_broker: Any, make_worker: Any, wait: Any
) -> None:
    """Delays beyond one ladder pass come back early: the consumer sends them round again."""
    worker, ran = await _timed_worker(make_worker, "early")
    broker: AmqpBroker = worker.broker
    due = codec.now_ms() + 1200
    headers = {topology.DEST_HEADER: broker.names.queue("early"), "jobplug-at": due}
    message = Outgoing(
        "",
        broker.names.queue("early"),
        Job("early", {"tag": "x"}).encode(),
        codec.properties(headers),
    )
    await broker.link.publish([message])
    await wait.until(lambda: "x" in ran, timeout=1.2 + LATE_BOUND + 1)
    assert due / 1000 <= ran["x"] <= due / 1000 + LATE_BOUND


async def test_delay_zero_and_past_times_run_now(make_worker: Any, wait: Any) -> None:
    worker, ran = await _timed_worker(make_worker)
    start = time.time()
    await worker.perform_in(Job("d", {"tag": "zero"}), 0)
    await worker.perform_at(Job("d", {"tag": "past"}), datetime.now(timezone.utc) - timedelta(1))
    await wait.until(lambda: len(ran) == 2, timeout=2)
    assert max(ran.values()) - start < 0.5


async def test_quorum_ladder_delays_too(make_worker: Any, wait: Any) -> None:
    worker = make_worker(queue_type="quorum")
    ran: list[float] = []
    worker.register("q", lambda args: ran.append(time.time()))
    await worker.start()
    start = time.time()
    await worker.perform_in(Job("q", {}), 1.0)
    await wait.until(lambda: bool(ran), timeout=1.0 + LATE_BOUND + 1)
    assert start + 1.0 <= ran[0] <= start + 1.0 + LATE_BOUND


async def test_concurrent_delays_all_arrive(make_worker: Any, wait: Any) -> None:
    worker, ran = await _timed_worker(make_worker)
    start = time.time()
    jobs = [Job("d", {"tag": f"j{i}"}) for i in range(50)]
    await asyncio.gather(*(worker.perform_in(j, 0.2 + i * 0.01) for i, j in enumerate(jobs)))
    await wait.until(lambda: len(ran) == 50, timeout=3)
    for i in range(50):
        assert ran[f"j{i}"] >= start + 0.2 + i * 0.01
