"""Handler registrations: options, typed args, and the retry backoff.

A handler is ``def`` or ``async def`` and takes the job's args (a JSON object). Annotating
that parameter with a dataclass, a TypedDict or a pydantic model gets the args validated
and converted first (a dataclass's field types as :mod:`jobplug.argtypes` says; a
TypedDict's keys; a pydantic model by pydantic); args that do not fit kill the job at
once with the reason (no retry can fix them). A handler may also take no parameter at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import random
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from jobplug.argtypes import ArgTypeError, load_dataclass
from jobplug.broker import HandlerSpec
from jobplug.errors import ConfigurationError
from jobplug.job import Args, Job

Handler = Callable[..., Any]
#: ``backoff(job) -> seconds`` until the next try; ``job.fails`` already counts this failure.
Backoff = Callable[[Job], "float | timedelta"]


def default_backoff(job: Job) -> float:
    """gocraft/work's backoff: ``fails⁴ + 15 + rand(0..29)·(fails+1)`` seconds."""
    fails = job.fails
    return float(fails**4 + 15 + random.randint(0, 29) * (fails + 1))


class ArgsMismatch(Exception):
    """The args do not fit the handler's annotated type: the job is dead at once."""


@dataclass(frozen=True)
class Registration:
    """A registered handler with its options and its args converter."""

    func: Handler
    spec: HandlerSpec
    backoff: Backoff
    is_async: bool
    convert: Callable[[Args], Any] | None  # None: the handler takes no parameter

    @property
    def name(self) -> str:
        return self.spec.name


def make_registration(name: str, func: Handler, options: dict[str, Any]) -> Registration:
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"handler name must be a non-empty string, got {name!r}")
    if not callable(func):
        raise ConfigurationError(f"handler for {name!r} is not callable: {func!r}")
    backoff = options.pop("backoff", None) or default_backoff
    allowed = {f.name for f in dataclasses.fields(HandlerSpec)} - {"name"}
    unknown = set(options) - allowed
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) for handler {name!r}: {', '.join(sorted(unknown))}; "
            f"known: backoff, {', '.join(sorted(allowed))}"
        )
    spec = HandlerSpec(name=name, **options)
    if spec.max_fails < 1:
        raise ConfigurationError(f"max_fails must be >= 1 for {name!r}, got {spec.max_fails}")
    if spec.priority < 1 or spec.priority > 100000:
        raise ConfigurationError(f"priority must be in 1..100000 for {name!r}, got {spec.priority}")
    if spec.max_concurrency < 0:
        raise ConfigurationError(f"max_concurrency must be >= 0 for {name!r}")
    return Registration(
        func=func,
        spec=spec,
        backoff=backoff,
        is_async=_is_async(func),
        convert=_converter(func),
    )


def _is_async(func: Handler) -> bool:
    target = func
    while isinstance(target, functools.partial):
        target = target.func
    call = getattr(target, "__call__", None)  # noqa: B004 - async callable objects
    return asyncio.iscoroutinefunction(target) or asyncio.iscoroutinefunction(call)


def _converter(func: Handler) -> Callable[[Args], Any] | None:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature: pass the dict
        return _identity
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if not positional:
        return None
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable forward references: no conversion
        hints = {}
    return _converter_for(hints.get(positional[0].name))


def _identity(args: Args) -> Any:
    return args


def _converter_for(tp: Any) -> Callable[[Args], Any]:
    if tp is None or tp is Any:
        return _identity
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return lambda args: _call_model(tp, args)
    if typing.is_typeddict(tp):
        return lambda args: _check_typeddict(tp, args)
    validate = getattr(tp, "model_validate", None)  # pydantic v2, without importing it
    if callable(validate):
        return lambda args: _call_validator(validate, tp, args)
    return _identity


def _call_model(tp: type, args: Args) -> Any:
    try:
        return load_dataclass(tp, args)
    except (ArgTypeError, TypeError, ValueError) as exc:  # TypeError/ValueError: __post_init__
        raise ArgsMismatch(f"args do not fit {tp.__name__}: {exc}") from None


def _call_validator(validate: Callable[[Args], Any], tp: type, args: Args) -> Any:
    try:
        return validate(args)
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise ArgsMismatch(f"args do not fit {tp.__name__}: {exc}") from None


def _check_typeddict(tp: Any, args: Args) -> Args:
    missing = sorted(set(tp.__required_keys__) - set(args))
    if missing:
        raise ArgsMismatch(f"args do not fit {tp.__name__}: missing {', '.join(missing)}")
    unknown = sorted(set(args) - set(tp.__required_keys__) - set(tp.__optional_keys__))
    if unknown:
        raise ArgsMismatch(f"args do not fit {tp.__name__}: unexpected {', '.join(unknown)}")
    return args


def seconds(delay: float | timedelta) -> float:
    return delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
