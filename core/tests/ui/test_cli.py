"""``jobplug ui`` as a user runs it: a real process, a real port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
from click.testing import CliRunner

from jobplug.cli import cli

RUN = [sys.executable, "-c", "from jobplug.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ui_serves_with_auth_from_the_environment() -> None:
    port = _free_port()
    env = {**os.environ, "JOBPLUG_UI_AUTH": "admin:pa55word", "WORKER_URL": "memory://"}
    proc = subprocess.Popen(
        [*RUN, "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                first = httpx.get(base + "/queues", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the dashboard did not come up"
                time.sleep(0.05)
        assert first.status_code == 401
        answer = httpx.get(base + "/queues", auth=("admin", "pa55word"))
        assert answer.status_code == 200 and answer.json() == []
        page = httpx.get(base + "/ui/queues", auth=("admin", "pa55word"))
        assert page.status_code == 200 and "No queues yet" in page.text
        # bound to loopback: only loopback names are served (DNS rebinding)
        rebound = httpx.get(
            base + "/queues", auth=("admin", "pa55word"), headers={"Host": "evil.example"}
        )
        assert rebound.status_code == 400
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert f"jobplug dashboard for memory:// on http://127.0.0.1:{port}/" in err
    assert "pa55word" not in err


def test_ui_rejects_a_malformed_auth_value_without_printing_it() -> None:
    result = CliRunner().invoke(cli, ["ui", "--auth", "justasecret"])
    assert result.exit_code != 0
    assert "user:password" in result.output and "justasecret" not in result.output


def test_ui_help_lists_its_options() -> None:
    result = CliRunner().invoke(cli, ["ui", "--help"])
    assert result.exit_code == 0
    for option in ("--url", "--host", "--port", "--auth", "--allow-host", "JOBPLUG_UI_AUTH"):
        assert option in result.output
    assert "5040" in result.output and "127.0.0.1" in result.output
