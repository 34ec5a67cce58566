"""The ``inspect`` capability on RabbitMQ: what AMQP 0-9-1 can show, and what it cannot.

* queue depths: a passive ``queue.declare`` per handler queue (the handlers this broker
  subscribed to or enqueued for, plus ``?handlers=a,b`` from the URL; AMQP cannot list
  queues, so a broker that knows no handler says so rather than showing none). The age
  of the oldest job is not visible without consuming it, so ``latency`` is None.
* dead jobs: the dead queue is read with ``basic.get`` on a private channel without
  acking; closing the channel puts every message back where it was. A dead job is
  retried or deleted by acking that one message (after republishing it, for a retry).
  Reading is capped at :data:`BROWSE_LIMIT` messages.
* scheduled and retrying jobs wait in the TTL ladder's queues, which cannot be browsed
  without disturbing their expiry; running jobs and worker pools are not visible over
  AMQP either. Those calls raise ``CapabilityNotSupported`` saying so.
"""

from __future__ import annotations

from datetime import datetime

import aiormq
from aiormq.abc import DeliveredMessage
from aiormq.exceptions import ChannelNotFoundEntity
from pamqp.commands import Basic

from jobplug.adapter import (
    PAGE_SIZE,
    BusyWorker,
    Inspector,
    JobRecord,
    Page,
    PoolInfo,
    QueueInfo,
    utcnow,
)
from jobplug.errors import CapabilityNotSupported, JobNotFoundError
from jobplug_amqp import codec
from jobplug_amqp.broker import AmqpBroker
from jobplug_amqp.codec import DeadMessage
from jobplug_amqp.failures import wrapped
from jobplug_amqp.link import Outgoing

#: Most dead messages read by one inspection call.
BROWSE_LIMIT = 10_000


def _unsupported(what: str, why: str) -> CapabilityNotSupported:
    exc = CapabilityNotSupported("AmqpBroker", f"inspect: {what}")
    exc.args = (f"AmqpBroker cannot {what}: {why}",)
    return exc


