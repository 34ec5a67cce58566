"""The consuming channel: deliveries buffered for ``fetch``, acks batched where safe.

RabbitMQ pushes up to ``prefetch`` unacknowledged messages per handler queue; the raw
aiormq callback only appends them to a buffer, and ``fetch`` hands them to the core.
Nothing is acknowledged before the core says so (manual acks after the handler
finished). Acks of one batch are sent as a single ``basic.ack(multiple=True)`` when they
form a contiguous run of the oldest unsettled delivery tags, else one by one: a
``multiple`` ack never settles a message that is still buffered or running.

A delivery belongs to the channel it came on. When that channel dies (connection lost,
broker restarted), RabbitMQ requeues its unacked messages by itself; the buffer is
emptied, settling those deliveries becomes a no-op, and the channel re-consumes when
aio-pika reopens it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable

import aiormq
from aio_pika.abc import AbstractRobustChannel
from aiormq.abc import DeliveredMessage

from jobplug_amqp.failures import describe

log = logging.getLogger("jobplug.amqp")


class Consumer:
    def __init__(self, channel: AbstractRobustChannel, queues: Iterable[str]) -> None:
        self.channel = channel
        self.queues = list(queues)
        self.buffer: deque[DeliveredMessage] = deque()
        self.arrived = asyncio.Event()
        self.queue_of_tag: dict[str, str] = {}
        self._raw: aiormq.abc.AbstractChannel | None = None
        self._unsettled: dict[int, None] = {}  # delivery tags of self._raw, in order
        self._stopped = False

    async def start(self) -> None:
        self.channel.reopen_callbacks.add(self._on_reopen)
        await self._consume()

    async def _consume(self) -> None:
        raw = await self.channel.get_underlay_channel()
        self._raw = raw
        self._unsettled = {}
        self.buffer.clear()
        for queue in self.queues:
            ok = await raw.basic_consume(queue, self._on_message)
            self.queue_of_tag[str(ok.consumer_tag)] = queue

    async def _on_reopen(self, _channel: object) -> None:
        if self._stopped:
            return
        log.info("consumer channel reopened; consuming %d queue(s) again", len(self.queues))
        try:
            await self._consume()
        except Exception as exc:  # the robust connection will try again
            log.warning("re-consuming after a reconnect failed: %s", describe(exc))

    async def _on_message(self, message: DeliveredMessage) -> None:
        if message.channel is not self._raw:
            return  # from a channel that is gone: RabbitMQ requeued it
        self._unsettled[message.delivery_tag or 0] = None
        self.buffer.append(message)
        self.arrived.set()

    def is_current(self, message: DeliveredMessage) -> bool:
        raw = self._raw
        return message.channel is raw and raw is not None and not raw.is_closed

    def take(self, max_jobs: int) -> list[DeliveredMessage]:
        out: list[DeliveredMessage] = []
        buffer = self.buffer
        while buffer and len(out) < max_jobs:
            message = buffer.popleft()
            if self.is_current(message):
                out.append(message)
        if not buffer:
            self.arrived.clear()
        return out

    def queue_of(self, message: DeliveredMessage) -> str:
        tag = getattr(message.delivery, "consumer_tag", None)
        return self.queue_of_tag.get(str(tag), "")

    # -- settling --------------------------------------------------------------------
    async def ack(self, messages: Iterable[DeliveredMessage]) -> None:
        raw = self._raw
        tags = {m.delivery_tag for m in messages if self.is_current(m) and m.delivery_tag}
        if not tags or raw is None:
            return
        unsettled = self._unsettled
        last = 0
        for tag in unsettled:
            if tag not in tags:
                break
            last = tag
        try:
            if last:
                for tag in [t for t in unsettled if t <= last]:
                    del unsettled[tag]
                    tags.discard(tag)
                await raw.basic_ack(last, multiple=True, wait=False)
            for tag in tags:
                unsettled.pop(tag, None)
                await raw.basic_ack(tag, wait=False)
        except Exception as exc:  # channel gone: RabbitMQ redelivers (at-least-once)
            log.warning("ack failed (%s); the jobs will be redelivered", describe(exc))

    async def nack(self, messages: Iterable[DeliveredMessage], requeue: bool = True) -> None:
        raw = self._raw
        if raw is None:
            return
        try:
            for message in messages:
                if self.is_current(message) and message.delivery_tag:
                    self._unsettled.pop(message.delivery_tag, None)
                    await raw.basic_nack(message.delivery_tag, requeue=requeue, wait=False)
        except Exception as exc:
            log.warning("release failed (%s); RabbitMQ requeues on its own", describe(exc))

    async def stop(self) -> None:
        """Cancel the consumers and close the channel: RabbitMQ requeues the unacked."""
        self._stopped = True
        self.channel.reopen_callbacks.discard(self._on_reopen)
        self.buffer.clear()
        raw = self._raw
        if raw is not None and not raw.is_closed:
            for tag in list(self.queue_of_tag):
                try:
                    await raw.basic_cancel(tag)
                except Exception as exc:
                    log.debug("basic.cancel failed: %s", describe(exc))
        try:
            await self.channel.close()
        except Exception as exc:
            log.debug("closing the consumer channel failed: %s", describe(exc))
        self._raw = None
