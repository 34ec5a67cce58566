"""``AmqpBroker``: jobplug's :class:`~jobplug.Broker` on RabbitMQ, through aio-pika.

* enqueue: one durable, persistent message per job on the handler's queue (default
  exchange, routing key = queue name, ``mandatory``), returned once RabbitMQ confirmed it;
  a list is published concurrently so its confirms pipeline.
* delays (``perform_in``/``perform_at``, retry backoff): the TTL ladder of
  :mod:`jobplug_amqp.topology`; milliseconds throughout, no broker plugin.
* consume: manual acks after the handler, prefetch from the worker's concurrency.
* retry: the failed job (with ``fails``/``err`` in its body and headers) is published
  through the ladder, confirmed, *then* the delivery is acked: a crash in between
  duplicates the job, never loses it. Bury works the same way into the dead queue.
* a body that is not a job goes to the dead queue with the reason; the worker goes on.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from jobplug import Broker, Capability, ConsumerConfig, Delivery, Job
from jobplug.errors import InvalidArgsError, MalformedJobError
from jobplug_amqp import codec, topology, wire
from jobplug_amqp.consumer import Consumer
from jobplug_amqp.failures import wrapped
from jobplug_amqp.link import Link, Outgoing
from jobplug_amqp.options import parse_url
from jobplug_amqp.topology import Names

if TYPE_CHECKING:
    from jobplug.adapter import Inspector

log = logging.getLogger("jobplug.amqp")


class AmqpBroker(Broker):
    """RabbitMQ (AMQP 0-9-1) broker for ``amqp://`` and ``amqps://`` URLs."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.DURABLE, Capability.DELAYED, Capability.DEAD_LETTER, Capability.INSPECT}
    )

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.options = parse_url(url)
        self.names = Names(self.options.namespace)
        self.link = Link(self.options, self.names, self.safe_url)
        self.known_handlers: set[str] = set(self.options.handlers)
        self._consumer: Consumer | None = None

    # -- lifecycle -------------------------------------------------------------------
    async def connect(self) -> None:
        await self.link.open()

    async def close(self) -> None:
        await self.unsubscribe()
        await self.link.close()

    # -- producing -------------------------------------------------------------------
    async def enqueue(self, jobs: Sequence[Job], at: datetime | None = None) -> None:
        if not jobs:
            return
        await self.connect()
        queues = {}
        for handler in {job.handler for job in jobs}:
            queues[handler] = await self.link.ensure_handler(handler)
            self.known_handlers.add(handler)
        due_ms = math.ceil(at.timestamp() * 1000) if at is not None else 0
        messages = [self._message(job, queues[job.handler], due_ms) for job in jobs]
        limit = self.options.max_message_size
        for job, message in zip(jobs, messages, strict=True):
            if len(message.body) > limit:  # refused before any is published
                raise InvalidArgsError(
                    f"job {job.handler!r} is {len(message.body)} bytes as JSON, over the "
                    f"{limit} bytes RabbitMQ takes (max_message_size); pass a reference "
                    "to the data instead, or raise ?max_message_size= with the server's"
                )
        if any(m.exchange for m in messages):
            await self.link.ensure_ladder()
        await self.link.publish(messages)

    def _message(
        self, job: Job, queue: str, due_ms: int, headers: dict[str, Any] | None = None
    ) -> Outgoing:
        body = job.encode()
        delay = due_ms - codec.now_ms() if due_ms else 0
        if delay <= 0:
            return Outgoing("", queue, body, codec.properties(headers, job.id))
        extra = {topology.DEST_HEADER: queue, "jobplug-at": due_ms, **(headers or {})}
        exchange, key = topology.ladder_route(self.names, min(delay, topology.MAX_LADDER_MS))
        return Outgoing(exchange, key, body, codec.properties(extra, job.id))

    # -- consuming -------------------------------------------------------------------
    async def subscribe(self, config: ConsumerConfig) -> None:
        await self.unsubscribe()
        await self.connect()
        queues = []
        for name in config.handlers:
            queues.append(await self.link.ensure_handler(name))
            self.known_handlers.add(name)
        await self.link.ensure_ladder()  # retries go through it
        prefetch = self.options.prefetch or max(2 * config.concurrency, config.concurrency + 16)
        consumer = Consumer(
            self.link.consumer_endpoint(),
            queues,
            prefetch,
            self.options.reconnect_interval,
            self.safe_url,
            redeclare=self.link.redeclare_queues,
        )
        await consumer.start()
        self._consumer = consumer

    async def unsubscribe(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        consumer = self._consumer
        if consumer is None:
            return []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            out: list[Delivery] = []
            for message in consumer.take(max_jobs):
                delivery = await self._decode(consumer, message)
                if delivery is not None:
                    out.append(delivery)
            if out:
                return out
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            try:
                await asyncio.wait_for(consumer.arrived.wait(), remaining)
            except asyncio.TimeoutError:
                return []

    async def _decode(self, consumer: Consumer, message: wire.Delivered) -> Delivery | None:
        headers = message.headers
        if headers:
            due = headers.get("jobplug-at")
            if isinstance(due, int) and due > codec.now_ms():
                await self._redelay(consumer, message, due)
                return None
        try:
            job = Job.decode(message.body)
        except MalformedJobError as exc:
            await self._dead_letter_malformed(consumer, message, str(exc))
            return None
        return Delivery(job, message, {"redelivered": message.redelivered})

    async def _redelay(self, consumer: Consumer, message: wire.Delivered, due: int) -> None:
        """A job that arrived before its time (a delay beyond one ladder pass): send it on."""
        headers = dict(message.headers or {})
        queue = str(headers.pop(topology.DEST_HEADER, "") or consumer.queue_of(message))
        headers.pop("jobplug-at", None)
        headers.pop("x-death", None)
        try:
            job = Job.decode(message.body)
        except MalformedJobError as exc:
            await self._dead_letter_malformed(consumer, message, str(exc))
            return
        await self.link.publish([self._message(job, queue, due, headers)])
        await consumer.ack([message])

    async def _dead_letter_malformed(
        self, consumer: Consumer, message: wire.Delivered, reason: str
    ) -> None:
        queue = consumer.queue_of(message)
        handler = self.names.handler_of(queue)
        log.warning("malformed message in %s dead-lettered: %s", queue, reason)
        headers = codec.dead_headers(handler, "malformed", reason, 0, queue=queue)
        await self.link.publish(
            [Outgoing("", self.names.dead, message.body, codec.properties(headers))]
        )
        await consumer.ack([message])

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        if self._consumer is not None:
            await self._consumer.ack(d.receipt for d in deliveries)

    async def retry(self, delivery: Delivery, at: datetime) -> None:
        job = delivery.job
        queue = await self.link.ensure_handler(job.handler)
        due_ms = max(1, math.ceil(at.timestamp() * 1000))
        message = self._message(job, queue, due_ms, codec.failure_headers(job))
        if message.exchange:
            await self.link.ensure_ladder()
        await self.link.publish([message])
        await self.ack([delivery])

    async def bury(self, delivery: Delivery) -> None:
        job = delivery.job
        reason = "failed" if job.handler in self.known_handlers else "stray"
        headers = codec.dead_headers(job.handler, reason, job.last_error or "", job.fails)
        await self.link.publish(
            [Outgoing("", self.names.dead, job.encode(), codec.properties(headers, job.id))]
        )
        await self.ack([delivery])

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        if self._consumer is not None:
            await self._consumer.nack(d.receipt for d in deliveries)

    # -- inspection ------------------------------------------------------------------
    def inspector(self) -> Inspector:
        from jobplug_amqp.inspector import AmqpInspector

        return AmqpInspector(self)

    async def discard_handler(self, handler: str) -> None:
        """Delete the handler's queue, jobs waiting in it included (the namespace's shared
        dead queue and delay ladder stay)."""
        await self.connect()
        with wrapped("discard_handler", self.safe_url):
            channel = await self.link.new_channel()
            try:
                await channel.queue_delete(self.names.queue(handler))
            finally:
                await channel.close()
        self.known_handlers.discard(handler)

    async def delete_topology(self) -> None:
        """Delete every queue and exchange of this namespace that this broker knows of.

        For tests and teardown: jobs in them are lost.
        """
        await self.connect()
        channel = await self.link.new_channel()
        try:
            for handler in sorted(self.known_handlers):
                await channel.queue_delete(self.names.queue(handler))
            for queue in self.names.all_fixed_queues():
                await channel.queue_delete(queue)
            for exchange in self.names.all_exchanges():
                await channel.exchange_delete(exchange)
        finally:
            await channel.close()
        await self.link.close()
