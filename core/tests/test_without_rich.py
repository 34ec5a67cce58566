"""rich is the ``cli`` extra: a producer never imports it, and every command still works
without it, in plain text."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

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


def test_only_the_console_module_imports_rich() -> None:
    # any other import of rich in core would break the commands of a core without [cli]
    src = Path(__file__).resolve().parents[1] / "src" / "jobplug"
    offenders = []
    for path in sorted(src.rglob("*.py")):
        if path == src / "cli" / "console.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(n == "rich" or n.startswith("rich.") for n in names):
                offenders.append(f"{path.relative_to(src)}:{node.lineno}")
    assert not offenders, f"import from jobplug.cli.console instead: {offenders}"
