"""gocraft/work's job JSON, byte for byte, and a tolerant reader.

Go's ``json.Marshal`` of a ``work.Job`` writes the fields in struct order (``name, id, t,
args, unique, unique_key, fails, err, failed_at``), compact, with map keys sorted, ``<``,
``>``, ``&``, U+2028 and U+2029 escaped as ``\\u003c``..., other control characters as
``\\u00XX`` (except ``\\n``, ``\\r``, ``\\t``) and float64 numbers in Go's shortest form
(``1.0`` -> ``1``, ``1e21`` -> ``1e+21``, ``1e-7`` -> ``1e-7``). :func:`go_json` reproduces
that for any JSON value; :func:`encode_job` lays out a job. Reading accepts anything Go or
Redis's Lua ``cjson`` writes (any key order, ``\\/``, float ``t``, ``[]`` for ``{}``).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from jobplug.adapter import Job, utcnow
from jobplug.errors import MalformedJobError

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
_str = json.JSONEncoder(ensure_ascii=False).encode
_HTML = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
# Python writes \b and \f; Go (as of the 1.19 toolchain gocraft was checked with) \u0008, \u000c.
_ESCAPE = re.compile(r"\\(.)")
_SURROGATE = re.compile("[\ud800-\udfff]")

#: Marks a job whose args were JSON ``null`` (Go's nil args), so re-encoding keeps ``null``.
ARGS_NULL = "args_null"


def go_float(value: float) -> str:
    """A float64 as Go's encoding/json writes it."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{value!r} is not representable in JSON")
    text = repr(value)
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = text.partition("e")
        if not exponent:  # repr chose fixed notation; Go wants exponent form here
            text = f"{Decimal(text):e}"
            mantissa, _, exponent = text.partition("e")
        sign = exponent[0] if exponent[0] in "+-" else "+"
        digits = exponent.lstrip("+-").lstrip("0") or "0"
        if len(digits) < 2 and sign == "+":
            digits = "0" + digits  # Go keeps two exponent digits, except after "-0"
        return f"{mantissa}e{sign}{digits}"
    return format(Decimal(text).normalize(), "f")


def _fix_escapes(text: str) -> str:
    # Substring tests run in C without building anything: most jobs have none of these.
    if "<" in text or ">" in text or "&" in text or "\u2028" in text or "\u2029" in text:
        text = text.translate(_HTML)
    if "\\b" in text or "\\f" in text:
        text = _ESCAPE.sub(_go_escape, text)
    return text


def _go_escape(match: re.Match[str]) -> str:
    char = match.group(1)
    if char == "b":
        return "\\u0008"
    if char == "f":
        return "\\u000c"
    return match.group(0)


_NOT_FLOAT = (str, int, type(None))  # bool is an int


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, (list, tuple)):
        return False
    for item in value:  # noqa: SIM110 (a loop is faster than any(<genexpr>) here)
        if not isinstance(item, _NOT_FLOAT) and _has_float(item):
            return True
    return False


