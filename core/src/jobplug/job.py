"""The :class:`Job` type, its args check, and the portable JSON form brokers may use.

The portable form uses gocraft/work's field names (``name``, ``id``, ``t``, ``args``,
``fails``, ``err``, ``failed_at``) so one vocabulary serves every backend; the Redis
adapter adds gocraft's exact byte layout on top. One field is jobplug's own:
``err_traceback``, the (bounded) traceback of the last failure, next to ``err`` (which
keeps the one-line message gocraft shows); Go's decoder skips a field it does not know.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from jobplug.errors import InvalidArgsError, MalformedJobError

#: A job's args: a JSON object.
Args = dict[str, Any]

#: Fields of the portable form that map to Job attributes; anything else is ``meta``.
_KNOWN = frozenset(
    {"name", "id", "t", "args", "queue", "fails", "err", "err_traceback", "failed_at"}
)


#: Why a payload nested deeper than the JSON parser's recursion limit is malformed.
TOO_DEEP = "payload is not JSON a worker can read: nested too deeply"

#: One encoder for every job: json.dumps with options builds a new JSONEncoder per call.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def new_job_id() -> str:
    """24 lowercase hex characters from the OS's CSPRNG, as gocraft/work makes them."""
    return os.urandom(12).hex()  # what secrets.token_hex(12) does, minus two calls


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


@dataclass
class Job:
    """A unit of work: which handler to run, with which JSON args.

    ``queue`` is a label carried with the job (as in Buffalo's ``worker.Job``); delivery is
    routed by ``handler``. ``fails``, ``last_error``, ``last_traceback`` (the end of the
    last failure's traceback, when there was one) and ``failed_at`` are kept by the
    runtime across retries. ``meta`` holds extra JSON fields (trace context, for
    instance) that travel with the job and that other implementations ignore.
    """

    handler: str
    args: Args = field(default_factory=dict)
    queue: str = "default"
    id: str = field(default_factory=new_job_id)
    enqueued_at: datetime = field(default_factory=utcnow)
    fails: int = 0
    last_error: str | None = None
    failed_at: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    last_traceback: str | None = None

    def clear_failure(self) -> None:
        """Forget past failures (a dead job retried by an operator starts afresh)."""
        self.fails, self.last_error, self.failed_at, self.last_traceback = 0, None, None, None

    def validate(self) -> None:
        """Raise :class:`InvalidArgsError` unless this job can be written as JSON."""
        if not isinstance(self.handler, str) or not self.handler:
            raise InvalidArgsError(f"job handler must be a non-empty string, got {self.handler!r}")
        check_args(self.args)
        check_json(self.meta, "meta")

    def to_dict(self) -> dict[str, Any]:
        """The portable JSON form (gocraft field names, optional fields omitted)."""
        out: dict[str, Any] = {
            "name": self.handler,
            "id": self.id,
            "t": int(self.enqueued_at.timestamp()),
            "args": self.args,
        }
        if self.queue != "default":
            out["queue"] = self.queue
        if self.fails:
            out["fails"] = self.fails
        if self.last_error:
            out["err"] = self.last_error
        if self.failed_at is not None:
            out["failed_at"] = int(self.failed_at.timestamp())
        if self.last_traceback:
            out["err_traceback"] = self.last_traceback
        out.update(self.meta)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Job:
        """Build a job from its portable form; :class:`MalformedJobError` says what is wrong."""
        if not isinstance(data, dict):
            raise MalformedJobError(f"job payload must be a JSON object, got {type(data).__name__}")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise MalformedJobError("job payload has no 'name'")
        args = data.get("args")
        if args is None or args == []:  # Go writes null for nil args; Lua cjson turns {} into []
            args = {}
        if not isinstance(args, dict):
            raise MalformedJobError(f"job 'args' must be a JSON object, got {type(args).__name__}")
        try:
            fails = int(data.get("fails") or 0)
            t = data.get("t")
            enqueued_at = _from_epoch(t) if t is not None else utcnow()
            failed = data.get("failed_at")
            failed_at = _from_epoch(failed) if failed else None
        except (TypeError, ValueError, OverflowError) as exc:
            raise MalformedJobError(f"job payload has a bad number: {exc}") from None
        job_id = data.get("id")
        return cls(
            handler=name,
            args=args,
            queue=str(data.get("queue") or "default"),
            id=job_id if isinstance(job_id, str) and job_id else new_job_id(),
            enqueued_at=enqueued_at,
            fails=fails,
            last_error=data.get("err") or None,
            failed_at=failed_at,
            meta={k: v for k, v in data.items() if k not in _KNOWN},
            last_traceback=_text(data.get("err_traceback")),
        )

    def encode(self) -> bytes:
        """Compact UTF-8 JSON of :meth:`to_dict`."""
        return _encode(self.to_dict()).encode()

    @classmethod
    def decode(cls, payload: bytes | str) -> Job:
        """Parse :meth:`encode`'s output (or gocraft's); :class:`MalformedJobError` if not a job."""
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedJobError(f"payload is not JSON: {exc}") from None
        except RecursionError:
            raise MalformedJobError(TOO_DEEP) from None
        return cls.from_dict(data)


