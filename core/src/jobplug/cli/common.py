"""Helpers shared by CLI commands: clean errors, durations, importing a worker."""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import ModuleType
from typing import Any, TypeVar

import click

from jobplug.errors import InvalidScheduleError, JobplugError
from jobplug.urls import redact

T = TypeVar("T")

_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


#: Drivers that log their own reconnect attempts: in a one-shot command that chatter
#: would bury the command's one-line error, which already says what failed.
_DRIVER_LOGGERS = ("aiormq", "aio_pika")


@contextmanager
def clean_errors(one_shot: bool = True) -> Iterator[None]:
    """Turn jobplug errors into one redacted line and exit status 1, without a traceback;
    in a ``one_shot`` command (not a worker) the drivers' reconnect logging is silenced."""
    loggers = [logging.getLogger(name) for name in _DRIVER_LOGGERS] if one_shot else []
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    except JobplugError as exc:
        raise click.ClickException(redact(f"{type(exc).__name__}: {exc}")) from None
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def parse_duration(text: str) -> float:
    """``5``, ``5s``, ``250ms``, ``2m``, ``1.5h``, ``1d`` -> seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise click.BadParameter(f"{text!r} is not a duration like 30s, 250ms, 5m, 2h, 1d")
    return float(match["n"]) * _UNITS[match["unit"]]


def parse_iso_time(text: str, option: str, expected: str = "an ISO 8601 time") -> datetime:
    """An aware datetime from ``text`` (ISO 8601, ``Z`` allowed); ``InvalidScheduleError``
    naming ``option`` if it is not one (``expected`` says what would be) or has no offset."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidScheduleError(f"{option} {text!r} is not {expected}") from None
    if when.tzinfo is None:
        raise InvalidScheduleError(f"{option} {text!r} has no UTC offset (add Z or +02:00)")
    return when


def import_object(target: str) -> Any:
    """Import ``module:attr`` (``module.sub:obj.attr`` allowed) from the current directory too."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise click.BadParameter(f"expected module:attribute, got {target!r}")
    obj: Any = import_module(module_name)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise click.ClickException(
                f"module {module_name!r} has no attribute {attr!r}"
            ) from None
    return obj


def import_module(module_name: str) -> ModuleType:
    """Import ``module_name`` from the current directory too; a clean error if it is missing
    (a module that exists but fails to import raises as it did, with its traceback)."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise click.ClickException(f"cannot import module {module_name!r}: {exc}") from None
        raise


def run_async(func: Callable[[], Any]) -> Any:
    import asyncio

    return asyncio.run(func())
