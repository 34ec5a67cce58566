"""Checking a job's JSON args against the field types of a dataclass handler parameter.

Understood: ``str``, ``int`` (not ``bool``), ``float`` (an int is accepted), ``bool``,
``None``, ``Any``, ``list[T]``, ``tuple[T, ...]``, ``dict[str, T]``, ``Optional``/unions,
``Literal``, enums (built from their value), nested dataclasses and TypedDicts (built
from JSON objects). Any other annotation (``datetime``, your own classes) is passed
through unchecked; use a pydantic model for those.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any, Literal, Union

#: JSON kinds by Python type, bool before int (a bool is an int).
_KINDS = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
    (dict, "an object"),
)
_SCALARS = {tp: kind for tp, kind in _KINDS if tp in (str, bool, int)}


class ArgTypeError(Exception):
    """A value does not fit its annotation; the message names where (``args['a'][0]``)."""


def load_dataclass(tp: type, data: Any, path: str = "args") -> Any:
    """Build dataclass ``tp`` from the JSON object ``data``, checking every field's type."""
    if not isinstance(data, dict):
        raise ArgTypeError(f"{path} must be an object for {tp.__name__}, got {_kind(data)}")
    names, required = _init_fields(tp)
    unknown = sorted(set(data) - names)
    if unknown:
        raise ArgTypeError(f"{path} has unexpected key(s) {', '.join(map(repr, unknown))}")
    missing = [name for name in required if name not in data]
    if missing:
        raise ArgTypeError(f"{path} is missing {', '.join(map(repr, missing))}")
    hints = _hints(tp)
    values = {
        name: check(value, hints.get(name, Any), f"{path}[{name!r}]")
        for name, value in data.items()
    }
    return tp(**values)


def check(value: Any, tp: Any, path: str) -> Any:
    """``value`` converted to ``tp`` where JSON needs it (float, tuple, enum, dataclass);
    :class:`ArgTypeError` if it does not fit."""
    if tp is Any or tp is object or isinstance(tp, (str, typing.ForwardRef, typing.TypeVar)):
        return value
    if tp is None or tp is type(None):
        return _expect(value is None, value, "null", path)
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return _union(value, typing.get_args(tp), path)
    if origin is Literal:
        allowed = typing.get_args(tp)
        return _expect(value in allowed, value, f"one of {list(allowed)!r}", path)
    if origin is typing.Annotated:
        return check(value, typing.get_args(tp)[0], path)
    if tp in (list, tuple) or origin in (list, tuple):
        return _sequence(value, tp, origin or tp, path)
    if tp is dict or origin is dict:
        _expect(isinstance(value, dict), value, "an object", path)
        item = (typing.get_args(tp) or (str, Any))[1]
        return {k: check(v, item, f"{path}[{k!r}]") for k, v in value.items()}
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(_expect(ok, value, "a number", path))
    if tp in _SCALARS:
        ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
        return _expect(ok, value, _SCALARS[tp], path)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return load_dataclass(tp, value, path)
    if typing.is_typeddict(tp):
        return _typeddict(value, tp, path)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            choices = [m.value for m in tp]
            raise ArgTypeError(f"{path} must be one of {choices!r}, got another value") from None
    return value  # not a type JSON can be checked against: the handler's business


def _union(value: Any, arms: tuple[Any, ...], path: str) -> Any:
    for arm in arms:
        try:
            return check(value, arm, path)
        except ArgTypeError:
            continue
    expected = " or ".join(_name(arm) for arm in arms)
    raise ArgTypeError(f"{path} must be {expected}, got {_kind(value)}")


def _sequence(value: Any, tp: Any, container: type, path: str) -> Any:
    _expect(isinstance(value, list), value, "an array", path)
    params = typing.get_args(tp)
    if container is tuple and params and params[-1] is not Ellipsis:
        if len(value) != len(params):
            raise ArgTypeError(f"{path} must have {len(params)} items, got {len(value)}")
        pairs = enumerate(zip(value, params, strict=True))
        return tuple(check(v, t, f"{path}[{i}]") for i, (v, t) in pairs)
    item = params[0] if params else Any
    items = [check(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    return tuple(items) if container is tuple else items


def _typeddict(value: Any, tp: Any, path: str) -> Any:
    _expect(isinstance(value, dict), value, "an object", path)
    missing = sorted(set(tp.__required_keys__) - set(value))
    if missing:
        raise ArgTypeError(f"{path} is missing {', '.join(map(repr, missing))}")
    hints = _hints(tp)
    unknown = sorted(set(value) - set(hints))
    if unknown:
        raise ArgTypeError(f"{path} has unexpected key(s) {', '.join(map(repr, unknown))}")
    return {k: check(v, hints[k], f"{path}[{k!r}]") for k, v in value.items()}


@functools.cache
def _init_fields(tp: type) -> tuple[frozenset[str], tuple[str, ...]]:
    """The names ``tp``'s constructor takes, and those without a default."""
    fields = [f for f in dataclasses.fields(tp) if f.init]
    required = tuple(
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    return frozenset(f.name for f in fields), required


@functools.cache  # per type, not per job: get_type_hints evaluates every annotation
def _hints(tp: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(tp)
    except Exception:  # a forward reference that does not resolve: leave those unchecked
        return {}


def _expect(ok: bool, value: Any, expected: str, path: str) -> Any:
    if not ok:
        raise ArgTypeError(f"{path} must be {expected}, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    """The JSON kind of ``value`` (never the value itself: args may be private)."""
    if value is None:
        return "null"
    return next((kind for tp, kind in _KINDS if isinstance(value, tp)), type(value).__name__)


def _name(tp: Any) -> str:
    if tp is None or tp is type(None):
        return "null"
    name = getattr(tp, "__name__", None)
    return name if isinstance(name, str) and typing.get_origin(tp) is None else str(tp)
