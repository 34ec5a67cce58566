"""``jobplug bench``: the command runs end to end and its figures are sane."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points

import pytest
from click.testing import CliRunner

from jobplug.benchmark import percentile, summarize_latencies
from jobplug.cli.app import cli


def _bench(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["bench", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("{")]
    assert len(lines) == 1, result.output
    data: dict[str, object] = json.loads(lines[0])
    return data


def test_memory_json_figures() -> None:
    data = _bench("memory://", "--jobs", "300", "--batch", "100", "--latency-jobs", "25")
    assert data["adapter"] == "MemoryBroker"
    assert data["worker"] == "in-process"
    assert data["jobs"] == 300
    assert data["drain_jobs"] == 600
    for key in ("enqueue_single_per_s", "enqueue_batch_per_s", "drain_per_s"):
        assert isinstance(data[key], float) and data[key] > 0, key
    latency = data["latency_ms"]
    assert isinstance(latency, dict)
    assert latency["samples"] == 25
    assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert latency["max"] < 1000  # an idle in-process job starts well within a second


def test_memory_table_and_payload() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "memory://", "-n", "50", "--payload", "512", "--latency-jobs", "5"]
    )
    assert result.exit_code == 0, result.output
    for text in ("enqueue, one by one", "enqueue, batched", "drain, one worker process", "p99"):
        assert text in result.output
    assert "payload 512 B" in result.output


def test_bad_options_are_rejected() -> None:
    result = CliRunner().invoke(cli, ["bench", "memory://", "--jobs", "0"])
    assert result.exit_code != 0
    assert "--jobs" in result.output


def test_unknown_scheme_is_a_clear_error() -> None:
    result = CliRunner().invoke(cli, ["bench", "nosuch://x", "--jobs", "1"])
    assert result.exit_code != 0
    assert "nosuch" in result.output


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 90) == 90.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    summary = summarize_latencies([0.001, 0.002, 0.003])
    assert summary == {"p50": 2.0, "p90": 3.0, "p99": 3.0, "max": 3.0, "samples": 3}


def _has_scheme(scheme: str) -> bool:
    return any(ep.name == scheme for ep in entry_points(group="jobplug.adapters"))


@pytest.fixture
def redis_url(redis_server: str, namespace: str) -> Iterator[str]:
    if not _has_scheme("redis"):
        pytest.skip("the redis adapter is not installed")
    redis = pytest.importorskip("redis")
    yield f"{redis_server}/0?namespace={namespace}"
    client = redis.Redis.from_url(redis_server)
    keys = list(client.scan_iter(match=f"{namespace}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_redis_worker_process(redis_url: str) -> None:
    """A shared backend gets its worker in a separate process, which reports back."""
    data = _bench(redis_url, "--jobs", "200", "--latency-jobs", "10", "--timeout", "60")
    assert data["worker"] == "subprocess"
    assert data["drain_jobs"] == 400
    assert isinstance(data["drain_per_s"], float) and data["drain_per_s"] > 0
    assert data["latency_ms"]["samples"] == 10  # type: ignore[index]
    assert isinstance(data["worker_max_rss_mb"], float) and data["worker_max_rss_mb"] > 0


def test_single_phase_can_be_skipped() -> None:
    data = _bench("memory://", "--jobs", "120", "--single", "0", "--latency-jobs", "3")
    assert data["single_jobs"] == 0
    assert data["enqueue_single_per_s"] == 0.0
    assert data["drain_jobs"] == 120
    assert isinstance(data["drain_per_s"], float) and data["drain_per_s"] > 0


def _namespace_keys(redis_server: str, namespace: str) -> list[bytes]:
    import redis

    client = redis.Redis.from_url(redis_server)
    try:
        return list(client.scan_iter(match=f"{namespace}*"))
    finally:
        client.close()


def test_redis_run_leaves_no_key_behind(redis_url: str, redis_server: str, namespace: str) -> None:
    data = _bench(redis_url, "-n", "50", "--single", "0", "--latency-jobs", "3", "--timeout", "60")
    assert str(data["handler"]).startswith("jobplug_bench_")
    assert _namespace_keys(redis_server, namespace) == []


def test_redis_run_interrupted_leaves_no_key_behind(
    redis_url: str, redis_server: str, namespace: str
) -> None:
    # The latency phase would take a long time: Ctrl-C (SIGINT to the process group, as a
    # terminal sends it) arrives while the worker process serves the handler.
    args = ["bench", redis_url, "-n", "20", "--single", "0", "--latency-jobs", "1000000"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobplug", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("latency:"):
                break
        assert _namespace_keys(redis_server, namespace), "the run wrote nothing yet"
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0
    assert _namespace_keys(redis_server, namespace) == []
