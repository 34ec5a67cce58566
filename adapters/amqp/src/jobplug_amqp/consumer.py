"""The consuming side: deliveries buffered for ``fetch``, acks batched where safe, reconnects.

RabbitMQ pushes up to ``prefetch`` unacknowledged messages over the worker's consuming
connection (:mod:`jobplug_amqp.receiver`); they wait in a buffer until ``fetch`` hands them
to the core. Nothing is acknowledged before the core says so (manual acks after the
handler finished). Acks of one batch are sent as a single ``basic.ack(multiple=True)``
when they form a contiguous run of the oldest unsettled delivery tags, else one by one:
a ``multiple`` ack never settles a message that is still buffered or running.

A delivery belongs to the connection it came on. When that connection is lost (broker
restarted, network gone), RabbitMQ requeues its unacked messages by itself; the buffer
is emptied, settling those deliveries becomes a no-op, and a new connection consumes
again, retried every ``reconnect_interval`` until it works. A queue deleted under a
running worker (by an operator, say) is declared again through ``redeclare`` first.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence

from jobplug_amqp import wire
from jobplug_amqp.failures import describe, wrapped
from jobplug_amqp.receiver import CHANNEL, Endpoint, Receiver

log = logging.getLogger("jobplug.amqp")


class Consumer:
    def __init__(
        self,
        endpoint: Endpoint,
        queues: Sequence[str],
        prefetch: int,
        reconnect_interval: float,
        safe_url: str,
        redeclare: Callable[[Sequence[str]], Awaitable[None]],
    ) -> None:
        self.endpoint = endpoint
        self.queues = list(queues)
        self.prefetch = prefetch
        self.reconnect_interval = reconnect_interval
        self.safe_url = safe_url
        self.redeclare = redeclare
        self.buffer: deque[wire.Delivered] = deque()
        self.arrived = asyncio.Event()
        self._receiver: Receiver | None = None
        self._unsettled: dict[int, None] = {}  # delivery tags of self._receiver, in order
        self._lost = asyncio.Event()
        self._reconnector: asyncio.Task[None] | None = None
        self._stopped = False

    # -- connecting ------------------------------------------------------------------
    async def start(self) -> None:
        with wrapped("consume", self.safe_url):
            await self._open()
        self._reconnector = asyncio.create_task(self._reconnect(), name="jobplug-amqp-consume")

    async def _open(self) -> None:
        # Current before the handshake ends: deliveries may come with the basic.consume-ok.
        receiver = Receiver(self._on_delivered, self._on_lost)
        self._receiver, self._unsettled = receiver, {}
        await receiver.open(self.endpoint, self.queues, self.prefetch)

    def _on_lost(self, receiver: Receiver) -> None:
        if receiver is self._receiver and receiver.ready and not self._stopped:
            self._lost.set()

    async def _reconnect(self) -> None:
        while not self._stopped:
            await self._lost.wait()
            self._lost.clear()
            lost = self._receiver
            self.buffer.clear()
            self._unsettled = {}
            reason = lost.reason if lost is not None else "?"
            log.warning("consuming connection to %s lost (%s); reconnecting", self.safe_url, reason)
            queue_gone = lost is not None and lost.queue_gone
            while not self._stopped:
                await asyncio.sleep(self.reconnect_interval)
                try:
                    if queue_gone:
                        await self.redeclare(self.queues)
                    await self._open()
                except Exception as exc:
                    log.warning("reconnecting to %s failed: %s", self.safe_url, describe(exc))
                    failed = self._receiver
                    queue_gone = queue_gone or (failed is not None and failed.queue_gone)
                    continue
                log.info("consuming %d queue(s) again on %s", len(self.queues), self.safe_url)
                break

    # -- receiving -------------------------------------------------------------------
    def _on_delivered(self, messages: list[wire.Delivered]) -> None:
        unsettled = self._unsettled
        for message in messages:
            unsettled[message.delivery_tag] = None
        self.buffer.extend(messages)
        self.arrived.set()

    def take(self, max_jobs: int) -> list[wire.Delivered]:
        out: list[wire.Delivered] = []
        buffer = self.buffer
        current = self._receiver if self._receiver and not self._receiver.closed else None
        while buffer and len(out) < max_jobs:
            message = buffer.popleft()
            if message.connection is current:
                out.append(message)
        if not buffer:
            self.arrived.clear()
        return out

    def queue_of(self, message: wire.Delivered) -> str:
        receiver = message.connection
        if isinstance(receiver, Receiver):
            return receiver.queue_of_tag.get(message.consumer_tag, "")
        return ""

    # -- settling --------------------------------------------------------------------
    async def ack(self, messages: Iterable[wire.Delivered]) -> None:
        receiver = self._receiver
        if receiver is None or receiver.closed:
            return
        tags = {m.delivery_tag for m in messages if m.connection is receiver}
        if not tags:
            return
        unsettled = self._unsettled
        last = 0
        for tag in unsettled:
            if tag not in tags:
                break
            last = tag
        frames = []
        if last:
            for tag in [t for t in unsettled if t <= last]:
                del unsettled[tag]
                tags.discard(tag)
            frames.append(wire.ack_frame(CHANNEL, last, True))
        for tag in tags:
            unsettled.pop(tag, None)
            frames.append(wire.ack_frame(CHANNEL, tag, False))
        # A write to a lost connection is dropped: RabbitMQ redelivers (at-least-once).
        receiver.write(b"".join(frames))

    async def nack(self, messages: Iterable[wire.Delivered], requeue: bool = True) -> None:
        receiver = self._receiver
        if receiver is None or receiver.closed:
            return
        frames = []
        for message in messages:
            if message.connection is receiver:
                self._unsettled.pop(message.delivery_tag, None)
                frames.append(wire.nack_frame(CHANNEL, message.delivery_tag, requeue))
        receiver.write(b"".join(frames))

    async def stop(self) -> None:
        """Close the consuming connection: RabbitMQ requeues what was not acked."""
        self._stopped = True
        if self._reconnector is not None:
            self._reconnector.cancel()
            await asyncio.gather(self._reconnector, return_exceptions=True)
        self.buffer.clear()
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            try:
                await receiver.close()
            except Exception as exc:
                log.debug("closing the consuming connection failed: %s", describe(exc))
