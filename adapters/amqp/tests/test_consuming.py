"""The worker's own consuming connection against the real RabbitMQ: login errors, large
bodies, and a connection the broker drops mid-run."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from typing import Any

import pytest

from jobplug import Job
from jobplug.broker import ConsumerConfig, HandlerSpec
from jobplug_amqp import AmqpBroker
from jobplug_amqp.receiver import ConnectionLost, Endpoint, Receiver


async def test_a_refused_login_says_so_without_the_password(amqp_url: str) -> None:
    url = amqp_url.replace("guest:guest@", "guest:n0t-the-pw@")
    endpoint = Endpoint.from_url(url, None, 5.0, "jobplug test")
    receiver = Receiver(lambda _: None, lambda _: None)
    with pytest.raises(ConnectionLost, match="403 ACCESS_REFUSED") as info:
        await receiver.open(endpoint, [], 1)
    assert "n0t-the-pw" not in str(info.value)
    assert receiver.closed


async def test_consuming_a_missing_queue_is_a_clear_error(amqp_url: str) -> None:
    endpoint = Endpoint.from_url(amqp_url, None, 5.0, "jobplug test")
    receiver = Receiver(lambda _: None, lambda _: None)
    with pytest.raises(ConnectionLost, match=r"404 NOT_FOUND .*no-such-queue-here"):
        await receiver.open(endpoint, ["no-such-queue-here"], 1)


async def test_a_body_larger_than_a_frame_arrives_whole(make_worker: Any, wait: Any) -> None:
    worker = make_worker()
    got: list[str] = []
    worker.register("big", lambda args: got.append(args["blob"]))
    blob = "0123456789abcdef" * 40_000  # 640 kB: several frames of RabbitMQ's 128 kB maximum
    await worker.start()
    await worker.perform(Job("big", {"blob": blob}))
    await wait.until(lambda: len(got) == 1, timeout=10)
    assert got == [blob]


def _connections_named(name: str) -> list[str]:
    """The pids (as ``close_connection`` takes them) of the connections called ``name``."""
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "--no-table-headers", "pid", "client_properties"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    wanted = f'{{"connection_name","{name}"}}'
    return [line.split("\t")[0] for line in out.splitlines() if wanted in line]


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl")
async def test_a_consuming_connection_closed_by_the_broker_comes_back(
    make_broker: Any, make_worker: Any, wait: Any
) -> None:
    broker: AmqpBroker = make_broker()
    worker = make_worker(broker=broker, concurrency=4)
    done: set[int] = set()
    worker.register("n", lambda args: done.add(args["n"]))
    await worker.start()
    await worker.perform_many([Job("n", {"n": n}) for n in range(50)])
    await wait.until(lambda: len(done) == 50, timeout=10)
    name = f"{broker.link.connection_name} consumer"
    consumer = await asyncio.to_thread(_connections_named, name)
    assert len(consumer) == 1, f"expected one consuming connection, found {consumer}"
    await asyncio.to_thread(
        subprocess.run,
        ["rabbitmqctl", "-q", "close_connection", consumer[0], "test: dropped on purpose"],
        check=True, timeout=60,
    )  # fmt: skip
    await worker.perform_many([Job("n", {"n": n}) for n in range(50, 100)])
    await wait.until(lambda: len(done) == 100, timeout=20)
    assert done == set(range(100))


async def test_stop_closes_the_connection_and_unacked_jobs_return(make_broker: Any) -> None:
    broker: AmqpBroker = make_broker()
    await broker.enqueue([Job("h", {"n": n}) for n in range(3)])
    await broker.subscribe(ConsumerConfig({"h": HandlerSpec("h")}, 3))
    first = await broker.fetch(3, 5)
    assert len(first) == 3
    await broker.unsubscribe()  # nothing acked: RabbitMQ requeues all three
    await broker.subscribe(ConsumerConfig({"h": HandlerSpec("h")}, 3))
    again: list[Any] = []
    while len(again) < 3:
        batch = await broker.fetch(3, 5)
        assert batch, "the unacked jobs did not come back"
        again += batch
    assert sorted(d.job.args["n"] for d in again) == [0, 1, 2]
    assert all(d.receipt.redelivered for d in again)
    await broker.ack(again)


async def test_a_queue_deleted_under_a_running_worker_is_declared_again(
    make_broker: Any, make_worker: Any, wait: Any
) -> None:
    broker: AmqpBroker = make_broker(reconnect_interval=0.1)
    worker = make_worker(broker=broker)
    done: list[int] = []
    worker.register("h", lambda args: done.append(args["n"]))
    await worker.start()
    operator: AmqpBroker = make_broker()
    await operator.connect()
    queue = operator.names.queue("h")
    raw = await operator.link.raw_channel()
    await raw.queue_delete(queue)  # as from the management UI
    await raw.close()

    async def consumed_again() -> bool:
        channel = await operator.link.raw_channel()
        try:
            ok = await channel.queue_declare(queue, passive=True)
        except Exception:  # 404 closes the channel: the queue is not back yet
            return False
        await channel.close()
        return ok.consumer_count == 1

    # Nobody but the worker declares it: the worker must, and consume it again.
    await wait.until_async(consumed_again, timeout=15)
    await worker.perform(Job("h", {"n": 1}))
    await wait.until(lambda: done == [1], timeout=10)


async def test_a_producer_declares_a_deleted_queue_again_and_publishes(make_broker: Any) -> None:
    producer: AmqpBroker = make_broker()
    await producer.enqueue([Job("h", {"n": 1})])  # declares the queue on this connection
    operator: AmqpBroker = make_broker()
    await operator.connect()
    queue = operator.names.queue("h")
    raw = await operator.link.raw_channel()
    await raw.queue_delete(queue)  # as from the management UI; the job in it is gone too
    await producer.enqueue([Job("h", {"n": 2}), Job("h", {"n": 3})])  # was NO_ROUTE
    ok = await raw.queue_declare(queue, passive=True)
    assert ok.message_count == 2
    await raw.close()
