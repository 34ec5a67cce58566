"""Write ``docs/api.md``, the API reference, from the docstrings of jobplug's public modules.

    uv run python docs/gen_api.py          # rewrite docs/api.md
    uv run python docs/gen_api.py --check  # exit 1 if docs/api.md is out of date

The public API is what the modules below list in ``__all__``, plus the public methods and
properties of the classes among them. Everything else in ``jobplug`` is internal. A name
re-exported by a later module is documented once, where it first appears. Constants and
type aliases are documented by the ``#:`` comment above their assignment. The standard
library alone builds the page, so it works offline and in CI with nothing to install.
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "api.md"

#: The public modules, in the order of the page. Each lists its public names in ``__all__``.
PUBLIC_MODULES = [
    "jobplug",
    "jobplug.errors",
    "jobplug.testing",
    "jobplug.pytest_plugin",
    "jobplug.asgi",
    "jobplug.sync",
    "jobplug.hookspecs",
    "jobplug.logs",
    "jobplug.ext.prometheus",
    "jobplug.ext.otel",
    "jobplug.ui",
    "jobplug.adapter",
]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


@dataclass
class Member:
    """One documented thing: ``qualname`` in ``module``, and its text (None: undocumented)."""

    module: str
    qualname: str
    kind: str
    signature: str
    doc: str | None


def comment_doc(module: ModuleType, name: str, seen: frozenset[str] = frozenset()) -> str | None:
    """The ``#:`` comment above ``name = ...`` in ``module``, following re-exports."""
    source = inspect.getsource(module)
    lines = source.splitlines()
    pattern = re.compile(rf"^{re.escape(name)}\s*(:[^=]+)?=")
    for index, line in enumerate(lines):
        if pattern.match(line):
            comment: list[str] = []
            j = index - 1
            while j >= 0 and lines[j].startswith("#:"):
                comment.insert(0, lines[j][2:].strip())
                j -= 1
            return " ".join(comment) or None
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
            continue
        if any((a.asname or a.name) == name for a in node.names) and node.module not in seen:
            origin = importlib.import_module(node.module)
            return comment_doc(origin, name, seen | {module.__name__})
    return None


def signature(obj: Any, *, bound: bool = False, returns: bool = True) -> str:
    """``(a: int, *, b: str = 'x') -> bool`` from the source annotations; ``bound`` drops
    ``self``/``cls``, ``returns=False`` the return annotation (classes)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return ""
    if bound and sig.parameters:
        sig = sig.replace(parameters=list(sig.parameters.values())[1:])
    params = []
    for p in sig.parameters.values():
        text = p.name
        if p.kind is p.VAR_POSITIONAL:
            text = "*" + text
        elif p.kind is p.VAR_KEYWORD:
            text = "**" + text
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += f" = {_ADDRESS.sub('', repr(p.default))}"
        params.append(text)
    # mark where keyword-only parameters start, as Python does
    kinds = [p.kind for p in sig.parameters.values()]
    if inspect.Parameter.KEYWORD_ONLY in kinds and inspect.Parameter.VAR_POSITIONAL not in kinds:
        params.insert(kinds.index(inspect.Parameter.KEYWORD_ONLY), "*")
    text = f"({', '.join(params)})"
    if returns and sig.return_annotation is not sig.empty:
        text += f" -> {_annotation(sig.return_annotation)}"
    return text


def _annotation(annotation: Any) -> str:
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def _doc(obj: Any) -> str | None:
    doc = obj.__doc__ if isinstance(obj.__doc__, str) else None
    return inspect.cleandoc(doc) if doc and doc.strip() else None


_ROLE = re.compile(r":[a-z]+:`(?P<tilde>~?)(?P<text>[^`<]+?)(?: <[^>]+>)?`")
_LITERAL = re.compile(r"``([^`]+)``")


def _role(match: re.Match[str]) -> str:
    # :class:`~a.b.C` shows `C`, :class:`a.b.C` the whole path, as Sphinx does
    text = match["text"]
    return f"`{text.rsplit('.', 1)[-1] if match['tilde'] else text}`"


def markdown(doc: str) -> str:
    """The reStructuredText of a docstring as Markdown: ``x`` and :role:`x` become `x`,
    ``::`` ends a paragraph before a code block (indented blocks stay code blocks)."""
    out = []
    for line in doc.splitlines():
        if len(line) - len(line.lstrip()) < 4:
            line = _LITERAL.sub(r"`\1`", _ROLE.sub(_role, line))
            if line.strip() == "::":
                continue
            if line.endswith("::"):
                line = line[:-1]
        out.append(line)
    return "\n".join(out)


def _own_doc(cls: type) -> str | None:
    """The class's own docstring; dataclasses invent one from the signature: not a doc."""
    doc = cls.__dict__.get("__doc__")
    if not isinstance(doc, str) or not doc.strip():
        return None
    if doc.startswith(f"{cls.__name__}("):
        return None
    return inspect.cleandoc(doc)


