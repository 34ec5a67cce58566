"""The retry policy: the error text (and traceback) kept with a failed job, and when it
runs again.

A failure waits for the handler's backoff (gocraft/work's by default); ``raise Retry(in_=...)``
or ``Retry(at=...)`` chooses the time instead. Neither a broken custom backoff nor a time
that cannot be honoured may strand a job: the default backoff applies then.
"""

from __future__ import annotations

import logging
import traceback
from datetime import datetime, timedelta, timezone

from jobplug.errors import InvalidScheduleError, Retry
from jobplug.handlers import ArgsMismatch, Registration, default_backoff, seconds
from jobplug.job import Job
from jobplug.timing import check_aware

log = logging.getLogger("jobplug.worker")

#: Longest delay honoured (a century): far beyond it ``datetime`` arithmetic overflows.
MAX_DELAY = 100 * 365 * 86400.0


def describe(error: BaseException) -> str:
    """The error text kept with a failed job (gocraft's ``err``): ``Type: message``."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


#: A failure's traceback is kept (with the job, in the dead set, in the log line) up to
#: its last TRACEBACK_LINES lines and TRACEBACK_CHARS characters: the innermost frames,
#: where the handler raised, matter most; the outer ones are jobplug's own.
TRACEBACK_LINES = 30
TRACEBACK_CHARS = 4096
#: The first line of a traceback cut short (jobplug.logs finds tracebacks by it).
CUT_NOTE = "... {} earlier line(s) cut"


def failure_traceback(error: BaseException | None) -> str | None:
    """The end of ``error``'s traceback, bounded; None for a job steered on purpose
    (:class:`~jobplug.errors.Retry`), for args that do not fit, or without a traceback."""
    if error is None or error.__traceback__ is None or isinstance(error, (Retry, ArgsMismatch)):
        return None
    lines = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return bound_lines(lines.rstrip("\n").split("\n"))


def bound_lines(lines: list[str]) -> str:
    """The last TRACEBACK_LINES of ``lines`` within TRACEBACK_CHARS, saying what was cut."""
    kept = lines[-TRACEBACK_LINES:]
    size = sum(len(line) + 1 for line in kept)
    while len(kept) > 1 and size > TRACEBACK_CHARS:
        size -= len(kept.pop(0)) + 1
    text = "\n".join(kept)
    if len(text) > TRACEBACK_CHARS:  # one huge line (an exception message): keep its start
        text = text[: TRACEBACK_CHARS - 1] + "\u2026"
    cut = len(lines) - len(kept)
    return f"{CUT_NOTE.format(cut)}\n{text}" if cut else text


def backoff_seconds(reg: Registration, job: Job) -> float:
    """Seconds until the next try; a custom backoff that fails must not strand the job."""
    try:
        return max(0.0, min(seconds(reg.backoff(job)), MAX_DELAY))
    except Exception:
        log.exception("backoff of %s failed; using the default backoff", job.handler)
        return default_backoff(job)


def retry_time(retry: Retry) -> datetime | None:
    """When ``Retry`` asked to run again; None (the backoff applies) if it cannot be honoured."""
    try:
        if retry.at is not None:
            return check_aware(retry.at)
        if retry.in_ is not None:
            delay = max(0.0, min(seconds(retry.in_), MAX_DELAY))
            return datetime.now(timezone.utc) + timedelta(seconds=delay)
    except (InvalidScheduleError, TypeError, ValueError, OverflowError) as exc:
        log.warning("%r cannot be honoured (%s); the backoff applies", retry, exc)
    return None
