"""Catch what must never leave a broker: an exception that is not one of jobplug's.

Every broker a test builds is watched: its public coroutine methods are wrapped so that a
driver's exception escaping them (``sqlite3.OperationalError``, ``ConnectionResetError``...)
is recorded, whatever the test was looking at. The core worker only expects
``BrokerError`` from a broker; anything else ends its fetch loop silently, so the test
then fails by timing out, and the recorded escape is the message that names the defect.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from jobplug import Broker
from jobplug.errors import JobplugError

#: The Broker methods the core calls (and the optional ones a test may call).
WATCHED = (
    "connect",
    "close",
    "enqueue",
    "enqueue_unique",
    "subscribe",
    "fetch",
    "ack",
    "retry",
    "bury",
    "release",
    "unsubscribe",
    "pause",
    "unpause",
)

_MARK = "_jobplug_contract_escapes"


@dataclass(frozen=True)
class Escape:
    """One exception that left a broker method without being a jobplug error."""

    broker: str
    method: str
    error: BaseException

    def describe(self) -> str:
        kind = type(self.error)
        where = f"{self.broker}.{self.method}()"
        return f"{where} raised {kind.__module__}.{kind.__qualname__}: {self.error}"


def watch(broker: Broker, escapes: list[Escape], failures: list[str]) -> None:
    """Record in ``escapes`` every non-jobplug exception leaving ``broker``'s methods, and
    in ``failures`` the name of the method for every exception (jobplug's too).

    A broker instance shared by name (``memory://NAME``) is wrapped once.
    """
    if _MARK in vars(broker):
        return
    setattr(broker, _MARK, escapes)
    name = type(broker).__name__
    for method in WATCHED:
        bound = getattr(broker, method, None)
        if bound is not None:
            setattr(broker, method, _wrap(bound, name, method, escapes, failures))


def _wrap(
    bound: Callable[..., Awaitable[Any]],
    broker: str,
    method: str,
    escapes: list[Escape],
    failures: list[str],
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(bound)
    async def watched(*args: Any, **kwargs: Any) -> Any:
        try:
            return await bound(*args, **kwargs)
        except JobplugError:
            failures.append(method)
            raise
        except Exception as exc:
            failures.append(method)
            escapes.append(Escape(broker, method, exc))
            raise

    return watched


def escape_message(escapes: list[Escape]) -> str:
    first = escapes[0]
    more = f" (and {len(escapes) - 1} more)" if len(escapes) > 1 else ""
    return (
        f"a driver error left the broker: {first.describe()}{more}. Only jobplug errors may "
        "leave a broker: wrap it in BrokerError (BrokerConnectionError when the backend "
        "cannot be reached), with the driver's error as __cause__; the worker stops "
        "fetching on anything else"
    )
