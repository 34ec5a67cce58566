"""What a new user gets: the distributions built from this repository, installed with pip in
a fresh virtual environment outside it, run the demo on Redis.

Our packages come from the freshly built wheels (``--find-links``), their third-party
dependencies from the package index (pip's cache makes a second run quick). Locally an
unreachable index or a missing ``uv`` skips the test with the reason; under ``CI=true``
they fail it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Every distribution of the workspace: the sdist of each is built, then its wheel from it.
DISTRIBUTIONS = {
    "jobplug",
    "jobplug-core",
    "jobplug-memory",
    "jobplug-redis",
    "jobplug-amqp",
    "jobplug-contract",
    "jobplug-sqlite",
}
#: What ``pip install 'jobplug[redis]'`` must take from our wheels.
OURS = {"jobplug", "jobplug-core", "jobplug-memory", "jobplug-redis"}


def unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{why}; CI requires it", pytrace=False)
    pytest.skip(why)


def require_index() -> None:
    url = os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple"
    parts = urlsplit(url)
    if parts.scheme == "file":
        return
    host = parts.hostname or "pypi.org"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        unavailable(f"the package index {host}:{port} is not reachable ({exc})")


def run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
        **kwargs,  # type: ignore[call-overload]
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} exited {result.returncode}\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def clean_env(**extra: str) -> dict[str, str]:
    """This test run's environment minus what would point a child at the checkout's venv."""
    env = {
        k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


@pytest.mark.packaging
@pytest.mark.timeout(420)
def test_pip_install_jobplug_redis_from_built_wheels_runs_the_demo(
    tmp_path: Path,
    redis_server: str,
    namespace: str,
    drop_redis: Callable[[str, str], Awaitable[None]],
) -> None:
    assert not tmp_path.resolve().is_relative_to(ROOT), "the venv must live outside the checkout"
    uv = shutil.which("uv")
    if uv is None:
        unavailable("uv is not on PATH (pip install uv)")
    require_index()
    dist = tmp_path / "dist"
    run(uv, "build", "--all-packages", "--out-dir", dist, cwd=ROOT)
    wheels = {w.name.split("-")[0].replace("_", "-"): w for w in dist.glob("*.whl")}
    assert set(wheels) == DISTRIBUTIONS
    license_text = (ROOT / "LICENSE").read_text()
    for name, wheel in wheels.items():
        with zipfile.ZipFile(wheel) as zf:
            licenses = [n for n in zf.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
            assert licenses, f"{name}'s wheel carries no LICENSE"
            assert zf.read(licenses[0]).decode() == license_text

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path, env=clean_env())
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    report = tmp_path / "pip-report.json"
    run(
        bindir / "python",
        "-m",
        "pip",
        "install",
        "--find-links",
        dist,
        "--report",
        report,
        "jobplug[redis]",
        cwd=tmp_path,
        env=clean_env(),
    )
    # our distributions came from the wheels just built, not from an index
    installed = {
        item["metadata"]["name"]: item["download_info"]["url"]
        for item in json.loads(report.read_text())["install"]
    }
    assert set(installed) >= OURS, installed
    for name in OURS:
        assert Path(unquote(urlsplit(installed[name]).path)) == wheels[name], installed[name]

    where = run(
        bindir / "python",
        "-c",
        "import jobplug, jobplug_redis; print(jobplug.__file__); print(jobplug_redis.__file__)",
        cwd=tmp_path,
        env=clean_env(),
    )
    for line in where.stdout.split():
        assert Path(line).resolve().is_relative_to(venv.resolve()), line

    url = f"{redis_server}/0?namespace={namespace}"
    try:
        demo = run(
            bindir / "jobplug", "demo", cwd=tmp_path, env=clean_env(WORKER_URL=url, COLUMNS="100")
        )
    finally:
        asyncio.run(drop_redis(redis_server, namespace))
    assert "300/300" in demo.stdout
    assert "jobplug demo: results" in demo.stdout
