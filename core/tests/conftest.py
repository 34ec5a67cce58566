from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

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


JobplugRun = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def jobplug_process(tmp_path: Path) -> JobplugRun:
    """``jobplug_process(app_source, *cli_args, env=None)``: write the module ``jobapp``
    (``jobapp:worker``) into a temp dir and run ``python -m jobplug *cli_args`` there, in a
    real process; ``env`` replaces the environment (default: this one)."""

    def run(
        source: str, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        (tmp_path / "jobapp.py").write_text(textwrap.dedent(source))
        return subprocess.run(
            [sys.executable, "-m", "jobplug", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ if env is None else env),
        )

    return run
