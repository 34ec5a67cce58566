"""What the dashboard's routes share: the broker, its inspector, and call wrappers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from starlette.requests import Request

from jobplug.broker import Broker
from jobplug.errors import CapabilityNotSupported
from jobplug.inspect import Inspector

T = TypeVar("T")


@dataclass
class UIState:
    broker: Broker
    owns_broker: bool
    refresh_seconds: float
    _inspector: Inspector | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def inspector(self) -> Inspector:
        """The broker's inspector, connecting first; CapabilityNotSupported if it has none."""
        if self._inspector is None:
            async with self._lock:
                if self._inspector is None:
                    inspector = self.broker.inspector()  # raises when inspect is undeclared
                    await self.broker.connect()
                    self._inspector = inspector
        return self._inspector

    async def run(self, action: Callable[[Inspector], Awaitable[T]]) -> T:
        return await action(await self.inspector())

    async def optional(self, action: Callable[[Inspector], Awaitable[T]]) -> T | None:
        """``action``'s result, or None where the backend cannot do it."""
        try:
            return await self.run(action)
        except CapabilityNotSupported:
            return None


def ui_state(request: Request) -> UIState:
    state: UIState = request.app.state.ui
    return state


def mount_prefix(request: Request) -> str:
    """Where the dashboard is mounted (``/jobs`` inside another app, ``""`` at the root):
    every URL it writes into a page or a redirect starts with it."""
    return str(request.scope.get("root_path", "")).rstrip("/")
