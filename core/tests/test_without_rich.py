"""rich is the ``cli`` extra: a producer never imports it, and every command still works
without it, in plain text."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires

from packaging.requirements import Requirement


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


#: Runs first in the child: ``import rich`` then fails as if rich were not installed.
NO_RICH = "import sys; sys.modules['rich'] = None\n"


def test_core_requires_rich_only_for_the_cli_extra() -> None:
    for line in requires("jobplug-core") or []:
        req = Requirement(line)
        if req.name in {"rich", "pygments"}:
            assert req.marker is not None and req.marker.evaluate({"extra": "cli"})
            assert not req.marker.evaluate({"extra": ""}), f"{line} is required without [cli]"


def test_a_producer_does_not_import_rich() -> None:
    code = (
        "import asyncio, sys\n"
        "import jobplug\n"
        "worker = jobplug.connect('memory://')\n"
        "asyncio.run(worker.perform(jobplug.Job('send_email', {'to': 'a@example.com'})))\n"
        "print(sorted(m for m in ('rich', 'pygments') if m in sys.modules))\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_demo_runs_without_rich() -> None:
    result = run_python(NO_RICH + "from jobplug.cli import main\nmain(['demo', '--jobs', '60'])")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "jobs: 60/60" in out
    assert "jobplug demo: results" in out
    total = next(line for line in out.splitlines() if line.startswith("total"))
    done, _retried, dead = (int(n) for n in total.split()[1:])
    assert (done, dead) == (59, 1)  # the one broken_report of 60 jobs ends dead
    assert "[bold]" not in out


def test_adapters_lists_without_rich() -> None:
    result = run_python(NO_RICH + "from jobplug.cli import main\nmain(['adapters'])")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Installed jobplug adapters"
    assert lines[1].split() == ["scheme", "distribution", "version", "capabilities"]
    assert any(line.startswith("memory ") and "jobplug-memory" in line for line in lines)
