"""What a job looks like on the wire, and how dead messages are read back.

The body is the job's portable JSON form (:meth:`jobplug.Job.to_dict`: ``name``, ``id``,
``t``, ``args``, and after a failure ``fails``, ``err``, ``failed_at`` and, when the
failure was an exception, ``err_traceback``, its bounded traceback): it is the one source
of truth. Headers repeat what an operator wants to see in RabbitMQ's own tools
without parsing bodies; they are never needed to run a job. All times are epoch ms.

===================  ===========================================================
``jobplug-dest``     delayed messages: the queue the ladder delivers to
``jobplug-at``       delayed messages: when the job is due (a consumer that gets it
                     early, e.g. after a delay longer than one ladder pass, re-delays)
``jobplug-fails``    retried and dead jobs: failures so far
``jobplug-error``    retried and dead jobs: the last error (first 1000 characters)
``jobplug-reason``   dead: ``failed``, ``malformed`` or ``stray``
``jobplug-handler``  dead: the handler (for a malformed body, from its queue's name)
``jobplug-died-at``  dead: when the job was buried
===================  ===========================================================
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from aiormq.abc import DeliveredMessage
from pamqp.commands import Basic

from jobplug.adapter import Job
from jobplug.errors import MalformedJobError

CONTENT_TYPE = "application/json"
PERSISTENT = 2
_ERROR_HEADER_MAX = 1000


def now_ms() -> int:
    return int(time.time() * 1000)


def properties(
    headers: dict[str, Any] | None = None, message_id: str | None = None
) -> Basic.Properties:
    """A new properties object per message: aiormq writes a message_id into the one it is
    given and maps returned (unroutable) messages back to their publish by that id, so a
    shared object would make a returned message confirm another one's publish."""
    return Basic.Properties(
        content_type=CONTENT_TYPE,
        delivery_mode=PERSISTENT,
        headers=headers or None,
        message_id=message_id,
    )


def failure_headers(job: Job) -> dict[str, Any]:
    headers: dict[str, Any] = {"jobplug-fails": job.fails}
    if job.last_error:
        headers["jobplug-error"] = job.last_error[:_ERROR_HEADER_MAX]
    return headers


def dead_headers(
    handler: str, reason: str, error: str, fails: int, queue: str | None = None
) -> dict[str, Any]:
    headers: dict[str, Any] = {
        "jobplug-reason": reason,
        "jobplug-handler": handler,
        "jobplug-error": error[:_ERROR_HEADER_MAX],
        "jobplug-fails": fails,
        "jobplug-died-at": now_ms(),
    }
    if queue is not None:
        headers["jobplug-queue"] = queue
    return headers


def headers_of(message: DeliveredMessage) -> dict[str, Any]:
    return dict(message.header.properties.headers or {})


@dataclass
class DeadMessage:
    """One message of the dead queue, decoded for inspection (``job`` is never None)."""

    job: Job
    died_at: datetime
    reason: str
    raw: bytes
    headers: dict[str, Any]


def read_dead(message: DeliveredMessage) -> DeadMessage:
    """Decode a dead-queue message, whatever put it there (us, a poison limit, garbage)."""
    headers = headers_of(message)
    reason = str(headers.get("jobplug-reason") or "")
    error = _text(headers.get("jobplug-error"))
    handler = _text(headers.get("jobplug-handler"))
    try:
        job = Job.decode(message.body)
    except MalformedJobError as exc:
        # The same id at every listing, so retry/delete by id can find it again.
        job = Job(handler=handler or "?", args={}, id=_stable_id(message.body, headers))
        job.last_error = error or str(exc)
        job.meta["raw"] = message.body.decode("utf-8", "replace")[:_ERROR_HEADER_MAX]
        reason = reason or "malformed"
    if not reason:
        # Dead-lettered by RabbitMQ itself: x-delivery-limit reached, or undeliverable.
        reason = _x_death_reason(headers)
        job.last_error = job.last_error or f"dead-lettered by RabbitMQ: {reason}"
    elif error and not job.last_error:
        job.last_error = error
    if "jobplug-fails" in headers and not job.fails:
        job.fails = int(headers["jobplug-fails"])
    died = headers.get("jobplug-died-at")
    if isinstance(died, int):
        died_at = datetime.fromtimestamp(died / 1000, timezone.utc)
    else:
        died_at = job.failed_at or job.enqueued_at
    return DeadMessage(job, died_at, reason, message.body, headers)


def _stable_id(body: bytes, headers: dict[str, Any]) -> str:
    digest = hashlib.sha256(body)
    digest.update(str(headers.get("jobplug-died-at", "")).encode())
    return digest.hexdigest()[:24]


def _x_death_reason(headers: dict[str, Any]) -> str:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        first = deaths[0]
        reason = _text(first.get("reason")) or "unknown"
        queue = _text(first.get("queue"))
        if reason == "delivery_limit":
            return f"delivery_limit (poison: redelivered too often from {queue})"
        return f"{reason} (from {queue})"
    return "unknown"


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)
