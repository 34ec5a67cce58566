"""A consuming connection whose peer goes silent (a network black hole, not a close) is
dropped after two missed heartbeats, and the worker consumes again once the path is back."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jobplug import Job


class BlackHoleProxy:
    """A TCP proxy to RabbitMQ that can stop forwarding without closing anything."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.forwarding = asyncio.Event()
        self.forwarding.set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for w in (writer, up_writer):
            w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            await self.forwarding.wait()  # black hole: hold the bytes, close nothing
            writer.write(data)
            await writer.drain()


async def test_a_silent_broker_is_dropped_after_missed_heartbeats(
    amqp_url: str, make_broker: Any, make_worker: Any, wait: Any, caplog: Any
) -> None:
    parts = urlsplit(amqp_url)
    proxy = BlackHoleProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    await proxy.start()
    try:
        netloc = f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}"
        via_proxy = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        producer = make_broker()  # straight to RabbitMQ
        worker = make_worker(
            broker=make_broker(url=via_proxy + "&heartbeat=1&reconnect_interval=0.1")
        )
        done: set[int] = set()
        worker.register("n", lambda args: done.add(args["n"]))
        await worker.start()
        await producer.enqueue([Job("n", {"n": 0})])
        await wait.until(lambda: done == {0}, timeout=10)

        proxy.forwarding.clear()
        await wait.until(lambda: "no heartbeat from RabbitMQ" in caplog.text, timeout=10)
        await producer.enqueue([Job("n", {"n": 1})])
        proxy.forwarding.set()
        await wait.until(lambda: done == {0, 1}, timeout=20)
    finally:
        await proxy.close()
