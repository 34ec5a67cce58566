from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import jobplug
from jobplug import DuplicateSchemeError, UnknownSchemeError
from jobplug.registry import broker_from_url, installed_adapters


def _fake_distribution(root: Path, dist: str, scheme: str, target: str) -> None:
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[jobplug.adapters]\n{scheme} = {target}\n")


def test_memory_is_the_default_and_worker_url_selects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKER_URL", raising=False)
    assert type(broker_from_url()).__name__ == "MemoryBroker"
    monkeypatch.setenv("WORKER_URL", "memory://?mode=inline")
    assert jobplug.connect().broker.inline


def test_unknown_scheme_names_installed_schemes_closest_match_and_extra() -> None:
    with pytest.raises(UnknownSchemeError) as info:
        jobplug.connect("reddis://user:hunter2@localhost/0")
    message = str(info.value)
    assert "'reddis'" in message
    assert "memory" in message
    assert "Did you mean 'redis'?" in message
    assert "pip install 'jobplug[redis]'" in message
    assert "hunter2" not in message


def test_unknown_scheme_without_close_match_explains_the_entry_point_group() -> None:
    with pytest.raises(UnknownSchemeError, match=r"jobplug\.adapters"):
        jobplug.connect("nope://x")


def test_two_distributions_claiming_one_scheme_is_an_error_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_distribution(tmp_path, "jobplug_alpha", "twin", "jobplug_memory:MemoryBroker")
    _fake_distribution(tmp_path, "jobplug_beta", "twin", "jobplug_memory:MemoryBroker")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert {i.distribution for i in installed_adapters()["twin"]} == {
        "jobplug_alpha",
        "jobplug_beta",
    }
    with pytest.raises(DuplicateSchemeError, match="jobplug_alpha and jobplug_beta"):
        jobplug.connect("twin://x")


def test_a_third_party_adapter_registers_like_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "thirdparty_adapter.py").write_text(
        textwrap.dedent(
            """
            from jobplug_memory import MemoryBroker

            class ThirdParty(MemoryBroker):
                pass
            """
        )
    )
    _fake_distribution(tmp_path, "jobplug_third", "third", "thirdparty_adapter:ThirdParty")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert type(jobplug.connect("third://x").broker).__name__ == "ThirdParty"


def test_an_entry_point_that_is_not_a_broker_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_distribution(tmp_path, "jobplug_bad", "bad", "json:loads")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(jobplug.ConfigurationError, match=r"not a jobplug\.Broker subclass"):
        jobplug.connect("bad://x")


def test_memory_never_imports_redis_or_aio_pika() -> None:
    code = textwrap.dedent(
        """
        import asyncio, sys
        import jobplug

        async def main():
            worker = jobplug.connect("memory://")
            seen = []
            worker.register("h", seen.append)
            async with worker:
                await worker.perform(jobplug.Job("h", {"a": 1}))
                await worker.broker.join()
            assert seen == [{"a": 1}], seen

        asyncio.run(main())
        drivers = ("redis", "aio_pika", "aiormq")
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in drivers)
        print("LOADED", loaded)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LOADED []" in out.stdout, out.stdout + out.stderr
