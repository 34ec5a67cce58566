"""Fixtures for the AMQP adapter's tests: a URL per test, and cleanup of its topology."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jobplug import Worker
from jobplug_amqp import AmqpBroker


@pytest.fixture
def amqp_url(amqp_server: str, namespace: str) -> str:
    return f"{amqp_server}?namespace={namespace}"


@pytest.fixture
async def make_broker(amqp_url: str) -> AsyncIterator[Callable[..., AmqpBroker]]:
    """Build brokers on this test's namespace; every queue and exchange is deleted after."""
    made: list[AmqpBroker] = []

    def make(url: str | None = None, **options: Any) -> AmqpBroker:
        url = url or amqp_url
        if options:
            url += "".join(f"&{k}={v}" for k, v in options.items())
        broker = AmqpBroker(url)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.close()
    if made:
        names: set[str] = set()
        for broker in made:
            names |= broker.known_handlers
        cleaner = AmqpBroker(made[0].url)
        cleaner.known_handlers = names
        await cleaner.delete_topology()


@pytest.fixture
async def make_worker(
    make_broker: Callable[..., AmqpBroker],
) -> AsyncIterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def make(concurrency: int = 10, broker: AmqpBroker | None = None, **options: Any) -> Worker:
        worker = Worker(
            broker or make_broker(**options),
            concurrency=concurrency,
            load_plugins=False,
            grace=5,
            fetch_timeout=0.2,
        )
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        await worker.stop()


class Waiter:
    """Bounded polling (10 ms steps) for conditions that have no event to await."""

    @staticmethod
    async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.01)

    @staticmethod
    async def until_async(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await check():
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.02)


@pytest.fixture
def wait() -> Waiter:
    return Waiter()


# -- a private RabbitMQ node (restart and TLS tests never touch the shared one) --------
RABBIT_BIN = "/usr/lib/rabbitmq/bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"private RabbitMQ node unavailable: {reason}", pytrace=False)
    pytest.skip(f"private RabbitMQ node unavailable: {reason}")


def _make_tls_files(directory: Path) -> dict[str, str]:
    """A throwaway CA and a server certificate for 127.0.0.1 (openssl CLI)."""
    files = {name: str(directory / f"{name}.pem") for name in ("ca", "ca_key", "cert", "key")}
    csr, ext = directory / "server.csr", directory / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    commands = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=jobplug-test-ca", "-keyout", files["ca_key"], "-out", files["ca"]],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", files["key"], "-out", str(csr)],
        ["x509", "-req", "-in", str(csr), "-CA", files["ca"], "-CAkey", files["ca_key"],
         "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", files["cert"]],
    ]  # fmt: skip
    for args in commands:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)
    os.chmod(files["key"], 0o644)
    return files


class RabbitNode:
    """A RabbitMQ node of our own on free ports, in a temp dir; stopped at the end."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.name = f"jp-test-{os.getpid()}-{uuid.uuid4().hex[:6]}@localhost"
        self.port, self.tls_port, self.dist_port = _free_port(), _free_port(), _free_port()
        self.user, self.password = "jp", f"pw-{uuid.uuid4().hex[:10]}"
        self.tls = _make_tls_files(base)
        self.env = {
            **os.environ,
            "HOME": str(base),  # the Erlang cookie lives here
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(base / "env.conf"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        (base / "env.conf").write_text("")
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"listeners.ssl.default = 127.0.0.1:{self.tls_port}\n"
            f"ssl_options.cacertfile = {self.tls['ca']}\n"
            f"ssl_options.certfile = {self.tls['cert']}\n"
            f"ssl_options.keyfile = {self.tls['key']}\n"
            "ssl_options.verify = verify_none\n"
            "ssl_options.fail_if_no_peer_cert = false\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://{self.user}:{self.password}@127.0.0.1:{self.port}/"

    @property
    def tls_url(self) -> str:
        return f"amqps://{self.user}:{self.password}@127.0.0.1:{self.tls_port}/"

    def start(self, within: float = 20.0) -> None:
        log = open(self.base / "server.log", "ab")  # noqa: SIM115 - kept by the process
        self.process = subprocess.Popen(
            [f"{RABBIT_BIN}/rabbitmq-server"], env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + within
        while True:  # the Erlang node must be up before await_startup can reach it
            try:
                self.ctl("await_startup", timeout=max(1.0, deadline - time.monotonic()))
                break
            except subprocess.SubprocessError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.25)
        self.ctl("add_user", self.user, self.password)
        self.ctl("set_permissions", "-p", "/", self.user, ".*", ".*", ".*")

    def ctl(self, *args: str, timeout: float = 30.0) -> None:
        subprocess.run(
            [f"{RABBIT_BIN}/rabbitmqctl", "-n", self.name, *args],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            self.ctl("stop", timeout=30)
        except Exception:
            self.process.kill()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def rabbit_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitNode]:
    """A private RabbitMQ node (TCP and TLS listeners, its own user), for restart/TLS tests."""
    if not (Path(RABBIT_BIN) / "rabbitmq-server").exists() or shutil.which("openssl") is None:
        _unavailable(f"no rabbitmq-server in {RABBIT_BIN} or no openssl")
    node = RabbitNode(tmp_path_factory.mktemp("rabbit"))
    try:
        node.start()
    except Exception as exc:
        node.stop()
        _unavailable(f"it did not start within 20 s: {exc}")
    yield node
    node.stop()
