"""Adapters use only core's public API, so a core release that renames an internal name
cannot break an installed adapter (its ``jobplug-core`` version range is a promise)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The modules an adapter may import from (see the docstring of ``jobplug.adapter``).
ADAPTER_API = ("jobplug", "jobplug.adapter", "jobplug.errors")

#: Source trees of the distributions that build on core the way a third party would.
ADAPTER_SOURCES = [
    *sorted((ROOT / "adapters").glob("*/src")),
    ROOT / "contract_tests" / "src",
    ROOT / "examples" / "sqlite_adapter" / "src",
]


def core_imports(source: Path) -> list[tuple[int, str, str | None]]:
    """``(line, module, name)`` for every import of a ``jobplug`` module in ``source``
    (``name`` is None for ``import jobplug.x``)."""
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), str(source))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "jobplug" or node.module.startswith("jobplug."):
                found.extend((node.lineno, node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "jobplug" or alias.name.startswith("jobplug."):
                    found.append((node.lineno, alias.name, None))
    return found


def private_imports(source: Path, root: Path = ROOT) -> list[str]:
    """What ``source`` imports from outside :data:`ADAPTER_API`, one line each."""
    problems = []
    for line, module, name in core_imports(source):
        where = f"{source.relative_to(root)}:{line}"
        if module not in ADAPTER_API:
            what = f"{name} from " if name else ""
            problems.append(f"{where}: imports {what}internal module {module}")
        elif name is not None and name not in importlib.import_module(module).__all__:
            problems.append(f"{where}: {module}.{name} is not in {module}.__all__")
    return problems


def test_the_sources_are_found() -> None:
    files = [f for src in ADAPTER_SOURCES for f in src.rglob("*.py")]
    assert len(ADAPTER_SOURCES) >= 5
    assert sum(len(core_imports(f)) for f in files) > 20


@pytest.mark.parametrize("src", ADAPTER_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_import_only_the_public_api(src: Path) -> None:
    problems = [p for f in sorted(src.rglob("*.py")) for p in private_imports(f)]
    assert not problems, "\n".join(problems)


def test_the_check_catches_an_internal_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text(
        "import jobplug.runtime\nfrom jobplug.job import utcnow\nfrom jobplug.adapter import Nope\n"
        "from jobplug.adapter import Job\n"
    )
    problems = [p.split(": ", 1)[1] for p in private_imports(module, tmp_path)]
    assert problems == [
        "imports internal module jobplug.runtime",
        "imports utcnow from internal module jobplug.job",
        "jobplug.adapter.Nope is not in jobplug.adapter.__all__",
    ]


def test_every_public_name_exists() -> None:
    for module_name in ADAPTER_API:
        module = importlib.import_module(module_name)
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert not missing, f"{module_name}.__all__ names what it lacks: {missing}"