def _text(value: Any) -> str | None:
    if not value:
        return None
    return value if isinstance(value, str) else str(value)


def _from_epoch(value: Any) -> datetime:
    return datetime.fromtimestamp(float(value), timezone.utc)


def check_args(args: Any) -> None:
    """Raise :class:`InvalidArgsError` unless ``args`` is a JSON object of JSON values.

    The message names the offending key path and type, e.g. ``args['user']['at']``.
    """
    if not isinstance(args, dict):
        raise InvalidArgsError(
            f"job args must be a dict (a JSON object), got {type(args).__name__}"
        )
    check_json(args, "args")


def check_json(value: Any, path: str) -> None:
    """Walk ``value``; raise :class:`InvalidArgsError` at the first non-JSON part."""
    try:
        if _is_json(value):
            return
        _find_non_json(value, path)
    except RecursionError:
        raise InvalidArgsError(f"{path} is nested too deeply to be a job's JSON") from None


_SCALARS = (bool, int, type(None))


def _utf8_ok(text: str) -> bool:
    """False for text with lone surrogates (from ``surrogateescape``, or a JSON escape such
    as ``"\\udc80"``): UTF-8 cannot carry them, so no backend could store the job."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _is_json(value: Any) -> bool:
    """The common case, fast: no key paths are built unless something is wrong."""
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, str):
        return _utf8_ok(value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or _utf8_ok(key)):
                return False
            if (type(item) is str and item.isascii()) or isinstance(item, _SCALARS):
                continue
            if not _is_json(item):
                return False
        return True
    if isinstance(value, (list, tuple)):
        return all(
            (type(item) is str and item.isascii()) or isinstance(item, _SCALARS) or _is_json(item)
            for item in value
        )
    return False


_SURROGATES = "holds a lone surrogate (invalid Unicode), which UTF-8 cannot encode"


def _find_non_json(value: Any, path: str) -> None:
    if isinstance(value, str):
        if not _utf8_ok(value):
            raise InvalidArgsError(f"{path} {_SURROGATES}")
        return
    if value is None or isinstance(value, (bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgsError(f"{path} is {value!r}, which JSON cannot represent")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgsError(
                    f"{path} has a key {key!r} of type {type(key).__name__}; JSON keys are strings"
                )
            if not _utf8_ok(key):
                raise InvalidArgsError(f"a key of {path} {_SURROGATES}")
            _find_non_json(item, f"{path}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _find_non_json(item, f"{path}[{index}]")
        return
    raise InvalidArgsError(
        f"{path} is of type {type(value).__name__}, which is not JSON-serialisable"
    )
