from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from jobplug.cli import cli
from jobplug.cli.common import parse_duration


def _jobplug(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobplug.cli", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unknown_scheme_exits_non_zero_with_a_clear_error_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import jobplug\nworker = jobplug.connect()\nworker.register('h', print)\n"
    )
    result = _jobplug(["worker", "app:worker"], tmp_path, WORKER_URL="nope://user:secret@x")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "UnknownSchemeError" in result.stderr and "'nope'" in result.stderr
    assert "Installed schemes: " in result.stderr and "memory" in result.stderr
    assert "secret" not in result.stderr


def test_worker_target_errors_are_clear(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import jobplug\nworker = jobplug.connect()\nother = 3\n")
    cases = {
        "missing:worker": "cannot import module 'missing'",
        "app:nope": "has no attribute 'nope'",
        "app:other": "not a jobplug.Worker",
        "app:worker": "no registered handlers",
        "app": "no registered handlers",  # its one Worker was found
        "app:": "expected module:attribute",
    }
    for target, message in cases.items():
        result = _jobplug(["worker", target], tmp_path)
        assert result.returncode != 0 and message in result.stderr, (target, result.stderr)
        assert "Traceback" not in result.stderr


def test_enqueue_validates_and_prints_the_job_id() -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["enqueue", "send", "--args", '{"to": "a"}', "--in", "5m"])
    assert ok.exit_code == 0, ok.output
    assert len(ok.stdout.strip().splitlines()[-1]) == 24
    assert "keeps jobs in this process only" in ok.stderr
    bad_json = runner.invoke(cli, ["enqueue", "send", "--args", "{nope"])
    assert bad_json.exit_code == 2 and "not JSON" in bad_json.output
    not_object = runner.invoke(cli, ["enqueue", "send", "--args", "[1]"])
    assert not_object.exit_code == 1 and "must be a dict" in not_object.output
    naive = runner.invoke(cli, ["enqueue", "send", "--at", "2030-01-01T00:00:00"])
    assert naive.exit_code == 1 and "no UTC offset" in naive.output
    both = runner.invoke(cli, ["enqueue", "send", "--at", "2030-01-01T00:00:00Z", "--in", "1s"])
    assert both.exit_code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["enqueue", "send", "--in", "3000000d"], "past the year 9999"),
        (["enqueue", "send", "--at", "9999-12-31T23:59:59-12:00"], "past the year 9999"),
        (["--log-level", "verbose", "adapters"], "'verbose' is not one of 'debug', 'info'"),
        (["retry-dead", "abc", "--at", "1e300"], "is not a time before the year 9999"),
        (["retry-dead", "abc", "--at", "inf"], "is not a time before the year 9999"),
    ],
)
def test_out_of_range_input_is_a_one_line_error(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = _jobplug(args, tmp_path)
    assert result.returncode in (1, 2)
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert message in line, result.stderr


@pytest.mark.parametrize(
    ("text", "seconds"), [("5", 5), ("5s", 5), ("250ms", 0.25), ("2m", 120), ("1.5h", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_adapters_lists_memory_with_its_capabilities() -> None:
    result = CliRunner().invoke(cli, ["adapters"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "memory" in result.output and "jobplug-memory" in result.output
    assert "delayed" in result.output


def test_demo_runs_to_completion_and_prints_the_summary(tmp_path: Path) -> None:
    result = _jobplug(["demo", "--jobs", "120"], tmp_path, COLUMNS="120")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "jobplug demo: results" in out
    total = next(line for line in out.splitlines() if "total" in line)
    done, retried, dead = (int(x) for x in total.replace("│", " ").split()[1:4])
    # 120 jobs: 2 broken_report (fail twice: 1 retry, then dead), 5 flaky_webhook
    # (fail twice, succeed on the third try)
    assert (done, dead) == (118, 2)
    assert retried == 2 * 1 + 5 * 2
    assert "Traceback" not in result.stderr and "ERROR" not in result.stderr, result.stderr
