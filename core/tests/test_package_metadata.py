"""Every distribution is ready for the package index: license, metadata, version ranges,
declared imports, and a README whose links work on the index's page."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
REPO = "https://github.com/jobplug/jobplug"
PROJECTS = [
    ROOT,
    ROOT / "core",
    ROOT / "adapters" / "memory",
    ROOT / "adapters" / "redis",
    ROOT / "adapters" / "amqp",
    ROOT / "contract_tests",
    ROOT / "examples" / "sqlite_adapter",
]
#: ``[text](target)`` and ``<img src="target">``: a target without a scheme is relative.
LINK = re.compile(r"\]\(([^)\s]+)\)|src=\"([^\"]+)\"")


def project(directory: Path) -> dict[str, Any]:
    with (directory / "pyproject.toml").open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)["project"]
    return data


def ids(directory: Path) -> str:
    return str(directory.relative_to(ROOT)) if directory != ROOT else "root"


@pytest.mark.parametrize("directory", PROJECTS, ids=ids)
def test_license_and_metadata(directory: Path) -> None:
    meta = project(directory)
    assert (directory / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert "Copyright (c) 2026 The jobplug authors" in (ROOT / "LICENSE").read_text()
    assert meta["license"] == "MIT"
    assert meta["license-files"] == ["LICENSE"]
    assert meta["authors"] == [{"name": "The jobplug authors"}]
    assert "Programming Language :: Python :: 3 :: Only" in meta["classifiers"]
    assert "Typing :: Typed" in meta["classifiers"]
    assert not [c for c in meta["classifiers"] if c.startswith("License ::")]  # the SPDX field
    urls = meta["urls"]
    assert urls["Repository"] == REPO
    assert {"Homepage", "Documentation", "Issues", "Changelog"} <= set(urls)
    assert meta["readme"] == "README.md"


@pytest.mark.parametrize("directory", PROJECTS, ids=ids)
def test_readme_links_work_on_the_package_index(directory: Path) -> None:
    text = (directory / project(directory)["readme"]).read_text()
    relative = [
        target
        for match in LINK.finditer(text)
        for target in match.groups()
        if target and not re.match(r"^(https?://|mailto:|#)", target)
    ]
    assert not relative, f"relative links break on the package index: {relative}"


def core_requirements(directory: Path) -> list[Requirement]:
    meta = project(directory)
    lines = list(meta.get("dependencies", []))
    for extra in meta.get("optional-dependencies", {}).values():
        lines.extend(extra)
    return [r for r in map(Requirement, lines) if r.name.startswith("jobplug")]


@pytest.mark.parametrize("directory", [p for p in PROJECTS if p != ROOT / "core"], ids=ids)
def test_jobplug_requirements_have_a_compatible_range(directory: Path) -> None:
    version = project(ROOT / "core")["version"]
    requirements = core_requirements(directory)
    assert requirements
    for req in requirements:
        spec = SpecifierSet(str(req.specifier))
        assert version in spec, f"{req} excludes this release {version}"
        assert any(s.operator == "<" for s in spec), f"{req} has no upper bound"


def test_the_amqp_adapter_declares_what_it_imports() -> None:
    names = {Requirement(d).name for d in project(ROOT / "adapters" / "amqp")["dependencies"]}
    assert {"aio-pika", "aiormq", "pamqp", "yarl"} <= names
    for dep in project(ROOT / "adapters" / "amqp")["dependencies"]:
        assert "<" in str(Requirement(dep).specifier), f"{dep} has no upper bound"


def test_the_meta_package_brings_the_pretty_cli() -> None:
    deps = [Requirement(d) for d in project(ROOT)["dependencies"]]
    core = next(r for r in deps if r.name == "jobplug-core")
    assert "cli" in core.extras


@pytest.mark.parametrize("directory", PROJECTS, ids=ids)
def test_project_urls_into_the_repository_exist(directory: Path) -> None:
    for label, url in project(directory)["urls"].items():
        if url.startswith(f"{REPO}/blob/main/"):
            path = ROOT / url.removeprefix(f"{REPO}/blob/main/")
            assert path.is_file(), f"{label} points at {path.relative_to(ROOT)}, which is missing"


def test_changelog_and_contributing_guide() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert "## [0.1.0]" in changelog
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for command in (
        "pip install uv && uv run jobplug demo",
        "pip install uv && uv sync --all-packages --all-extras && uv run pytest",
    ):
        assert command in readme
        assert command in contributing


#: distribution directory -> its import packages
SOURCES = {
    ROOT / "core": ["jobplug"],
    ROOT / "adapters" / "memory": ["jobplug_memory"],
    ROOT / "adapters" / "redis": ["jobplug_redis"],
    ROOT / "adapters" / "amqp": ["jobplug_amqp"],
    ROOT / "contract_tests": ["jobplug_contract"],
    ROOT / "examples" / "sqlite_adapter": ["jobplug_sqlite"],
}


def third_party_imports(package: Path) -> set[str]:
    """Top-level names of every absolute import in ``package`` outside the standard library
    and jobplug's own packages."""
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
    return {
        n
        for n in names
        if n not in sys.stdlib_module_names and not n.startswith("jobplug") and n != "__future__"
    }


@pytest.mark.parametrize("directory", list(SOURCES), ids=ids)
def test_every_third_party_import_is_declared(directory: Path) -> None:
    meta = project(directory)
    lines = list(meta.get("dependencies", []))
    for extra in meta.get("optional-dependencies", {}).values():
        lines.extend(extra)
    declared = {canonicalize_name(Requirement(line).name) for line in lines}
    if directory == ROOT / "core":
        # jobplug.pytest_plugin is imported by pytest itself, never without it
        declared.add("pytest")
    providers = packages_distributions()
    missing = []
    for package in SOURCES[directory]:
        for name in sorted(third_party_imports(directory / "src" / package)):
            dists = {canonicalize_name(d) for d in providers.get(name, [name])}
            if not dists & declared:
                missing.append(f"{name} (from {', '.join(sorted(dists))})")
    assert not missing, f"imported but not declared: {missing}"
