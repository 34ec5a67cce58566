"""The connection to RabbitMQ: robust connection, confirmed publishing, idempotent topology.

One :class:`Link` per broker. It owns aio-pika's robust connection (reconnects on its own,
re-declares what was declared) and one publishing channel in confirm mode. Publishes go
through the raw aiormq channel underneath, concurrently, so a batch pipelines its
confirms: ``publish`` returns when RabbitMQ confirmed every message. A message RabbitMQ
cannot route (``mandatory``) or nacks raises ``BrokerError``. When the connection drops,
``publish`` waits (up to ``publish_timeout``) for it to come back and publishes again
what was not confirmed: at-least-once, a duplicate is possible, a loss is not.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection
from aiormq.exceptions import DeliveryError, InvalidFrameError, PublishError
from pamqp.commands import Basic

from jobplug.errors import BrokerConnectionError, BrokerError, JobplugError
from jobplug_amqp import topology
from jobplug_amqp.failures import CONNECTION_FAILURES, describe, translate, wrapped
from jobplug_amqp.options import AmqpOptions
from jobplug_amqp.receiver import Endpoint, refusal
from jobplug_amqp.topology import Names

log = logging.getLogger("jobplug.amqp")

#: Publishes in flight at once on the channel (bounds memory for huge batches).
_WINDOW = 2000


@dataclass(frozen=True)
class Outgoing:
    exchange: str
    routing_key: str
    body: bytes
    properties: Basic.Properties


class Link:
    def __init__(self, options: AmqpOptions, names: Names, safe_url: str) -> None:
        self.options = options
        self.names = names
        self.safe_url = safe_url
        self.connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._lock = asyncio.Lock()
        self._declare_lock = asyncio.Lock()
        self._handlers: set[str] = set()
        self._base = False
        self._ladder = False

    # -- lifecycle -------------------------------------------------------------------
    @property
    def connection_name(self) -> str:
        """How RabbitMQ's management UI names this process's connections."""
        return f"jobplug {self.names.namespace} {socket.gethostname()}:{os.getpid()}"

    def consumer_endpoint(self) -> Endpoint:
        """Where the worker's own consuming connection goes (same server, login, TLS)."""
        options = self.options
        return Endpoint.from_url(
            options.driver_url,
            options.ssl_context,
            options.connect_timeout,
            f"{self.connection_name} consumer",
        )

    async def open(self) -> None:
        async with self._lock:
            if self.connection is not None:
                return
            name = self.connection_name
            try:
                with wrapped("connect", self.safe_url):
                    connection = await aio_pika.connect_robust(
                        self.options.driver_url,
                        ssl_context=self.options.ssl_context,
                        timeout=self.options.connect_timeout,
                        reconnect_interval=self.options.reconnect_interval,
                        client_properties={"connection_name": name},
                    )
            except BrokerError as exc:
                if isinstance(exc.__cause__, InvalidFrameError):  # closed at open: say why
                    why = await refusal(self.consumer_endpoint())
                    if why:
                        raise BrokerConnectionError(
                            f"connect to {self.safe_url}: {why}"
                        ) from exc.__cause__
                raise
            try:
                with wrapped("open a channel", self.safe_url):
                    channel = await connection.channel(
                        publisher_confirms=True, on_return_raises=True
                    )
            except BaseException:
                await connection.close()
                raise
            self.connection, self._channel = connection, channel
            try:
                await self._declare_base()
            except BaseException:
                await self.close()
                raise

    async def close(self) -> None:
        connection, self.connection, self._channel = self.connection, None, None
        self._handlers.clear()
        self._base = self._ladder = False
        if connection is not None:
            try:
                await connection.close()
            except Exception as exc:  # closing is best effort; nothing to lose here
                log.debug("closing the connection failed: %s", describe(exc))

    def channel(self) -> AbstractRobustChannel:
        if self._channel is None:
            raise BrokerConnectionError(f"not connected to {self.safe_url}")
        return self._channel

    async def new_channel(self) -> AbstractRobustChannel:
        if self.connection is None:
            raise BrokerConnectionError(f"not connected to {self.safe_url}")
        with wrapped("open a channel", self.safe_url):
            channel: AbstractRobustChannel = await self.connection.channel(publisher_confirms=False)
        return channel

    async def raw_channel(self) -> aiormq.abc.AbstractChannel:
        """A plain (not robust) channel, for short-lived work such as inspection."""
        if self.connection is None:
            raise BrokerConnectionError(f"not connected to {self.safe_url}")
        with wrapped("open a channel", self.safe_url):
            await self.connection.ready()
            transport = self.connection.transport
            if transport is None:
                raise BrokerConnectionError(f"not connected to {self.safe_url}")
            return await transport.connection.channel(publisher_confirms=False)

    # -- topology --------------------------------------------------------------------
    async def _declare_base(self) -> None:
        channel = self.channel()
        n, quorum = self.names, self.options.quorum
        with wrapped("declare the dead-letter queue", self.safe_url):
            dead = await channel.declare_queue(
                n.dead, durable=True, arguments=topology.dead_queue_args(quorum)
            )
            await channel.declare_exchange(n.lost, aio_pika.ExchangeType.FANOUT, durable=True)
            await dead.bind(n.lost, routing_key="")
            await channel.declare_exchange(
                n.out,
                aio_pika.ExchangeType.HEADERS,
                durable=True,
                arguments={"alternate-exchange": n.lost},
            )
        self._base = True

    async def ensure_handler(self, handler: str) -> str:
        """Declare ``handler``'s queue (once per connection); returns its name."""
        queue_name = self.names.queue(handler)
        if handler in self._handlers:
            return queue_name
        async with self._declare_lock:
            if handler in self._handlers:
                return queue_name
            channel = self.channel()
            args = topology.handler_queue_args(
                self.names, self.options.quorum, self.options.delivery_limit
            )
            with wrapped(f"declare queue {queue_name!r}", self.safe_url):
                queue = await channel.declare_queue(queue_name, durable=True, arguments=args)
                await queue.bind(
                    self.names.out,
                    routing_key="",
                    arguments={"x-match": "all", topology.DEST_HEADER: queue_name},
                )
            self._handlers.add(handler)
        return queue_name

    async def redeclare_queues(self, queues: Sequence[str]) -> None:
        """Declare handler queues again, though this connection declared them before (one
        was deleted under a running worker)."""
        for queue in queues:
            handler = self.names.handler_of(queue)
            self._handlers.discard(handler)
            await self.ensure_handler(handler)
        log.info("declared %d queue(s) again on %s", len(queues), self.safe_url)

    def ladder_ready(self) -> bool:
        return self._ladder

    async def ensure_ladder(self) -> None:
        """Declare the delay ladder (once per connection; idempotent on the server)."""
        if self._ladder:
            return
        async with self._declare_lock:
            if self.ladder_ready():  # declared by another task while we waited
                return
            channel, n, quorum = self.channel(), self.names, self.options.quorum
            with wrapped("declare the delay ladder", self.safe_url):
                below = await channel.declare_exchange(n.out, passive=True)
                for level in range(topology.LEVELS):
                    exchange = await channel.declare_exchange(
                        n.level(level), aio_pika.ExchangeType.TOPIC, durable=True
                    )
                    queue = await channel.declare_queue(
                        n.level(level),
                        durable=True,
                        arguments=topology.level_queue_args(n, level, quorum),
                    )
                    await queue.bind(exchange, routing_key=topology.level_pattern(level, "1"))
                    await below.bind(exchange, routing_key=topology.level_pattern(level, "0"))
                    below = exchange
            self._ladder = True

    # -- publishing ------------------------------------------------------------------
    async def publish(self, messages: Sequence[Outgoing]) -> None:
        """Publish with confirms; returns once RabbitMQ confirmed every message."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.publish_timeout
        pending = list(messages)
        retried = False
        while pending:
            raw = await self._raw_channel(deadline)
            failed: list[Outgoing] = []
            unroutable: list[Outgoing] = []
            for start in range(0, len(pending), _WINDOW):
                chunk = pending[start : start + _WINDOW]
                results = await asyncio.gather(
                    *(self._publish_one(raw, m) for m in chunk), return_exceptions=True
                )
                for message, result in zip(chunk, results, strict=True):
                    if result is None:
                        continue
                    # A confirm cancelled by a channel close: the outcome is unknown.
                    if isinstance(result, (*CONNECTION_FAILURES, asyncio.CancelledError)):
                        failed.append(message)
                    elif (
                        isinstance(result, _Unroutable) and not retried and self._declared(message)
                    ):
                        unroutable.append(message)
                    elif isinstance(result, JobplugError):
                        raise result
                    elif isinstance(result, BaseException):
                        raise translate(result, "publish", self.safe_url) from result
            if unroutable:
                # A handler queue this connection declared is gone (an operator deleted it):
                # declare it again and publish once more, rather than fail until a restart.
                retried = True
                await self.redeclare_queues(sorted({m.routing_key for m in unroutable}))
            if failed and loop.time() >= deadline:
                raise BrokerConnectionError(
                    f"publish to {self.safe_url}: {len(failed)} message(s) not confirmed "
                    f"within {self.options.publish_timeout:g}s (connection lost)"
                )
            if failed:
                log.warning("%d publish(es) lost with the connection; retrying", len(failed))
            pending = failed + unroutable

    def _declared(self, message: Outgoing) -> bool:
        """Whether ``message`` went straight to a handler queue this connection declared."""
        if message.exchange:
            return False
        return self.names.handler_of(message.routing_key) in self._handlers

    async def _raw_channel(self, deadline: float) -> aiormq.abc.AbstractChannel:
        channel = self.channel()
        remaining = max(0.0, deadline - asyncio.get_running_loop().time())
        try:
            await asyncio.wait_for(channel.ready(), remaining or 0.001)
            return await channel.get_underlay_channel()
        except Exception as exc:
            raise BrokerConnectionError(
                f"publish: {self.safe_url} unreachable for {self.options.publish_timeout:g}s"
                f" ({describe(exc)})"
            ) from exc

    async def _publish_one(self, raw: aiormq.abc.AbstractChannel, message: Outgoing) -> None:
        try:
            confirmation: Any = await raw.basic_publish(
                message.body,
                exchange=message.exchange,
                routing_key=message.routing_key,
                properties=message.properties,
                mandatory=True,
                timeout=self.options.publish_timeout or None,
            )
        except PublishError as exc:
            where = message.exchange or "the default exchange"
            raise _Unroutable(
                f"RabbitMQ could not route a message to {where}"
                f" with key {message.routing_key!r} on {self.safe_url}: {describe(exc)}"
            ) from exc
        except DeliveryError as exc:
            raise BrokerError(f"RabbitMQ refused (nacked) a message: {describe(exc)}") from exc
        if not isinstance(confirmation, Basic.Ack):
            raise BrokerError(f"RabbitMQ did not confirm a message: {confirmation!r}")


class _Unroutable(BrokerError):
    """RabbitMQ returned a mandatory message: no queue is bound where it was sent."""
