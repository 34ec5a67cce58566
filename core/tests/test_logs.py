"""Structured logging: JSON lines with job fields, redaction, and ``--log-format``."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from jobplug import Discard, Job, Worker
from jobplug.logs import JsonFormatter, formatter, job_fields
from jobplug_memory import MemoryBroker

SECRET_URL = "redis://app:s3cret@db.internal:6379/0"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The ``jobplug`` loggers' records, as JSON lines, in a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("jobplug")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield buffer
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def parse(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


async def test_each_job_state_change_is_one_json_line_with_fields(json_lines: io.StringIO) -> None:
    broker = MemoryBroker()
    worker = Worker(broker, load_plugins=False, fetch_timeout=0.05)
    worker.register("ok", lambda args: None)

    def broken(args: dict[str, Any]) -> None:
        raise RuntimeError("no route to host")

    def stale(args: dict[str, Any]) -> None:
        raise Discard("superseded")

    worker.register("broken", broken, max_fails=2, backoff=lambda job: 0.01)
    worker.register("stale", stale)
    worker.register("optional", broken, max_fails=1, skip_dead=True)
    ok, bad = Job("ok"), Job("broken")
    await worker.perform_many([ok, bad, Job("stale"), Job("optional")])
    async with worker:
        await broker.join(timeout=5, include_scheduled=True)

    lines = [line for line in parse(json_lines) if "event" in line]
    by_event = {(line["event"], line["handler"]): line for line in lines}
    events = {
        h: [line["event"] for line in lines if line["handler"] == h]
        for h in ("ok", "broken", "stale", "optional")
    }
    assert events == {
        "ok": ["started", "succeeded"],
        "broken": ["started", "failed", "started", "dead"],
        "stale": ["started", "discarded"],
        "optional": ["started", "dropped"],
    }, lines
    started = by_event["started", "ok"]
    assert started["level"] == "DEBUG" and started["job_id"] == ok.id and started["fails"] == 0
    done = by_event["succeeded", "ok"]
    assert done["level"] == "DEBUG" and done["logger"] == "jobplug.worker"
    assert done["job_id"] == ok.id and isinstance(done["duration"], float)
    failed = by_event["failed", "broken"]
    assert failed["level"] == "WARNING" and failed["job_id"] == bad.id and failed["fails"] == 1
    assert isinstance(failed["duration"], float)
    assert failed["error"] == "RuntimeError: no route to host" and "retry_at" in failed
    assert failed["traceback"].startswith("Traceback (most recent call last):")
    assert 'in broken\n    raise RuntimeError("no route to host")' in failed["traceback"]
    dead = by_event["dead", "broken"]
    assert dead["level"] == "ERROR" and dead["fails"] == 2
    assert isinstance(dead["duration"], float)
    assert dead["error"] == "RuntimeError: no route to host"
    assert dead["traceback"].endswith("RuntimeError: no route to host")
    assert by_event["discarded", "stale"]["level"] == "DEBUG"
    assert "traceback" not in by_event["discarded", "stale"]
    dropped = by_event["dropped", "optional"]
    assert dropped["level"] == "WARNING" and dropped["error"] == "RuntimeError: no route to host"
    [summary] = [line for line in parse(json_lines) if line["message"].startswith("worker stopped")]
    assert summary["level"] == "INFO"
    assert summary["message"] == (
        "worker stopped: 1 succeeded, 1 discarded, 1 failed, 1 dead, 1 dropped"
    )


def test_job_fields_ignore_other_messages() -> None:
    assert job_fields("worker started on memory:// handlers=a") == {}
    assert job_fields("job discarded x id=abc duration=0.5000s") == {
        "event": "discarded",
        "handler": "x",
        "job_id": "abc",
        "duration": 0.5,
    }
    fields = job_fields("job dead x id=abc fails=4 error=ValueError: a=b fails=9\nline 2")
    assert fields["fails"] == 4 and fields["error"] == "ValueError: a=b fails=9\nline 2"
    fields = job_fields("job failed x id=abc duration=0.2500s fails=1 retry_at=2030-01-01 error=e")
    assert fields["duration"] == 0.25 and fields["fails"] == 1 and fields["error"] == "e"


def record(message: str, *args: Any, **extra: Any) -> logging.LogRecord:
    rec = logging.LogRecord("app", logging.ERROR, __file__, 1, message, args, None)
    rec.__dict__.update(extra)
    return rec


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_passwords_are_redacted_everywhere(fmt: Any) -> None:
    try:
        raise ConnectionError(f"cannot reach {SECRET_URL}")
    except ConnectionError:
        rec = record("connecting to %s", SECRET_URL, target=SECRET_URL)
        rec.exc_info = sys.exc_info()
    out = formatter(fmt).format(rec)
    assert "s3cret" not in out
    assert "redis://app:***@db.internal:6379/0" in out
    if fmt == "json":
        data = json.loads(out)
        assert data["target"] == "redis://app:***@db.internal:6379/0"
        assert "ConnectionError" in data["exc"]


def test_extras_and_a_job_become_fields() -> None:
    job = Job("send_email")
    data = json.loads(JsonFormatter().format(record("sending", job=job, attempt=2)))
    assert data["handler"] == "send_email" and data["job_id"] == job.id
    assert data["attempt"] == 2 and data["message"] == "sending"
    with pytest.raises(ValueError, match="text, json"):
        formatter("xml")  # type: ignore[arg-type]


APP = f"""
import asyncio, logging, os, signal
import jobplug

