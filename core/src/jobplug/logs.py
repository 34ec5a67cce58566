"""Logging setup: text or JSON lines, with passwords redacted.

The runtime logs one line per job state change on the ``jobplug.worker`` logger::

    job started send_email id=5f0c... fails=0                                 (INFO)
    job succeeded send_email id=5f0c... duration=0.0123s                      (INFO)
    job discarded send_email id=5f0c... duration=0.0123s                      (INFO)
    job failed send_email id=5f0c... duration=0.01s fails=1 retry_at=... error=...  (INFO)
    job dead send_email id=5f0c... duration=0.01s fails=4 error=...           (WARNING)

(``dropped`` instead of ``dead`` for handlers with ``skip_dead``; a job that never ran, as
one whose handler is unknown, has no duration.)

:class:`JsonFormatter` writes each record as one JSON object and lifts those job lines
into fields (``event``, ``handler``, ``job_id``, ``duration``, ``fails``, ``retry_at``,
``error``), so a log pipeline can filter on them without parsing text. Both formatters
pass every line through :func:`jobplug.urls.redact`, so a URL with a password never
reaches the log. ``jobplug --log-format json ...`` selects the JSON form.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import IO, Any, Literal

from jobplug.job import Job
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
        fields["error"] = error["error"]
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


def configure(level: str = "INFO", fmt: LogFormat = "text", stream: IO[str] | None = None) -> None:
    """Log to ``stream`` (stderr) in ``fmt``, unless the root logger is already set up."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(fmt))
    logging.basicConfig(level=level.upper(), handlers=[handler])
