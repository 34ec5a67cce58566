"""``jobplug certify``: end to end, as a user runs it (a subprocess, adapters found through
their entry points)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def certify(*args: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    paths = [str(HERE), *([str(extra_path)] if extra_path else []), os.environ.get("PYTHONPATH")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p), COLUMNS="160")
    return subprocess.run(
        [sys.executable, "-m", "jobplug", "certify", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def register_adapter(tmp_path: Path, scheme: str, target: str) -> Path:
    """Install an entry point the way a wheel would: a dist-info directory on the path."""
    dist = tmp_path / "jobplug_broken-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: jobplug-broken\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text(f"[jobplug.adapters]\n{scheme} = {target}\n")
    return tmp_path


def test_certify_memory_passes_and_prints_the_table() -> None:
    result = certify("memory://")
    assert result.returncode == 0, result.stdout + result.stderr
    for row in ("core", "delayed", "dead-letter", "unique", "pause", "inspect", "durable"):
        assert row in result.stdout
    assert "CERTIFIED" in result.stdout
    assert "FAIL" not in result.stdout


def test_certify_sqlite_example_passes(tmp_path: Path) -> None:
    result = certify(f"sqlite:///{tmp_path}/jobs.db")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SqliteBroker" in result.stdout
    assert "durable" in result.stdout and "CERTIFIED" in result.stdout
    assert "declared bounds: late_bound 1s (max 10s), redelivery_timeout 5s (max 120s)" in (
        result.stdout
    )
    assert list(tmp_path.iterdir()) == [], "per-test database files were not cleaned up"


def test_certify_broken_adapter_fails_and_names_the_failure(tmp_path: Path) -> None:
    site = register_adapter(tmp_path, "broken-twice", "broken_adapters:DeliversTwice")
    result = certify(
        "broken-twice://certify", "-k", "two_workers or args_round_trip", extra_path=site
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "jobplug-broken" in result.stdout
    assert "│ FAIL" in result.stdout
    assert "NOT CERTIFIED" in result.stderr
    assert "core: test_two_workers_never_run_one_job_twice failed" in result.stderr
    # -k: the capabilities it did not select are "not run", never failed or untested.
    assert "declared but no test of it passed" not in result.stderr
    assert "not run (-k)" in result.stdout
    assert result.stderr.count(" failed") == 1, result.stderr


def test_certify_without_a_registered_setup_says_what_was_not_certified(tmp_path: Path) -> None:
    site = register_adapter(tmp_path, "plainmem", "jobplug_memory:MemoryBroker")
    result = certify(
        "plainmem://certify", "-k", "malformed or unreachable or context_manager", extra_path=site
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert not [line for line in result.stdout.splitlines() if line.startswith("CERTIFIED")]
    assert "NOT CERTIFIED IN FULL" in result.stderr
    assert "no jobplug.contract setup is registered for scheme 'plainmem'" in result.stderr
    assert "test_malformed_payload_goes_dead_with_a_reason (needs the setup's inject_raw" in (
        result.stderr
    )
    assert "test_unreachable_broker_raises_connection_error_without_password (needs" in (
        result.stderr
    )
    assert "stores no raw payloads" not in result.stdout  # the old, misleading reason
    assert "INCOMPLETE" in result.stdout


def test_certify_unknown_scheme_is_a_clean_error() -> None:
    result = certify("nosuch://user:s3cret@host/0")
    assert result.returncode == 1
    assert "no jobplug adapter is installed for scheme 'nosuch'" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