def _encode_slow(value: Any, out: list[str]) -> None:
    if isinstance(value, float):
        out.append(go_float(value))
    elif isinstance(value, dict):
        out.append("{")
        for index, key in enumerate(sorted(value)):
            if index:
                out.append(",")
            out.append(_str(key))
            out.append(":")
            _encode_slow(value[key], out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode_slow(item, out)
        out.append("]")
    else:
        out.append(_dumps(value))


def _go_json_raw(value: Any) -> str:
    if _has_float(value):
        out: list[str] = []
        _encode_slow(value, out)
        return "".join(out)
    return _dumps(value)


def go_json(value: Any) -> str:
    """Compact JSON of ``value`` exactly as Go's encoding/json writes it."""
    return _fix_escapes(_go_json_raw(value))


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:  # lone surrogates: Go writes U+FFFD for invalid text
        return _SURROGATE.sub("\ufffd", text).encode()


def encode_fields(
    name: str,
    job_id: str,
    t: int,
    args: Any,
    *,
    unique: bool = False,
    unique_key: str = "",
    fails: int = 0,
    err: str = "",
    failed_at: int = 0,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """A job's JSON in gocraft's field order; ``extra`` fields (ignored by Go) go last."""
    parts = []
    if name:
        parts.append('"name":' + _str(name))
    parts.append('"id":' + _str(job_id))
    parts.append(f'"t":{int(t)}')
    parts.append('"args":' + ("null" if args is None else _go_json_raw(args)))
    if unique:
        parts.append('"unique":true')
    if unique_key:
        parts.append('"unique_key":' + _str(unique_key))
    if fails > 0:
        parts.append(f'"fails":{int(fails)}')
    if err:
        parts.append('"err":' + _str(err))
    if failed_at > 0:
        parts.append(f'"failed_at":{int(failed_at)}')
    if extra:
        for key, value in extra.items():
            parts.append(_str(key) + ":" + _go_json_raw(value))
    return _utf8(_fix_escapes("{" + ",".join(parts) + "}"))


def encode_job(job: Job, args_null: bool = False) -> bytes:
    """``job`` as gocraft writes it. ``meta`` carries ``unique``/``unique_key`` and extras."""
    meta = job.meta
    extra: dict[str, Any] | None = None
    if meta:
        extra = {k: v for k, v in meta.items() if k not in ("unique", "unique_key")}
    if job.queue != "default":
        extra = {"queue": job.queue, **(extra or {})}
    if job.last_traceback:  # jobplug's own field, after gocraft's: Go's decoder skips it
        extra = {**(extra or {}), "err_traceback": job.last_traceback}
    return encode_fields(
        job.handler,
        job.id,
        int(job.enqueued_at.timestamp()),
        None if args_null and not job.args else job.args,
        unique=bool(meta.get("unique")) if meta else False,
        unique_key=str(meta.get("unique_key") or "") if meta else "",
        fails=job.fails,
        err=job.last_error or "",
        failed_at=int(job.failed_at.timestamp()) if job.failed_at else 0,
        extra=extra or None,
    )


_loads = json.JSONDecoder().decode
_PLAIN = frozenset({"name", "id", "t", "args"})
_UTC = timezone.utc


def decode_job(raw: bytes | str) -> tuple[Job, bool]:
    """Parse a stored job; returns it and whether its args were ``null``.

    Raises :class:`MalformedJobError` saying what is wrong.
    """
    try:
        data = _loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJobError(f"payload is not JSON: {exc}") from None
    except RecursionError:
        Job.decode(raw)  # raises the MalformedJobError that says why
        raise
    if type(data) is not dict:
        raise MalformedJobError(f"job payload must be a JSON object, got {type(data).__name__}")
    args = data.get("args")
    name = data.get("name")
    job_id = data.get("id")
    t = data.get("t")
    # Fast path for what gocraft and jobplug write for a fresh job.
    if (
        type(args) is dict
        and type(name) is str
        and name
        and type(job_id) is str
        and job_id
        and type(t) is int
        and data.keys() <= _PLAIN
    ):
        try:
            when = datetime.fromtimestamp(t, _UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise MalformedJobError(f"job payload has a bad number: {exc}") from None
        return Job(name, args, id=job_id, enqueued_at=when), False
    return Job.from_dict(data), args is None


def unique_key(prefix: str, name: str, args: Any) -> str:
    """gocraft's unique marker key: ``<ns>unique:<name>:<json(args)>\\n`` (no JSON for nil)."""
    if args is None:
        return f"{prefix}unique:{name}:"
    return f"{prefix}unique:{name}:{go_json(args)}\n"


def malformed_record(
    name: str, job_id: str, raw: bytes, reason: str, now: int | None = None
) -> bytes:
    """A dead-set member for a payload that is not a job: readable by Go, raw text kept."""
    stamp = int(utcnow().timestamp()) if now is None else now
    text = raw.decode("utf-8", "replace")
    return encode_fields(
        name,
        job_id,
        stamp,
        None,
        err=f"malformed job payload: {reason}",
        failed_at=stamp,
        extra={"payload": text},
    )
