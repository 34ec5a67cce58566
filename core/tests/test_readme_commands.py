"""The READMEs' shell commands talk to one backend: a job enqueued under one namespace
never reaches a worker on another, so a tour whose commands disagree does not work."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READMES = [ROOT / "README.md", ROOT / "core" / "README.md"]
#: Commands that reach the application's backend (demo, bench and certify bring their own).
SHARED = {"worker", "enqueue", "inspect", "ui", "pause", "unpause", "retry-dead"}
FENCE = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def backend_urls(text: str) -> dict[str, set[str]]:
    """command -> the URLs its lines in ``text``'s shell blocks use (``--url``,
    a ``WORKER_URL=`` prefix, or the last ``export WORKER_URL=``)."""
    found: dict[str, set[str]] = {}
    exported: str | None = None
    for block in FENCE.findall(text):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["export"] and words[1].startswith("WORKER_URL="):
                exported = words[1].partition("=")[2]
                continue
            env = {}
            while words and re.match(r"^[A-Z_]+=", words[0]):
                key, _, value = words.pop(0).partition("=")
                env[key] = value
            if words[:1] != ["jobplug"] or len(words) < 2 or words[1] not in SHARED:
                continue
            url = words[words.index("--url") + 1] if "--url" in words else None
            url = url or env.get("WORKER_URL") or exported
            if url is not None:
                found.setdefault(words[1], set()).add(url)
    return found


def test_readme_commands_agree_on_the_backend() -> None:
    per_command: dict[str, set[str]] = {}
    for readme in READMES:
        for command, urls in backend_urls(readme.read_text()).items():
            per_command.setdefault(command, set()).update(urls)
    assert {"worker", "enqueue", "inspect", "ui"} <= set(per_command)
    every = set().union(*per_command.values())
    assert len(every) == 1, per_command
    assert "namespace=" in every.pop()


def test_the_check_sees_a_namespace_mismatch() -> None:
    text = (
        "```sh\nWORKER_URL='redis://h/0?namespace=a' jobplug worker app:w\n"
        "jobplug enqueue x --url redis://h/0\n```\n"
    )
    assert backend_urls(text) == {"worker": {"redis://h/0?namespace=a"}, "enqueue": {"redis://h/0"}}
