"""Reading what other writers left in Redis without failing: epoch scores and heartbeat
fields that may be missing or odd, observer args, and zset members that may not be jobs."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from jobplug.adapter import Job
from jobplug.errors import MalformedJobError
from jobplug_redis import codec


def time_of(value: float | bytes | str | None) -> datetime:
    """An epoch score or field as UTC; the epoch itself when missing or not a number."""
    try:
        return datetime.fromtimestamp(float(value or 0), timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return datetime.fromtimestamp(0, timezone.utc)


def int_of(value: bytes | None) -> int:
    """A heartbeat integer field; 0 when missing or not a number."""
    try:
        return int(value or 0)
    except ValueError:
        return 0


def text_of(value: bytes | None) -> str:
    """A field as text (bad UTF-8 replaced); empty when missing."""
    return value.decode("utf-8", "replace") if value else ""


def args_of(text: str) -> dict[str, Any]:
    """An observer's ``args`` as a dict; what is not a JSON object is kept under ``raw``."""
    try:
        value = json.loads(text) if text else {}
    except (ValueError, RecursionError):
        return {"raw": text}
    return value if isinstance(value, dict) else {"raw": value}


def job_of(member: bytes) -> Job:
    """A zset member as a Job; one that is not a job becomes handler ``?`` with the reason."""
    try:
        return codec.decode_job(member)[0]
    except MalformedJobError as exc:
        return Job("?", {}, meta={"error": str(exc), "payload": text_of(member)})


def is_malformed_record(job: Job) -> bool:
    """The dead record of a payload that was not a job (its text in ``payload``)."""
    return "payload" in job.meta and (job.last_error or "").startswith("malformed job payload")


def kept_dead(member: bytes) -> bool:
    """A dead member no retry can run: not a job, or a malformed payload's record."""
    try:
        job, _ = codec.decode_job(member)
    except MalformedJobError:
        return True
    return is_malformed_record(job)


def stored_of(member: bytes) -> dict[str, Any] | None:
    """A zset member's JSON object as written (None if it is not one), for display."""
    try:
        value = json.loads(member)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
