"""``jobplug worker``: finding the Worker, choosing its backend, options from the
environment. ``Worker.run`` is replaced by a recorder, so nothing blocks on signals."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import jobplug
from jobplug.cli import cli

RunWorker = Callable[..., tuple[Result, "jobplug.Worker | None"]]


@pytest.fixture
def run_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunWorker]:
    """``run_worker(source, *args, **env)``: write ``source`` as a fresh module, run
    ``jobplug worker <module><args>`` in this process; return the result and the Worker
    that would have run (None if it never got there)."""
    monkeypatch.chdir(tmp_path)
    ran: list[jobplug.Worker] = []
    monkeypatch.setattr(jobplug.Worker, "run", lambda self, loop=None: ran.append(self))
    root = logging.getLogger()
    level = root.level

    def run(source: str, *args: str, **env: str | None) -> tuple[Result, jobplug.Worker | None]:
        name = f"wapp_{uuid.uuid4().hex[:10]}"
        (tmp_path / f"{name}.py").write_text(source)
        argv = [a.replace("APP", name) for a in args]
        result = CliRunner().invoke(
            cli, ["worker", *argv], env={"WORKER_URL": None, "COLUMNS": "200", **env}
        )
        return result, (ran.pop() if ran else None)

    yield run
    root.setLevel(level)


ONE = "import jobplug\nworker = jobplug.connect()\nworker.register('h', print)\n"


def test_a_bare_module_finds_its_one_worker(run_worker: RunWorker) -> None:
    # Also under a second name: still one Worker.
    result, ran = run_worker(ONE + "alias = worker\n", "APP")
    assert result.exit_code == 0, result.output
    assert ran is not None and "h" in ran.handlers


def test_a_bare_module_with_several_workers_lists_them(run_worker: RunWorker) -> None:
    source = ONE + "other = jobplug.connect()\n"
    result, ran = run_worker(source, "APP")
    assert result.exit_code == 1 and ran is None
    assert "several jobplug.Worker instances (other, worker)" in result.stderr
    assert ":other" in result.stderr


def test_a_bare_module_without_a_worker_suggests_module_colon_attribute(
    run_worker: RunWorker,
) -> None:
    result, ran = run_worker("x = 1\n", "APP")
    assert result.exit_code == 1 and ran is None
    assert "has no jobplug.Worker instance" in result.stderr
    assert ":attribute" in result.stderr


def test_memory_without_worker_url_warns_that_other_processes_cannot_reach_it(
    run_worker: RunWorker, caplog: pytest.LogCaptureFixture
) -> None:
    result, ran = run_worker(ONE, "APP:worker")
    assert result.exit_code == 0 and ran is not None
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    text = warning.getMessage()
    assert text.startswith("this worker runs on memory://")
    assert "WORKER_URL is not set" in text
    assert "jobs enqueued by other processes will NOT reach it" in text
    assert "--url" in text


def test_a_shared_backend_gets_no_warning(
    run_worker: RunWorker, redis_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{redis_server}/0?namespace=t{uuid.uuid4().hex[:12]}"
    result, ran = run_worker(ONE, "APP:worker", WORKER_URL=url)
    assert result.exit_code == 0 and ran is not None
    assert ran.broker.url == url
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_url_option_the_app_ignores_is_refused(run_worker: RunWorker, redis_server: str) -> None:
    source = "import jobplug\nworker = jobplug.connect('memory://')\nworker.register('h', print)\n"
    url = f"redis://user:secret@127.0.0.1:6379/0?namespace=t{uuid.uuid4().hex[:12]}"
    result, ran = run_worker(source, "APP:worker", "--url", url)
    assert result.exit_code == 1 and ran is None
    assert "--url redis://user:***@127.0.0.1" in result.stderr
    assert "uses memory://" in result.stderr and "drop --url" in result.stderr
    assert "secret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_url_option_picks_the_backend_of_an_app_that_calls_connect(
    run_worker: RunWorker, redis_server: str
) -> None:
    url = f"{redis_server}/0?namespace=t{uuid.uuid4().hex[:12]}"
    result, ran = run_worker(ONE, "APP:worker", "--url", url)
    assert result.exit_code == 0, result.output
    assert ran is not None and ran.broker.url == url


def test_concurrency_and_grace_come_from_the_environment_and_flags_win(
    run_worker: RunWorker,
) -> None:
    env = {"JOBPLUG_CONCURRENCY": "7", "JOBPLUG_GRACE": "2.5"}
    result, ran = run_worker(ONE, "APP:worker", **env)
    assert result.exit_code == 0, result.output
    assert ran is not None and (ran.concurrency, ran.grace) == (7, 2.5)
    result, ran = run_worker(ONE, "APP:worker", "-c", "3", "--grace", "1", **env)
    assert ran is not None and (ran.concurrency, ran.grace) == (3, 1.0)
    bad, _ = run_worker(ONE, "APP:worker", JOBPLUG_CONCURRENCY="zero")
    assert bad.exit_code == 2 and "'zero' is not a valid integer" in bad.stderr


def test_help_names_the_environment_variables() -> None:
    result = CliRunner().invoke(cli, ["worker", "--help"], env={"COLUMNS": "200"})
    for var in ("JOBPLUG_CONCURRENCY", "JOBPLUG_GRACE", "WORKER_URL", "JOBPLUG_METRICS_PORT"):
        assert var in result.output, var


def test_log_level_is_accepted_after_the_command(run_worker: RunWorker) -> None:
    result, ran = run_worker(ONE, "APP:worker", "--log-level", "DEBUG")
    assert result.exit_code == 0, result.output
    assert ran is not None and logging.getLogger().level == logging.DEBUG
    bad, ran = run_worker(ONE, "APP:worker", "--log-level", "LOUD")
    assert bad.exit_code == 2 and ran is None and "LOUD" in bad.stderr


def test_log_level_after_a_nested_command() -> None:
    root = logging.getLogger()
    level = root.level
    try:
        result = CliRunner().invoke(
            cli, ["inspect", "queues", "--url", "memory://", "--log-level", "DEBUG"]
        )
        assert result.exit_code == 0, result.output
        assert root.level == logging.DEBUG
    finally:
        root.setLevel(level)


def test_worker_url_the_app_ignores_is_warned_about(
    run_worker: RunWorker, caplog: pytest.LogCaptureFixture
) -> None:
    source = "import jobplug\nworker = jobplug.connect('memory://')\nworker.register('h', print)\n"
    url = "redis://user:secret@127.0.0.1:6379/0?namespace=elsewhere"
    result, ran = run_worker(source, "APP:worker", WORKER_URL=url)
    assert result.exit_code == 0 and ran is not None  # $WORKER_URL may be set for others
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("$WORKER_URL is redis://user:***@" in m and "uses memory://" in m for m in messages)
    assert not any("secret" in m for m in messages)
