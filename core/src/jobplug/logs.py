"""Logging setup: text or JSON lines, with passwords redacted, written off the event loop.

The runtime logs one line per job state change on the ``jobplug.worker`` logger::

    job started send_email id=5f0c... fails=0                                 (DEBUG)
    job succeeded send_email id=5f0c... duration=0.0123s                      (DEBUG)
    job discarded send_email id=5f0c... duration=0.0123s                      (DEBUG)
    job failed send_email id=5f0c... duration=0.01s fails=1 retry_at=... error=...  (WARNING)
    job dead send_email id=5f0c... duration=0.01s fails=4 error=...           (ERROR)

(``dropped``, at WARNING, instead of ``dead`` for handlers with ``skip_dead``; a job that
never ran, as one whose handler is unknown, has no duration.) A failure caused by an
exception carries its traceback (bounded, see :mod:`jobplug.policy`) on the lines after
``error=``. The per-job lines of jobs that went well are DEBUG because at INFO they cost a
large share of a fast worker's time; at INFO the worker writes a summary instead,
``jobs in the last 60s: 1200 succeeded, 3 failed`` (see :mod:`jobplug.summary`).

:class:`JsonFormatter` writes each record as one JSON object and lifts those job lines
into fields (``event``, ``handler``, ``job_id``, ``duration``, ``fails``, ``retry_at``,
``error``, ``traceback``), so a log pipeline can filter on them without parsing text.
Both formatters pass every line through :func:`jobplug.urls.redact`, so a URL with a
password never reaches the log. ``jobplug --log-format json ...`` selects the JSON form.

:func:`configure` (what the CLI uses) writes through a :class:`BackgroundHandler`: the
event loop only puts records on a bounded queue and a thread does the writing, so a slow
or stuck log reader (a full pipe nobody reads) never stalls fetching, acks or heartbeats.
When the queue is full, records are dropped, counted (:func:`dropped_lines`), and said
in a WARNING line as soon as the output moves again, and at exit.
"""

from __future__ import annotations

import copy
import json
import logging
import queue
import re
import sys
import threading
import weakref
from datetime import datetime, timezone
from typing import IO, Any, Literal

from jobplug.job import Job
from jobplug.policy import CUT_NOTE
from jobplug.urls import redact

__all__ = [
    "JsonFormatter",
    "LogFormat",
    "RedactingFormatter",
    "configure",
]

#: The two log formats: ``text`` lines or ``json`` objects.
LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_JOB_LINE = re.compile(
    r"^job (?P<event>\w+) (?P<handler>\S+) id=(?P<job_id>\S+)(?P<rest>.*)$", re.DOTALL
)
_FIELDS = re.compile(r" (?P<key>duration|fails|retry_at)=(?P<value>\S+)")
_ERROR = re.compile(r" error=(?P<error>.*)$", re.DOTALL)
#: Where the traceback starts in a job line (see jobplug.policy.failure_traceback).
_TRACEBACK = re.compile(
    r"\n(?=Traceback \(most recent call last\):|"
    + re.escape(CUT_NOTE).replace(r"\{\}", r"\d+")
    + r"|\s*\+ Exception Group Traceback)"
)
#: Attributes every LogRecord has; anything else came from ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def job_fields(message: str) -> dict[str, Any]:
    """Fields of a runtime job line (see the module doc); {} for any other message."""
    match = _JOB_LINE.match(message)
    if match is None:
        return {}
    rest = match["rest"]
    fields: dict[str, Any] = {k: match[k] for k in ("event", "handler", "job_id")}
    error = _ERROR.search(rest)
    if error is not None:
        text = error["error"]
        tb = _TRACEBACK.search(text)
        if tb is not None:
            fields["traceback"] = text[tb.end() :]
            text = text[: tb.start()]
        fields["error"] = text
        rest = rest[: error.start()]
    for item in _FIELDS.finditer(rest):
        key, value = item["key"], item["value"]
        if key == "duration":
            fields[key] = float(value.rstrip("s"))
        elif key == "fails":
            fields[key] = int(value)
        else:
            fields[key] = value
    return fields


