"""Crashes, restarts, TLS and secrets: a killed worker, a restarted broker, amqps://."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from jobplug import Job, Worker
from jobplug.errors import BrokerConnectionError
from jobplug_amqp import AmqpBroker

WORKER_SCRIPT = Path(__file__).with_name("worker_process.py")


def _spawn(url: str, directory: Path, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(WORKER_SCRIPT), url, str(directory), mode],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_sigkill_mid_job_then_another_worker_runs_it(
    amqp_url: str, make_broker: Any, tmp_path: Path, wait: Any
) -> None:
    producer: AmqpBroker = make_broker()
    job = Job("slow", {"x": 1})
    await producer.enqueue([job])
    first = _spawn(amqp_url, tmp_path, "hang")
    try:
        started = tmp_path / f"started-{first.pid}"
        await wait.until(started.exists, timeout=30)
        assert started.read_text() == job.id
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    second = _spawn(amqp_url, tmp_path, "finish")
    try:
        done = tmp_path / f"done-{second.pid}"
        await wait.until(done.exists, timeout=30)
        assert done.read_text() == job.id
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(15)
    raw = await producer.link.raw_channel()
    try:
        ok = await raw.queue_declare(producer.names.queue("slow"), passive=True)
    finally:
        await raw.close()
    assert ok.message_count == 0  # the second worker acked it


async def test_connection_errors_are_wrapped_and_redacted(caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    with socket_closed() as port:
        broker = AmqpBroker(f"amqp://me:s3cr3t-pw@127.0.0.1:{port}/?connect_timeout=2")
        with pytest.raises(BrokerConnectionError) as info:
            await broker.enqueue([Job("x", {})])
    assert "s3cr3t-pw" not in str(info.value)
    assert "me:***@127.0.0.1" in str(info.value)
    assert "s3cr3t-pw" not in repr(broker)
    assert "s3cr3t-pw" not in caplog.text


class socket_closed:
    """A port nobody listens on (bound then released)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None


# -- private node: restart and TLS ---------------------------------------------------
async def test_broker_restart_mid_run_loses_nothing_confirmed(
    rabbit_node: Any, wait: Any, caplog: Any
) -> None:
    """stop_app/start_app on a private node while producing and consuming."""
    caplog.set_level(logging.INFO)
    url = f"{rabbit_node.url}?namespace=r{uuid.uuid4().hex[:8]}&reconnect_interval=0.2"
    worker = Worker(url=url, concurrency=4, load_plugins=False, grace=5, fetch_timeout=0.2)
    ran: set[int] = set()
    worker.register("count", lambda args: ran.add(args["n"]))
    await worker.start()
    producer = AmqpBroker(url)
    confirmed: list[int] = []
    try:

        async def produce() -> None:
            for n in range(300):
                await producer.enqueue([Job("count", {"n": n})])
                confirmed.append(n)
                await asyncio.sleep(0.005)

        task = asyncio.create_task(produce())
        await wait.until(lambda: len(ran) >= 50, timeout=10)
        await asyncio.to_thread(rabbit_node.ctl, "stop_app")
        await asyncio.sleep(0.5)
        await asyncio.to_thread(rabbit_node.ctl, "start_app")
        await asyncio.wait_for(task, 60)
        await wait.until(lambda: ran >= set(confirmed), timeout=30)
        assert confirmed == list(range(300))
        # both sides are usable afterwards
        await worker.perform(Job("count", {"n": 1000}))
        await wait.until(lambda: 1000 in ran, timeout=10)
    finally:
        await worker.stop()
        cleaner = AmqpBroker(url)
        cleaner.known_handlers = {"count"}
        await cleaner.delete_topology()
        await producer.close()
    assert rabbit_node.password not in caplog.text


async def test_amqps_with_ca_from_the_url(rabbit_node: Any) -> None:
    url = (
        f"{rabbit_node.tls_url}?namespace=tls{uuid.uuid4().hex[:6]}&cafile={rabbit_node.tls['ca']}"
    )
    worker = Worker(url=url, concurrency=2, load_plugins=False, fetch_timeout=0.2)
    done = asyncio.Event()
    worker.register("secure", lambda args: done.set())
    try:
        await worker.start()
        await worker.perform(Job("secure", {}))
        await asyncio.wait_for(done.wait(), 10)
    finally:
        await worker.stop()
        cleaner = AmqpBroker(url)
        cleaner.known_handlers = {"secure"}
        await cleaner.delete_topology()


async def test_amqps_rejects_an_unknown_ca(rabbit_node: Any) -> None:
    broker = AmqpBroker(f"{rabbit_node.tls_url}?connect_timeout=5")  # system CAs only
    with pytest.raises(BrokerConnectionError) as info:
        await broker.connect()
    assert rabbit_node.password not in str(info.value)
    insecure = AmqpBroker(f"{rabbit_node.tls_url}?verify=false&namespace=v{os.getpid()}")
    try:
        await insecure.connect()  # verify=false: encrypted, not authenticated
    finally:
        await insecure.delete_topology()
