"""Shared test fixtures: the real services, found or (under CI=true) required.

Locally a missing Redis or RabbitMQ skips its tests with the reason; under ``CI=true``
it fails them, so a CI run can never pass by skipping.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Awaitable, Callable

import pytest

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
AMQP_HOST, AMQP_PORT = "127.0.0.1", 5672


def _answers(host: str, port: int, probe: bytes | None, expect: bytes | None) -> str | None:
    """None if the service answers, else why not."""
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            if probe is not None:
                sock.sendall(probe)
                sock.settimeout(2)
                reply = sock.recv(64)
                if expect is not None and not reply.startswith(expect):
                    return f"unexpected reply {reply[:20]!r}"
    except OSError as exc:
        return str(exc)
    return None


def require_service(
    name: str, host: str, port: int, probe: bytes | None = None, expect: bytes | None = None
) -> None:
    why = _answers(host, port, probe, expect)
    if why is None:
        return
    message = f"{name} is not answering on {host}:{port} ({why})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_server() -> str:
    """``redis://127.0.0.1:6379``: the real Redis (skip locally / fail in CI if absent)."""
    require_service("Redis", REDIS_HOST, REDIS_PORT, b"PING\r\n", b"+PONG")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}"


@pytest.fixture(scope="session")
def amqp_server() -> str:
    """``amqp://guest:guest@127.0.0.1:5672/``: the real RabbitMQ."""
    require_service("RabbitMQ", AMQP_HOST, AMQP_PORT, b"AMQP\x00\x00\x09\x01", None)
    return f"amqp://guest:guest@{AMQP_HOST}:{AMQP_PORT}/"


@pytest.fixture
def namespace() -> str:
    """A fresh namespace per test so tests never see each other's jobs."""
    return f"t{uuid.uuid4().hex[:12]}"


async def drop_redis_namespace(url: str, namespace: str) -> None:
    """Delete every key of ``namespace`` (the Redis adapter's own driver does the talking)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def drop_redis() -> Callable[[str, str], Awaitable[None]]:
    """``await drop_redis(url, namespace)``: clean up after a test that wrote to Redis."""
    return drop_redis_namespace
