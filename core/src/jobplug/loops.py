"""The event loop a worker process runs on.

``auto`` (the default) runs on uvloop when it is installed (``pip install
'jobplug[uvloop]'``), as uvicorn and taskiq do, and on the standard loop otherwise: a worker
spends much of its time in the loop's socket and callback machinery, which uvloop runs in C.
How much that buys depends on the backend and the machine (``bench/README.md`` has the
figures). ``asyncio`` and ``uvloop`` force one; ``JOBPLUG_LOOP`` or ``jobplug worker
--loop`` choose.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from jobplug.errors import ConfigurationError

LoopName = Literal["auto", "asyncio", "uvloop"]
LOOPS: tuple[LoopName, ...] = ("auto", "asyncio", "uvloop")
ENV_VAR = "JOBPLUG_LOOP"
T = TypeVar("T")


def resolve(name: str | None = None) -> Literal["asyncio", "uvloop"]:
    """The loop ``name`` (default ``$JOBPLUG_LOOP``, else ``auto``) stands for here."""
    name = name or os.environ.get(ENV_VAR) or "auto"
    if name not in LOOPS:
        raise ConfigurationError(f"unknown event loop {name!r}: choose auto, asyncio or uvloop")
    if name == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if name == "uvloop":
            raise ConfigurationError(
                "the uvloop event loop is not installed: pip install 'jobplug[uvloop]'"
            ) from None
        return "asyncio"
    return "uvloop"


def run(main: Callable[[], Coroutine[Any, Any, T]], loop: str | None = None) -> T:
    """Run ``main()`` to completion on the chosen loop (a fresh one, closed afterwards)."""
    if resolve(loop) == "uvloop":  # resolved first: a bad choice leaves no coroutine behind
        import uvloop

        return uvloop.run(main())
    return asyncio.run(main())