class AmqpInspector(Inspector):
    def __init__(self, broker: AmqpBroker) -> None:
        self.broker = broker

    # -- queues ----------------------------------------------------------------------
    async def queues(self) -> list[QueueInfo]:
        b = self.broker
        if not b.known_handlers:
            raise _unsupported(
                "list queues without their handlers' names",
                "AMQP has no way to list queues; name the handlers to show in the URL, "
                "e.g. ?handlers=send_email,resize",
            )
        await b.connect()
        out = []
        with wrapped("inspect queues", b.safe_url):
            raw = await b.link.raw_channel()
            try:
                for handler in sorted(b.known_handlers):
                    try:
                        ok = await raw.queue_declare(b.names.queue(handler), passive=True)
                    except ChannelNotFoundEntity:
                        raw = await b.link.raw_channel()  # the failed declare closed it
                        continue
                    out.append(QueueInfo(handler, int(ok.message_count or 0), None))
            finally:
                await _close(raw)
        return out

    async def pools(self) -> list[PoolInfo]:
        raise _unsupported(
            "list worker pools", "AMQP does not expose consumers; use RabbitMQ's management UI"
        )

    async def busy(self) -> list[BusyWorker]:
        raise _unsupported(
            "list running jobs", "a running job is an unacked message, invisible over AMQP"
        )

    async def scheduled(self, page: int = 1) -> Page:
        raise _unsupported("list scheduled jobs", _LADDER_WHY)

    async def retries(self, page: int = 1) -> Page:
        raise _unsupported("list retrying jobs", _LADDER_WHY)

    async def delete_scheduled(self, job_id: str, at: datetime | None = None) -> None:
        raise _unsupported("delete a scheduled job", _LADDER_WHY)

    async def delete_retry(self, job_id: str, at: datetime | None = None) -> None:
        raise _unsupported("delete a retrying job", _LADDER_WHY)

    async def pause(self, handler: str) -> None:
        raise CapabilityNotSupported("AmqpBroker", "pause")

    async def unpause(self, handler: str) -> None:
        raise CapabilityNotSupported("AmqpBroker", "pause")

    # -- dead jobs -------------------------------------------------------------------
    async def dead(self, page: int = 1) -> Page:
        raw, items = await self._browse()
        await _close(raw)
        records = sorted(
            (JobRecord(dead.job, dead.died_at) for _, dead in items),
            key=lambda r: r.at,
            reverse=True,
        )
        page = max(1, page)
        start = (page - 1) * PAGE_SIZE
        return Page(records[start : start + PAGE_SIZE], len(records), page)

    async def retry_dead(self, job_id: str, at: datetime | None = None) -> None:
        await self._one(job_id, at, requeue=True)

    async def delete_dead(self, job_id: str, at: datetime | None = None) -> None:
        await self._one(job_id, at, requeue=False)

    async def retry_all_dead(self) -> int:
        raw, items = await self._browse()
        try:
            if items:
                await self._requeue([dead for _, dead in items])
                await raw.basic_ack(items[-1][0].delivery_tag or 0, multiple=True)
        finally:
            await _close(raw)
        return len(items)

    async def delete_all_dead(self) -> int:
        b = self.broker
        await b.connect()
        with wrapped("purge the dead queue", b.safe_url):
            raw = await b.link.raw_channel()
            try:
                ok = await raw.queue_purge(b.names.dead)
            finally:
                await _close(raw)
        return int(ok.message_count or 0)

    # -- helpers ---------------------------------------------------------------------
    async def _browse(
        self,
    ) -> tuple[aiormq.abc.AbstractChannel, list[tuple[DeliveredMessage, DeadMessage]]]:
        b = self.broker
        await b.connect()
        items: list[tuple[DeliveredMessage, DeadMessage]] = []
        with wrapped("read the dead queue", b.safe_url):
            raw = await b.link.raw_channel()
            try:
                while len(items) < BROWSE_LIMIT:
                    message = await raw.basic_get(b.names.dead, no_ack=False)
                    if not isinstance(message.delivery, Basic.GetOk):
                        break
                    items.append((message, codec.read_dead(message)))
            except BaseException:
                await _close(raw)
                raise
        return raw, items

    async def _one(self, job_id: str, at: datetime | None, requeue: bool) -> None:
        raw, items = await self._browse()
        try:
            for message, dead in items:
                if dead.job.id != job_id:
                    continue
                if at is not None and abs((dead.died_at - at).total_seconds()) >= 1:
                    continue
                if requeue:
                    await self._requeue([dead])
                with wrapped("remove a dead job", self.broker.safe_url):
                    await raw.basic_ack(message.delivery_tag or 0)
                return
        finally:
            await _close(raw)
        raise JobNotFoundError(f"no dead job with id {job_id!r}")

    async def _requeue(self, deads: list[DeadMessage]) -> None:
        """Publish dead jobs back to their queues (as new: fails and error cleared)."""
        b = self.broker
        messages = []
        for dead in deads:
            job = dead.job
            if dead.reason == "malformed" or "raw" in job.meta:
                queue = str(dead.headers.get("jobplug-queue") or b.names.queue(job.handler))
                messages.append(Outgoing("", queue, dead.raw, codec.properties()))
                continue
            job.clear_failure()
            job.enqueued_at = utcnow()
            queue = await b.link.ensure_handler(job.handler)
            messages.append(Outgoing("", queue, job.encode(), codec.properties(None, job.id)))
        await b.link.publish(messages)


_LADDER_WHY = (
    "delayed jobs wait in the TTL ladder's queues, which AMQP cannot browse "
    "without consuming them (and resetting their expiry)"
)


async def _close(raw: aiormq.abc.AbstractChannel) -> None:
    try:
        await raw.close()
    except Exception:  # closing returns unacked messages; failure means it is closed
        pass
