"""``jobplug new worker``: the generated handler and its test, run as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from jobplug.cli import cli
from jobplug.cli.new import snake_name


def generate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["new", "worker", *args])
    return result.exit_code, result.output


def run_pytest(cwd: Path) -> subprocess.CompletedProcess[str]:
    """pytest in a fresh interpreter, in ``cwd`` (outside this repository's configuration)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_generated_worker_test_passes_as_generated(tmp_path: Path) -> None:
    code, output = generate("send-email", "--dir", str(tmp_path / "jobs"))
    assert code == 0, output
    handler, test = tmp_path / "jobs" / "send_email.py", tmp_path / "jobs" / "test_send_email.py"
    assert f"wrote {handler}" in output and f"wrote {test}" in output
    source = handler.read_text()
    assert "class SendEmailArgs:" in source
    assert "async def send_email(args: SendEmailArgs)" in source
    assert 'url="memory://?mode=inline"' in test.read_text()
    run = run_pytest(tmp_path / "jobs")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_generated_test_fails_when_the_handler_breaks(tmp_path: Path) -> None:
    code, output = generate("resize", "--dir", str(tmp_path))
    assert code == 0, output
    handler = tmp_path / "resize.py"
    broken = handler.read_text().replace(
        'log.info("resize user_id=%s", args.user_id)', 'raise RuntimeError("boom")'
    )
    assert broken != handler.read_text()
    handler.write_text(broken)
    run = run_pytest(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "expected 'resize' to be performed" in run.stdout


def test_generated_into_a_package_imports_by_package_path(tmp_path: Path) -> None:
    jobs = tmp_path / "shop" / "jobs"
    jobs.mkdir(parents=True)
    (tmp_path / "shop" / "__init__.py").write_text("")
    (jobs / "__init__.py").write_text("")
    code, output = generate("ResizeImage", "--dir", str(jobs))
    assert code == 0, output
    test = (jobs / "test_resize_image.py").read_text()
    assert "from shop.jobs.resize_image import HANDLER, ResizeImageArgs, job, register" in test
    run = run_pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_existing_files_are_kept_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "ping.py").write_text("# mine\n")
    code, output = generate("ping", "--dir", str(tmp_path))
    assert code == 1 and "--force" in output
    assert (tmp_path / "ping.py").read_text() == "# mine\n"
    assert not (tmp_path / "test_ping.py").exists()
    code, output = generate("ping", "--dir", str(tmp_path), "--force")
    assert code == 0, output
    assert "async def ping(" in (tmp_path / "ping.py").read_text()


@pytest.mark.parametrize(
    ("name", "snake"),
    [("send_email", "send_email"), ("send-email", "send_email"), ("SendEmail", "send_email"),
     ("HTTPPing", "http_ping"), ("resize image 2", "resize_image_2")],
)  # fmt: skip
def test_names_become_snake_case(name: str, snake: str) -> None:
    assert snake_name(name) == snake


@pytest.mark.parametrize("name", ["", "class", "9lives", "test_it", "a/b", "ünï"])
def test_unusable_names_are_refused(tmp_path: Path, name: str) -> None:
    code, output = generate(name, "--dir", str(tmp_path))
    assert code == 2, output
    assert "Invalid value" in output
    assert list(tmp_path.iterdir()) == []
