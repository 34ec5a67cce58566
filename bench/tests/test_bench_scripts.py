"""The benchmark scripts under bench/: their pure parts, and rss.py end to end on memory://.

They are scripts, not a package: each is loaded from its file.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent.parent


def _load(relative: str) -> ModuleType:
    path = BENCH / relative
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_peers_table_ratios_are_jobplug_over_peer() -> None:
    run = _load("peers/run.py")
    row = {"broker": "redis", "settings": "s", "enqueue_per_s": 10}
    results = [
        {**row, "lib": "jobplug", "drain_per_s": 9000},
        {**row, "lib": "rq", "drain_per_s": 3000},
        {"lib": "huey", "broker": "redis", "settings": "u", "error": "boom"},
    ]
    text = run.table(results, {"rq": {"rq": "2.0"}})
    lines = text.splitlines()
    assert lines[2].startswith("| jobplug (this checkout) | redis |")
    assert lines[2].endswith("| 9,000 | 1.0 |")
    assert lines[3].startswith("| rq 2.0 | redis |") and lines[3].endswith("| 3,000 | 3.0 |")
    assert "**boom**" in lines[4] and lines[4].endswith("| — | n/a |")


def test_profile_summary_merges_lines_of_one_function(tmp_path: Path) -> None:
    summary = _load("profile_summary.py")
    assert summary.frame_name("run (/a/b/c/worker.py:12)") == "run (c/worker.py)"
    assert summary.frame_name("<module>") == "<module>"
    prof = tmp_path / "prof.txt"
    prof.write_text(
        "main (x/cli.py:1);_run_once (asyncio/base_events.py:9);f (m/a.py:3) 3\n"
        "main (x/cli.py:1);_run_once (asyncio/base_events.py:9);f (m/a.py:4) 1\n"
        "main (x/cli.py:1);startup (m/s.py:2) 5\n"
    )
    out = subprocess.run(
        [sys.executable, str(BENCH / "profile_summary.py"), str(prof), "--within", "_run_once"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert out.startswith("4 samples kept")
    assert "| 100.0 | `f (m/a.py)` |" in out
    assert "startup" not in out


def test_rss_verdict_flat_and_not_flat() -> None:
    rss = _load("rss.py")
    flat = rss.verdict([(100_000, 50.0), (1_000_000, 54.0)], 0.10)
    assert "| 1,000,000 | 54.0 | +8.0% |" in flat
    assert flat.splitlines()[-1].startswith("flat: 54.0 MiB after 1,000,000 jobs")
    grown = rss.verdict([(100_000, 50.0), (1_000_000, 60.0)], 0.10)
    assert grown.splitlines()[-1].startswith("NOT flat")
    assert "nothing to compare" in rss.verdict([(100_000, 50.0)], 0.10)


def test_rss_runs_on_memory() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH / "rss.py"), "memory://", "--jobs", "3000", "--every", "1000",
         "--batch", "500", "--backlog", "1000"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "| 3,000 |" in out
    assert "MiB after 3,000 jobs vs" in out.splitlines()[-1]


def test_peers_readme_table_only_from_a_complete_run(tmp_path: Path) -> None:
    run = _load("peers/run.py")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{run.README_START}\nold\n{run.README_END}\nafter\n")
    run.README = readme
    partial = [{"lib": "jobplug", "broker": "redis"}]
    assert not run.update_readme("new table", partial)
    assert "old" in readme.read_text()
    complete = [{"lib": lib.name, "broker": b} for lib in run.ALL for b in lib.brokers]
    assert run.update_readme("new table", complete)
    assert readme.read_text() == (
        f"intro\n{run.README_START}\nnew table\n{run.README_END}\nafter\n"
    )
