"""The API reference (docs/api.md) is generated from the docstrings and kept up to date,
and every public member has a docstring."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def gen_api() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_api", ROOT / "docs" / "gen_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_api", module)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules["gen_api"])
    return sys.modules["gen_api"]


def test_every_public_module_declares_its_names() -> None:
    for name in gen_api().PUBLIC_MODULES:
        module = importlib.import_module(name)
        assert module.__all__, name
        assert not [n for n in module.__all__ if not hasattr(module, n)], name


def test_every_public_member_has_a_docstring() -> None:
    docs = gen_api()
    assert len([m for m in docs.members() if m.kind not in {"module", "see"}]) > 150
    missing = docs.undocumented()
    assert missing == [], f"{len(missing)} public members lack a docstring: {missing}"


def test_the_api_reference_is_up_to_date() -> None:
    expected = gen_api().render()
    current = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert current == expected, "docs/api.md is out of date: run uv run python docs/gen_api.py"