def class_members(module: str, cls: type) -> Iterator[Member]:
    """Public methods and properties defined by ``cls`` itself (not inherited)."""
    hooks = importlib.import_module("jobplug.hookspecs")
    for name, attr in cls.__dict__.items():
        if name.startswith("_"):
            continue
        qualname = f"{cls.__name__}.{name}"
        if isinstance(attr, property):
            yield Member(module, qualname, "property", "", _doc(attr.fget))
            continue
        func = attr.__func__ if isinstance(attr, (classmethod, staticmethod)) else attr
        if not inspect.isfunction(func):
            continue  # class attributes, enum members, dataclass fields
        doc = _doc(func)
        if doc is None and name.startswith("jobplug_") and hasattr(hooks, name):
            doc = f"Implements the hook :func:`jobplug.hookspecs.{name}`."
        kind = "classmethod" if isinstance(attr, classmethod) else "method"
        if inspect.iscoroutinefunction(func):
            kind = "async method"
        bound = not isinstance(attr, staticmethod)
        yield Member(module, qualname, kind, signature(func, bound=bound), doc)


def members() -> Iterator[Member]:
    """Every public member, module by module, each re-exported object once."""
    seen: dict[int, str] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        yield Member(module_name, "", "module", "", _doc(module))
        for name in module.__all__:
            obj = getattr(module, name)
            first = seen.get(id(obj))
            if first is not None:
                yield Member(module_name, name, "see", "", f"Documented at `{first}`.")
                continue
            if inspect.isclass(obj):
                seen[id(obj)] = f"{module_name}.{name}"
                kind = "exception" if issubclass(obj, BaseException) else "class"
                doc = _own_doc(obj)
                if issubclass(obj, enum.Enum):
                    # the Enum constructor's signature varies between Pythons: list members
                    kind, sig = "enum", ""
                    values = ", ".join(f"`{m.name}` = {m.value!r}" for m in obj)
                    doc = f"{doc}\n\nMembers: {values}." if doc else None
                elif issubclass(obj, BaseException):
                    sig = ""
                else:
                    sig = signature(obj, returns=False)
                yield Member(module_name, name, kind, sig, doc)
                yield from class_members(module_name, obj)
            elif inspect.isroutine(obj):
                seen[id(obj)] = f"{module_name}.{name}"
                kind = "async function" if inspect.iscoroutinefunction(obj) else "function"
                yield Member(module_name, name, kind, signature(obj), _doc(obj))
            elif callable(obj) and _doc(obj) and not comment_doc(module, name):
                # a callable object (a pytest fixture): its own docstring
                seen[id(obj)] = f"{module_name}.{name}"
                yield Member(module_name, name, "function", signature(obj), _doc(obj))
            else:
                if callable(obj):  # a decorator object (hookimpl): one entry
                    seen[id(obj)] = f"{module_name}.{name}"
                yield Member(module_name, name, "data", "", comment_doc(module, name))


def undocumented() -> list[str]:
    """``module.qualname`` of each public member without a docstring (or ``#:`` comment)."""
    return [
        f"{m.module}.{m.qualname}".rstrip(".") for m in members() if not m.doc and m.kind != "see"
    ]


def render() -> str:
    out = [
        "# API reference",
        "",
        "Generated from the docstrings by `uv run python docs/gen_api.py`; do not edit by hand.",
        "Everything listed here is public and follows the package's version; any other name",
        "in `jobplug` is internal. Adapter authors import from `jobplug`, `jobplug.errors` and",
        "`jobplug.adapter` only.",
        "",
        "Modules: " + ", ".join(f"[`{m}`](#{m.replace('.', '')})" for m in PUBLIC_MODULES) + ".",
        "",
    ]
    for m in members():
        if m.kind == "module":
            out += [f"## {m.module}", "", markdown(m.doc or ""), ""]
            continue
        level = "####" if "." in m.qualname else "###"
        head = f"{level} `{m.qualname}{m.signature}`"
        if m.kind not in {"class", "function", "method", "see"}:
            head += f" <sub>{m.kind}</sub>"
        out += [head, "", markdown(m.doc) if m.doc else "*Undocumented.*", ""]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT.name} is out of date: run uv run python docs/gen_api.py")
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    missing = undocumented()
    print(f"wrote {OUTPUT.relative_to(ROOT)}; {len(missing)} public members lack a docstring")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
