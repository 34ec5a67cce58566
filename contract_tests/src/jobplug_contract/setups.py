"""Contract setups for this project's own network adapters (Redis, RabbitMQ).

Each takes the URL of a server and returns a setup with a fresh namespace, the raw hook
(bytes written where the adapter reads jobs, the gocraft/work wire layout for Redis, the
handler's queue for AMQP), a cleanup that removes everything of that namespace, and for
Redis a disrupt hook (the handlers' job lists turned into strings for a moment). The
drivers are imported only when a setup runs, from the adapter's own dependencies.
"""

from __future__ import annotations

import importlib
import json
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jobplug import Broker
from jobplug_contract.setup import AdapterSetup, unique_name


def with_namespace(url: str, namespace: str) -> str:
    """``url`` with its ``namespace`` query option set (replaced if present)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "namespace"]
    query.append(("namespace", namespace))
    return urlunsplit(parts._replace(query=urlencode(query)))


def free_port() -> int:
    """A local TCP port nothing listens on (bound then released: good for "unreachable")."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_setup(url: str) -> AdapterSetup:
    """``redis://host:port/db`` -> a fresh ``?namespace=`` on that server."""
    namespace = unique_name("contract")
    prefix = namespace + ":"
    test_url = with_namespace(url, namespace)
    parts = urlsplit(url)
    server = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))

    def client() -> Any:
        return importlib.import_module("redis.asyncio").Redis.from_url(server)

    async def inject_raw(handler: str, payload: bytes) -> None:
        raw = client()
        try:
            await raw.lpush(f"{prefix}jobs:{handler}", payload)  # gocraft: LPUSH <ns>:jobs:<name>
        finally:
            await raw.aclose()

    @asynccontextmanager
    async def disrupt(handlers: Sequence[str]) -> AsyncIterator[None]:
        # The workers' in-progress lists become strings and a job waits: moving it there
        # fails with WRONGTYPE (a driver error) until the keys are deleted again. (A wrong
        # type on a job type's own keys is no error: the adapter skips that type by design.)
        raw = client()
        keys: list[str] = []
        try:
            pools = [p.decode() for p in await raw.smembers(f"{prefix}worker_pools")]
            keys += [f"{prefix}jobs:{h}:{pool}:inprogress" for h in handlers for pool in pools]
            for key in keys:
                await raw.set(key, b"not a list")
            for handler in handlers:
                job = {"name": handler, "id": unique_name("disrupt"), "t": 1, "args": {}}
                await raw.lpush(f"{prefix}jobs:{handler}", json.dumps(job))
            yield
        finally:
            if keys:
                await raw.delete(*keys)
            await raw.aclose()

    async def cleanup() -> None:
        raw = client()
        try:
            keys = [k async for k in raw.scan_iter(match=f"{prefix}*", count=1000)]
            if keys:
                await raw.delete(*keys)
        finally:
            await raw.aclose()

    return AdapterSetup(
        url=test_url,
        inject_raw=inject_raw,
        unreachable_url=f"redis://contract:s3cret-pw@127.0.0.1:{free_port()}/0",
        cleanup=cleanup,
        disrupt=disrupt,
        late_bound=3.0,
        redelivery_timeout=30.0,  # heartbeat expiry (10 s) + a reaper pass (10 s) + slack
    )


def amqp_setup(url: str) -> AdapterSetup:
    """``amqp://user:pw@host:port/vhost`` -> a fresh ``?namespace=`` on that server."""
    namespace = unique_name("contract")
    test_url = with_namespace(url, namespace)

    async def inject_raw(handler: str, payload: bytes) -> None:
        aio_pika = importlib.import_module("aio_pika")
        names = importlib.import_module("jobplug_amqp.topology").Names(namespace)
        connection = await aio_pika.connect(_driver_url(url))
        try:
            channel = await connection.channel()
            queue = names.queue(handler)
            await channel.default_exchange.publish(
                aio_pika.Message(payload, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=queue,
            )
        finally:
            await connection.close()

    async def cleanup_brokers(brokers: Sequence[Broker]) -> None:
        amqp_broker = importlib.import_module("jobplug_amqp").AmqpBroker
        handlers: set[str] = set()
        for broker in brokers:
            handlers |= set(getattr(broker, "known_handlers", ()))
        cleaner = amqp_broker(test_url)
        cleaner.known_handlers = handlers
        try:
            await cleaner.delete_topology()
        finally:
            await cleaner.close()

    port = free_port()
    return AdapterSetup(
        url=test_url,
        inject_raw=inject_raw,
        unreachable_url=f"amqp://contract:s3cret-pw@127.0.0.1:{port}/?connect_timeout=3",
        cleanup_brokers=cleanup_brokers,
        late_bound=2.0,
        redelivery_timeout=15.0,  # RabbitMQ requeues unacked messages when the link drops
    )


def _driver_url(url: str) -> str:
    """The server part of an AMQP URL, without jobplug's query options."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


#: Setups for this project's adapters, by scheme (a third party registers its own
#: through the ``jobplug.contract`` entry-point group instead).
BUILTIN = {
    "redis": redis_setup,
    "rediss": redis_setup,
    "amqp": amqp_setup,
    "amqps": amqp_setup,
}
