"""``redis+cluster://`` on a real 3-master Redis Cluster and ``rediss://`` with a
self-signed certificate, each started by the test on free loopback ports."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from jobplug import BrokerConnectionError, Job, Worker
from jobplug.errors import ConfigurationError
from jobplug_redis import RedisBroker
from jobplug_redis.connection import parse_url

sys.path.insert(0, str(Path(__file__).parent))
from redis_test_servers import RedisProcess, free_cluster_port, free_port


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    if shutil.which("redis-cli") is None:
        pytest.skip("redis-cli is not installed")
    nodes = []
    try:
        for i in range(3):
            directory = tmp_path_factory.mktemp(f"node{i}")
            node = RedisProcess(
                str(directory),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                port=free_cluster_port(),
            )
            node.start()
            nodes.append(node)
        subprocess.run(
            [
                *("redis-cli", "--cluster", "create"),
                *(f"127.0.0.1:{n.port}" for n in nodes),
                *("--cluster-replicas", "0", "--cluster-yes"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 30
        for node in nodes:
            client = redis.Redis(port=node.port)
            while not _cluster_ok(client.execute_command("CLUSTER INFO")):
                assert time.monotonic() < deadline, "cluster never became ok"
                time.sleep(0.1)
            client.close()
        yield [n.port for n in nodes]
    finally:
        for node in nodes:
            node.stop()


def _cluster_ok(info: Any) -> bool:
    if isinstance(info, dict):  # redis-py parses CLUSTER INFO
        return str(info.get("cluster_state")) in ("ok", "b'ok'")
    return b"cluster_state:ok" in info


def test_cluster_url_hash_tags_the_namespace() -> None:
    assert parse_url("redis+cluster://h:1?namespace=app").namespace == "{app}"
    assert parse_url("redis+cluster://h:1").namespace == "{jobplug}"
    assert parse_url("redis+cluster://h:1?namespace={x}:app").namespace == "{x}:app"
    settings = parse_url("redis+cluster://u:pw@h:7000/?namespace=a&ssl=true&max_crashes=5")
    assert settings.driver_url == "rediss://u:pw@h:7000/" and settings.max_crashes == 5
    assert parse_url("redis://h/0?namespace=a").driver_url == "redis://h/0"
    with pytest.raises(ConfigurationError):
        parse_url("memcache://h")


async def test_worker_on_real_cluster(cluster: list[int]) -> None:
    url = f"redis+cluster://127.0.0.1:{cluster[0]}?namespace=app{os.getpid()}"
    seen: list[int] = []
    worker = Worker(url=url, concurrency=5)

    @worker.handler("c")
    async def c(args: dict[str, Any]) -> None:
        seen.append(args["i"])
        if args["i"] == 99:
            raise ValueError("to the dead set")

    @worker.handler("d", max_fails=1)
    async def d(args: dict[str, Any]) -> None:
        raise ValueError("dead")

    async with worker:
        await worker.perform_many([Job("c", {"i": i}) for i in range(20)])
        await worker.perform_in(Job("c", {"i": 100}), 1)
        assert await worker.perform_unique(Job("c", {"i": 50}))
        await worker.perform(Job("d"))
        deadline = time.monotonic() + 15
        while len(seen) < 22:
            assert time.monotonic() < deadline, seen
            await asyncio.sleep(0.05)
        inspector = worker.broker.inspector()
        deadline = time.monotonic() + 10
        while (await inspector.dead()).total < 1:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        queues = {q.handler: q.count for q in await inspector.queues()}
        assert queues == {"c": 0, "d": 0}
        [pool] = await inspector.pools()
        assert pool.handlers == ("c", "d")
    assert sorted(seen) == [*range(20), 50, 100]
    # every key of the namespace lives in one slot, on one node
    holders = []
    for port in cluster:
        client = redis.Redis(port=port)
        if client.keys(f"{{app{os.getpid()}}}:*"):
            holders.append(port)
        client.close()
    assert len(holders) == 1


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    tls_port = free_port()
    server = RedisProcess(
        str(directory),
        "--tls-port",
        str(tls_port),
        "--tls-cert-file",
        str(cert),
        "--tls-key-file",
        str(key),
        "--tls-ca-cert-file",
        str(cert),
        "--tls-auth-clients",
        "no",
    )
    try:
        server.start()
    except RuntimeError as exc:  # a build without TLS refuses the options
        pytest.skip(f"redis-server has no TLS support here: {exc}")
    yield tls_port, str(cert)
    server.stop()


async def test_rediss_with_self_signed_certificate(tls_redis: tuple[int, str]) -> None:
    port, cert = tls_redis
    url = f"rediss://127.0.0.1:{port}/0?namespace=tls&ssl_ca_certs={cert}"
    ran: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    worker = Worker(url=url)

    @worker.handler("secure")
    async def secure(args: dict[str, Any]) -> None:
        ran.set_result(args)

    async with worker:
        await worker.perform(Job("secure", {"x": 1}))
        assert await asyncio.wait_for(ran, 10) == {"x": 1}
    # without the CA the certificate is refused, as a jobplug error
    strict = RedisBroker(f"rediss://127.0.0.1:{port}/0?namespace=tls")
    with pytest.raises(BrokerConnectionError) as info:
        await strict.connect()
    assert "certificate" in str(info.value).lower()
    await strict.close()
