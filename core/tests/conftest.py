from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from click.testing import CliRunner, Result

import jobplug
from jobplug.cli import cli
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


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the ``jobplug`` CLI in-process, with a terminal wide enough for whole rows."""
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "220", **(env or {})})


def row(output: str, text: str) -> str:
    """The first line of ``output`` that holds ``text``."""
    return next(line for line in output.splitlines() if text in line)
