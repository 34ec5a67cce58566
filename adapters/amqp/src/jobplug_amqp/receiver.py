"""The worker's own consuming connection: an ``asyncio.Protocol`` that only receives jobs.

Publishing, declaring and inspecting go through aio-pika (:mod:`jobplug_amqp.link`); the
worker's deliveries come on a second connection of its own. RabbitMQ advises separate
connections for publishing and consuming anyway (flow control that blocks a publishing
connection then never stalls acks), and this one does little: the handshake, one channel
with a prefetch, one ``basic.consume`` per queue, then deliveries in and acks out. A
protocol decoding frames in ``data_received`` (:mod:`jobplug_amqp.wire`) instead of a
reader task per connection and a queue per channel more than halved the client's cost per
message. The connection does not reconnect by itself: :class:`~jobplug_amqp.consumer.
Consumer` opens a new one when it is lost.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from pamqp import commands
from pamqp.base import Frame
from yarl import URL

from jobplug_amqp import wire

log = logging.getLogger("jobplug.amqp")

CHANNEL = 1  # the one channel this connection opens
_F = TypeVar("_F", bound=Frame)


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to connect, read from the driver URL as aiormq reads it."""

    host: str
    port: int
    vhost: str
    user: str
    password: str
    external_auth: bool
    heartbeat: int
    ssl_context: ssl.SSLContext | None
    connect_timeout: float
    name: str

    @classmethod
    def from_url(
        cls, driver_url: str, ssl_context: ssl.SSLContext | None, connect_timeout: float, name: str
    ) -> Endpoint:
        url = URL(driver_url)
        tls = url.scheme == "amqps"
        path = url.raw_path
        vhost = "/" if path in ("", "/") else url.path[1:].replace("%2F", "/")
        try:
            heartbeat = int(url.query.get("heartbeat", "60"))
        except ValueError:
            heartbeat = 60
        if tls and ssl_context is None:
            ssl_context = ssl.create_default_context()
        return cls(
            host=url.host or "localhost",
            port=url.port or (5671 if tls else 5672),
            vhost=vhost,
            user=url.user or "guest",
            password=url.password or "guest",
            external_auth=url.query.get("auth", "plain").lower() == "external",
            heartbeat=heartbeat if 0 <= heartbeat < 65535 else 0,
            ssl_context=ssl_context if tls else None,
            connect_timeout=connect_timeout,
            name=name,
        )


class ConnectionLost(ConnectionError):
    """The consuming connection closed; the text says why (never with credentials)."""