logging.getLogger("app").info("connecting to {SECRET_URL}")
worker = jobplug.Worker(url="memory://")

@worker.handler("ping")
async def ping(args):
    asyncio.get_running_loop().call_later(0.01, os.kill, os.getpid(), signal.SIGTERM)

class EnqueueOnStart:
    @jobplug.hookimpl
    def jobplug_worker_started(self, worker):
        asyncio.get_running_loop().create_task(worker.perform(jobplug.Job("ping")))

worker.plugin_manager.register(EnqueueOnStart())
"""


def run_cli(jobplug_process: Any, *options: str, env: dict[str, str] | None = None) -> str:
    done = jobplug_process(
        APP, *options, "worker", "jobapp:worker", env={**os.environ, **(env or {})}
    )
    assert done.returncode == 0, done.stderr
    assert "s3cret" not in done.stderr
    return done.stderr


def test_cli_log_format_json(jobplug_process: Any) -> None:
    out = run_cli(jobplug_process, "--log-format", "json", "--log-level", "debug")
    lines = [json.loads(line) for line in out.splitlines()]
    messages = [line["message"] for line in lines]
    assert "connecting to redis://app:***@db.internal:6379/0" in messages
    job = next(line for line in lines if line.get("event") == "succeeded")
    assert job["handler"] == "ping" and len(job["job_id"]) == 24 and job["duration"] >= 0
    assert any(m.startswith("worker started") for m in messages)
    assert any(m.startswith("worker stopped") for m in messages)
    # a memory:// worker's warning is a log line too, so stderr stays JSON
    (warning,) = [line for line in lines if line["logger"] == "jobplug.cli"]
    assert warning["level"] == "WARNING" and "will NOT reach it" in warning["message"]


def test_cli_log_format_from_the_environment_and_text_default(jobplug_process: Any) -> None:
    out = run_cli(jobplug_process, env={"JOBPLUG_LOG_FORMAT": "json"})
    assert all(line.startswith("{") for line in out.splitlines())
    out = run_cli(jobplug_process, env={"JOBPLUG_LOG_FORMAT": "text"})
    assert "job succeeded" not in out  # DEBUG: the INFO level sums up instead
    assert "INFO jobplug.worker: worker stopped: 1 succeeded" in out
    assert "WARNING jobplug.cli: this worker runs on memory://" in out
    assert "connecting to redis://app:***@db.internal:6379/0" in out
    out = run_cli(jobplug_process, env={"JOBPLUG_LOG_LEVEL": "debug"})
    assert "DEBUG jobplug.worker: job succeeded ping id=" in out


async def test_a_running_worker_sums_up_its_jobs_at_info() -> None:
    broker = MemoryBroker()
    worker = Worker(broker, load_plugins=False, fetch_timeout=0.05, summary_interval=0.05)
    worker.register("ok", lambda args: None)
    worker.register("bad", lambda args: 1 / 0, max_fails=1)
    summaries: list[str] = []
    total = asyncio.Event()

    class Summaries(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("jobs in the last 0.05s: "):
                summaries.append(record.levelname + " " + record.getMessage())
                said = "".join(summaries)
                succeeded = sum(int(n) for n in re.findall(r"(\d+) succeeded", said))
                if succeeded == 3 and "1 dead" in said:
                    total.set()

    logger = logging.getLogger("jobplug.worker")
    handler, old_level = Summaries(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        async with worker:
            await worker.perform_many([Job("ok"), Job("ok"), Job("bad"), Job("ok")])
            await asyncio.wait_for(total.wait(), 5)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert all(line.startswith("INFO jobs in the last 0.05s: ") for line in summaries)
