from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import jobplug
from jobplug_memory import MemoryBroker


@pytest.fixture
async def worker() -> AsyncIterator[jobplug.Worker]:
    """A memory worker without entry-point plugins; stopped after the test."""
    w = jobplug.Worker(MemoryBroker(), concurrency=4, load_plugins=False, grace=5)
    yield w
    await w.stop()


def memory(w: jobplug.Worker) -> MemoryBroker:
    assert isinstance(w.broker, MemoryBroker)
    return w.broker
