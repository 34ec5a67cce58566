"""Enqueue with confirms, consume with manual acks, prefetch, ack batching, topology."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jobplug import Job
from jobplug.broker import ConsumerConfig, HandlerSpec
from jobplug.errors import BrokerError, ConfigurationError
from jobplug.registry import broker_from_url
from jobplug_amqp import AmqpBroker
from jobplug_amqp.link import Outgoing
from jobplug_amqp.options import parse_url


def config(*handlers: str, concurrency: int = 10) -> ConsumerConfig:
    return ConsumerConfig({h: HandlerSpec(h) for h in handlers}, concurrency)


async def depth(broker: AmqpBroker, handler: str) -> int:
    raw = await broker.link.raw_channel()
    try:
        ok = await raw.queue_declare(broker.names.queue(handler), passive=True)
        return int(ok.message_count or 0)
    finally:
        await raw.close()


def test_entry_points_serve_both_schemes() -> None:
    assert isinstance(broker_from_url("amqp://guest:guest@127.0.0.1/"), AmqpBroker)
    assert isinstance(broker_from_url("amqps://guest:guest@127.0.0.1/"), AmqpBroker)


def test_url_options_and_vhost() -> None:
    opts = parse_url(
        "amqp://u:p@h:5673/my-vhost?namespace=app&queue_type=quorum&delivery_limit=5"
        "&prefetch=7&heartbeat=30"
    )
    assert (opts.namespace, opts.queue_type, opts.delivery_limit, opts.prefetch) == (
        "app",
        "quorum",
        5,
        7,
    )
    assert opts.driver_url == "amqp://u:p@h:5673/my-vhost?heartbeat=30"
    assert parse_url("amqp://h").namespace == "jobplug"
    assert parse_url("amqp://h").driver_url == "amqp://h/"
    for bad in ("amqp://h/?queue_type=stream", "amqp://h/?prefetch=x", "amqp://h/?namespace=a b"):
        with pytest.raises(ConfigurationError):
            parse_url(bad)
    with pytest.raises(ConfigurationError, match="server_hostname is not supported"):
        parse_url("amqps://h/?server_hostname=rabbit.internal")
    with pytest.raises(ConfigurationError) as info:
        parse_url("amqp://u:secret@h/?delivery_limit=0")
    assert "secret" not in str(info.value)


async def test_perform_runs_the_job_once_and_acks(make_worker: Any, wait: Any) -> None:
    worker = make_worker()
    seen: list[int] = []
    worker.register("add", lambda args: seen.append(args["n"]))
    await worker.start()
    await worker.perform(Job("add", {"n": 1}))
    await worker.perform_many([Job("add", {"n": i}) for i in range(2, 101)])
    await wait.until(lambda: len(seen) == 100)
    await worker.stop()
    assert sorted(seen) == list(range(1, 101))
    broker = AmqpBroker(worker.broker.url)
    try:
        await broker.connect()
        assert await depth(broker, "add") == 0  # every job acked: nothing comes back
    finally:
        await broker.close()


async def test_perform_before_start_is_kept_durably(make_broker: Any, make_worker: Any) -> None:
    producer = make_broker()
    await producer.enqueue([Job("later", {"x": 1})])
    assert await depth(producer, "later") == 1
    await producer.close()
    worker = make_worker()
    done = asyncio.Event()
    worker.register("later", lambda args: done.set())
    await worker.start()
    await asyncio.wait_for(done.wait(), 5)


async def test_worker_only_receives_its_handlers(make_broker: Any, make_worker: Any) -> None:
    producer = make_broker()
    await producer.enqueue([Job("mine", {}), Job("other", {})])
    worker = make_worker()
    done = asyncio.Event()
    worker.register("mine", lambda args: done.set())
    await worker.start()
    await asyncio.wait_for(done.wait(), 5)
    assert await depth(producer, "other") == 1


async def test_unroutable_publish_raises_broker_error(make_broker: Any) -> None:
    broker = make_broker()
    await broker.connect()
    message = Outgoing("", f"{broker.names.namespace}.nowhere", b"{}", _plain())
    with pytest.raises(BrokerError, match="could not route"):
        await broker.link.publish([message])
    # the channel is still usable after a returned message
    await broker.enqueue([Job("fine", {})])
    assert await depth(broker, "fine") == 1


def _plain() -> Any:
    from jobplug_amqp.codec import properties

    return properties()


async def test_fetch_respects_max_jobs_and_prefetch(make_broker: Any) -> None:
    broker = make_broker(prefetch=5)
    await broker.enqueue([Job("p", {"i": i}) for i in range(12)])
    await broker.subscribe(config("p"))
    first = await broker.fetch(3, 2)
    assert len(first) == 3
    await asyncio.sleep(0.2)  # let RabbitMQ push whatever the prefetch allows
    rest = await broker.fetch(100, 0.2)
    assert len(rest) == 2  # prefetch 5: never more than 5 unacked
    await broker.ack(first + rest)
    more = await broker.fetch(100, 2)
    assert 1 <= len(more) <= 5
    await broker.unsubscribe()


async def test_partial_acks_never_settle_other_deliveries(make_broker: Any) -> None:
    """Acking delivery 2 of 1..3 must not ack 1 (a multiple=True ack would)."""
    broker = make_broker()
    await broker.enqueue([Job("a", {"i": i}) for i in range(3)])
    await broker.subscribe(config("a"))
    got: list[Any] = []
    while len(got) < 3:
        got += await broker.fetch(3 - len(got), 2)
    got.sort(key=lambda d: d.receipt.delivery_tag)
    await broker.ack([got[1]])
    await broker.unsubscribe()  # closes the channel: unacked ones go back
    assert await depth(broker, "a") == 2
    # contiguous batches are acked too
    await broker.subscribe(config("a"))
    again: list[Any] = []
    while len(again) < 2:
        again += await broker.fetch(2, 2)
    assert sorted(d.job.args["i"] for d in again) == [0, 2]
    assert all(d.extra["redelivered"] for d in again)
    await broker.ack(again)
    await broker.unsubscribe()
    assert await depth(broker, "a") == 0


async def test_release_puts_jobs_back(make_broker: Any) -> None:
    broker = make_broker()
    await broker.enqueue([Job("r", {})])
    await broker.subscribe(config("r"))
    [delivery] = await broker.fetch(1, 2)
    await broker.release([delivery])
    [again] = await broker.fetch(1, 2)
    assert again.job.id == delivery.job.id
    await broker.ack([again])


async def test_fetch_times_out_empty(make_broker: Any) -> None:
    broker = make_broker()
    await broker.subscribe(config("idle"))
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await broker.fetch(10, 0.3) == []
    assert 0.25 <= loop.time() - start < 1.0


async def test_topology_is_declared_idempotently(make_broker: Any) -> None:
    one, two = make_broker(), make_broker()
    await one.subscribe(config("t"))
    await two.subscribe(config("t"))  # same declarations again: no error
    await one.enqueue([Job("t", {})])
    await two.enqueue([Job("t", {})])


async def test_mismatched_queue_type_is_a_clear_error(make_broker: Any, amqp_url: str) -> None:
    classic = make_broker()
    await classic.enqueue([Job("m", {})])
    quorum = make_broker(queue_type="quorum")
    with pytest.raises(ConfigurationError, match="other arguments"):
        await quorum.enqueue([Job("m", {})])