class Receiver(asyncio.Protocol):
    """One consuming connection. ``on_delivered`` gets each batch of deliveries as it is
    decoded; ``on_lost`` is called once when the connection is gone."""

    def __init__(
        self,
        on_delivered: Callable[[list[wire.Delivered]], None],
        on_lost: Callable[[Receiver], None],
    ) -> None:
        self._on_delivered = on_delivered
        self._on_lost = on_lost
        self._parser = wire.Parser(self)
        self._transport: asyncio.Transport | None = None
        self._replies: asyncio.Queue[Frame | ConnectionLost] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._last_received = self._loop.time()
        self._heartbeat: asyncio.TimerHandle | None = None
        self.queue_of_tag: dict[str, str] = {}
        self.reason = "not connected"
        self.queue_gone = False  # a consumed queue does not exist (any more)
        self.ready = False  # consuming: the handshake is over
        self.closed = False
        self._gone = asyncio.Event()  # set with ``closed``, for close() to wait on

    # -- opening -----------------------------------------------------------------------
    async def open(self, endpoint: Endpoint, queues: Sequence[str], prefetch: int) -> None:
        """Connect, log in, and consume ``queues``; raises on any failure (and closes)."""
        try:
            await asyncio.wait_for(
                self._loop.create_connection(
                    lambda: self,
                    endpoint.host,
                    endpoint.port,
                    ssl=endpoint.ssl_context,
                    server_hostname=endpoint.host if endpoint.ssl_context else None,
                ),
                endpoint.connect_timeout,
            )
            await asyncio.wait_for(
                self._handshake(endpoint, queues, prefetch), endpoint.connect_timeout
            )
        except BaseException:
            self.drop()
            raise

    async def _handshake(self, endpoint: Endpoint, queues: Sequence[str], prefetch: int) -> None:
        start = await self._reply(commands.Connection.Start)
        mechanism = "EXTERNAL" if endpoint.external_auth else "PLAIN"
        offered = _text(start.mechanisms)
        if mechanism not in offered.split():
            raise ConnectionLost(f"RabbitMQ does not offer {mechanism} login (offers {offered})")
        response = "" if endpoint.external_auth else f"\0{endpoint.user}\0{endpoint.password}"
        self._send(
            0,
            commands.Connection.StartOk(
                client_properties={
                    "connection_name": endpoint.name,
                    "product": "jobplug",
                    "capabilities": {
                        "consumer_cancel_notify": True,
                        "authentication_failure_close": True,  # a 403, not a bare EOF
                    },
                },
                mechanism=mechanism,
                response=response,
            ),
        )
        tune = await self._reply(commands.Connection.Tune)
        heartbeat = endpoint.heartbeat
        if tune.heartbeat and heartbeat:
            heartbeat = min(heartbeat, tune.heartbeat)
        self._send(
            0,
            commands.Connection.TuneOk(
                channel_max=tune.channel_max, frame_max=tune.frame_max, heartbeat=heartbeat
            ),
        )
        self._send(0, commands.Connection.Open(virtual_host=endpoint.vhost))
        await self._reply(commands.Connection.OpenOk)
        self._send(CHANNEL, commands.Channel.Open())
        await self._reply(commands.Channel.OpenOk)
        self._send(CHANNEL, commands.Basic.Qos(prefetch_count=prefetch))
        await self._reply(commands.Basic.QosOk)
        for queue in queues:
            self._send(CHANNEL, commands.Basic.Consume(queue=queue))
            ok = await self._reply(commands.Basic.ConsumeOk)
            self.queue_of_tag[ok.consumer_tag or ""] = queue
        if heartbeat:
            self._beat(heartbeat)
        self.reason = ""
        self.ready = True

    async def _reply(self, kind: type[_F]) -> _F:
        frame = await self._replies.get()
        if isinstance(frame, ConnectionLost):
            raise frame
        if not isinstance(frame, kind):
            raise ConnectionLost(f"expected {kind.__name__} from RabbitMQ, got {frame.name}")
        return frame

    def _beat(self, interval: int) -> None:
        """Send a heartbeat every interval/2 s; a peer silent for 2 intervals is dead."""
        if self.closed:
            return
        if self._loop.time() - self._last_received > 2 * interval:
            self.reason = f"no heartbeat from RabbitMQ in {2 * interval}s"
            self.drop()
            return
        self.write(wire.HEARTBEAT_FRAME)
        self._heartbeat = self._loop.call_later(interval / 2, self._beat, interval)

    # -- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport.write(wire.PROTOCOL_HEADER)

    def data_received(self, data: bytes) -> None:
        self._last_received = self._loop.time()
        try:
            delivered, frames = self._parser.feed(data)
        except wire.FrameError as exc:
            self.reason = str(exc)
            self.drop()
            return
        if delivered:
            self._on_delivered(delivered)
        for channel, frame in frames:
            self._on_frame(channel, frame)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        self._gone.set()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if not self.reason:
            self.reason = f"connection lost: {exc}" if exc else "connection closed"
        self._replies.put_nowait(ConnectionLost(self.reason))
        self._on_lost(self)

    def _on_frame(self, channel: int, frame: Frame) -> None:
        if isinstance(frame, commands.Connection.Close):
            self.reason = f"RabbitMQ closed the connection: {frame.reply_code} {frame.reply_text}"
            self._send(0, commands.Connection.CloseOk())
            self.drop()
        elif isinstance(frame, commands.Channel.Close):
            self.reason = f"RabbitMQ closed the channel: {frame.reply_code} {frame.reply_text}"
            self.queue_gone = frame.reply_code == 404
            self._send(channel, commands.Channel.CloseOk())
            self.drop()
        elif isinstance(frame, commands.Basic.Cancel):
            tag = frame.consumer_tag or ""
            queue = self.queue_of_tag.get(tag, tag)
            self.reason = f"RabbitMQ cancelled the consumer of {queue} (queue deleted?)"
            self.queue_gone = True
            self.drop()
        elif isinstance(frame, commands.Connection.CloseOk):
            self.drop()
        elif isinstance(frame, (commands.Connection.Blocked, commands.Connection.Unblocked)):
            pass  # throttles publishing only; this connection never publishes
        elif isinstance(frame, commands.Channel.Flow):
            self._send(channel, commands.Channel.FlowOk(active=frame.active))
        else:
            self._replies.put_nowait(frame)

    # -- writing and closing -----------------------------------------------------------
    def write(self, data: bytes) -> None:
        transport = self._transport
        if transport is not None and not self.closed and not transport.is_closing():
            transport.write(data)

    def _send(self, channel: int, method: Frame) -> None:
        self.write(wire.method_frame(channel, method))

    async def close(self, timeout: float = 2.0) -> None:
        """Close politely (RabbitMQ requeues what was not acked), or drop after ``timeout``."""
        if self.closed or self._transport is None:
            return
        self.reason = "closed by the worker"
        try:
            self._send(
                0,
                commands.Connection.Close(
                    reply_code=200, reply_text="worker stopping", class_id=0, method_id=0
                ),
            )
            await asyncio.wait_for(self._gone.wait(), timeout)
        finally:
            self.drop()

    def drop(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()


async def refusal(endpoint: Endpoint) -> str:
    """Why RabbitMQ refuses to open ``endpoint`` ("530 NOT_ALLOWED - vhost x not found"),
    read off a handshake of our own; empty if it opens. aio-pika reports a refused virtual
    host as an InvalidFrameError that names no reason."""
    receiver = Receiver(lambda batch: None, lambda lost: None)
    try:
        await receiver.open(endpoint, (), 1)
    except (ConnectionError, OSError, asyncio.TimeoutError) as exc:
        return str(exc)
    await receiver.close()
    return ""


def _text(value: object) -> str:
    """A long string from the server: pamqp leaves it as bytes when it is not UTF-8."""
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return str(value or "")
