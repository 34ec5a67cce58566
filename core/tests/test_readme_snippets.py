"""The READMEs' code runs as shown. A block preceded by ``<!-- snippet: NAME -->`` is a
whole file: the testing guide's files run under pytest in a directory of their own (with
their own ``pyproject.toml``, as a user's project would), and every Python snippet passes
``mypy --strict``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = re.compile(r"<!-- snippet: (?P<name>\S+) -->\n```\w*\n(?P<body>.*?)```", re.S)


def snippets(readme: Path) -> dict[str, str]:
    return {m["name"]: m["body"] for m in SNIPPET.finditer(readme.read_text(encoding="utf-8"))}


def write(files: dict[str, str], where: Path) -> list[Path]:
    paths = []
    for name, body in files.items():
        path = where / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    return paths


def test_the_testing_guide_runs_under_pytest(tmp_path: Path) -> None:
    files = snippets(ROOT / "core" / "README.md")
    assert {"pyproject.toml", "test_emails.py", "test_welcome.py"} <= set(files)
    write(files, tmp_path)
    # the snippet's pyproject.toml is the configuration, as in a user's project: -c pins it
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-c", "pyproject.toml", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    assert "warning" not in result.stdout.lower(), result.stdout


def test_python_snippets_pass_mypy_strict(tmp_path: Path) -> None:
    files = {
        **{f"root/{n}": b for n, b in snippets(ROOT / "README.md").items()},
        **{f"core/{n}": b for n, b in snippets(ROOT / "core" / "README.md").items()},
    }
    paths = [p for p in write(files, tmp_path) if p.suffix == ".py"]
    assert len(paths) >= 3
    # In a process of its own: mypy raises the interpreter's recursion limit for good.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--explicit-package-bases",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