class RedactingFormatter(logging.Formatter):
    """The usual text format, with passwords in URLs replaced by ``***``."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as the standard text line, with passwords redacted."""
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, job fields, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON object (job lines lifted into fields), redacted."""
        message = redact(record.getMessage())
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        data.update(job_fields(message))
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if isinstance(value, Job):  # log.info(..., extra={"job": job})
                data.setdefault("handler", value.handler)
                data.setdefault("job_id", value.id)
                continue
            data[key] = value
        if record.exc_info:
            data["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            data["exc"] = redact(record.exc_text)
        return redact(json.dumps(data, default=str, ensure_ascii=False))


def formatter(fmt: LogFormat = "text") -> logging.Formatter:
    """The formatter for ``fmt`` (``text`` or ``json``)."""
    if fmt == "json":
        return JsonFormatter()
    if fmt == "text":
        return RedactingFormatter(TEXT_FORMAT)
    raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")


#: Records waiting for the writer thread; past this many, new ones are dropped.
QUEUE_SIZE = 10_000
#: Seconds :meth:`BackgroundHandler.close` (at exit) lets the writer drain the queue.
CLOSE_TIMEOUT = 2.0

_handlers: weakref.WeakSet[BackgroundHandler] = weakref.WeakSet()


def dropped_lines() -> int:
    """Log records this process dropped because its log output did not keep up."""
    return sum(handler.dropped for handler in list(_handlers))


class BackgroundHandler(logging.Handler):
    """Hands records to ``target`` on a writer thread, through a bounded queue.

    ``emit`` renders the message (args may change later, a traceback must not be kept)
    and queues the record without waiting; when ``capacity`` records are already waiting
    it drops the record and counts it in :attr:`dropped`. The writer reports drops in a
    WARNING line before the next record it writes, and when closed.
    """

    def __init__(self, target: logging.Handler, capacity: int = QUEUE_SIZE) -> None:
        super().__init__()
        self.target = target
        self.dropped = 0
        self._reported = 0
        self._queue: queue.Queue[logging.LogRecord | None] = queue.Queue(capacity)
        self._exceptions = logging.Formatter()
        self._thread = threading.Thread(target=self._write, name="jobplug-log", daemon=True)
        self._thread.start()
        _handlers.add(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._queue.put_nowait(self._prepare(record))
        except queue.Full:
            self.dropped += 1  # emit runs under the handler's lock
        except Exception:
            self.handleError(record)

    def _prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)  # other handlers of the record see it unchanged
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = self._exceptions.formatException(record.exc_info)
            record.exc_info = None
        return record

    def _write(self) -> None:
        while (record := self._queue.get()) is not None:
            try:
                self._report_drops()
                self.target.handle(record)
            except Exception:  # a broken target must not end the writer (and fill the queue)
                self.handleError(record)
        self._report_drops()

    def _report_drops(self) -> None:
        dropped = self.dropped
        if dropped == self._reported:
            return
        self.target.handle(
            logging.makeLogRecord(
                {
                    "name": __name__,
                    "levelno": logging.WARNING,
                    "levelname": "WARNING",
                    "msg": "%d log line(s) dropped: the log output did not keep up "
                    "(%d dropped since start)",
                    "args": (dropped - self._reported, dropped),
                }
            )
        )
        self._reported = dropped

    @property
    def stuck(self) -> bool:
        """Whether the writer is still busy after :meth:`close` (its output does not move)."""
        return self._thread.is_alive()

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Let the writer finish the queue, within ``timeout``: an output nobody reads
        must not keep the process from exiting."""
        if self._thread.is_alive():
            try:
                self._queue.put(None, timeout=timeout)
            except queue.Full:
                pass
            else:
                self._thread.join(timeout)
        if not self.stuck:  # else the writer holds the target's lock
            self.target.close()
        super().close()


def drain(timeout: float = CLOSE_TIMEOUT) -> bool:
    """Close every :class:`BackgroundHandler`, letting each write what it holds within
    ``timeout``; False if a writer is still stuck on its output. Then the process should
    leave with ``os._exit``: the interpreter's own exit would wait for that output."""
    handlers = list(_handlers)
    for handler in handlers:
        handler.close(timeout)
    return not any(handler.stuck for handler in handlers)


def configure(level: str = "INFO", fmt: LogFormat = "text", stream: IO[str] | None = None) -> None:
    """Log to ``stream`` (stderr) in ``fmt`` through a :class:`BackgroundHandler`, unless
    the root logger is already set up."""
    if logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(fmt))
    logging.basicConfig(level=level.upper(), handlers=[BackgroundHandler(handler)])
