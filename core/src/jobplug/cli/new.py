"""``jobplug new worker NAME``: write a handler module with a typed args model and its test.

The test runs the handler through ``memory://?mode=inline`` with :mod:`jobplug.testing`,
and passes as generated. Existing files are never overwritten without ``--force``.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

import click

from jobplug.cli.new_templates import HANDLER_TEMPLATE, TEST_TEMPLATE

_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def snake_name(name: str) -> str:
    """``send-email``, ``SendEmail``, ``send email`` -> ``send_email``; BadParameter if unusable."""
    words = [w.lower() for w in _WORDS.findall(name)]
    snake = "_".join(words)
    if not words or not re.fullmatch(r"[A-Za-z0-9_\-\s]+", name):
        raise click.BadParameter(f"{name!r}: use letters, digits, '_' or '-', e.g. send_email")
    if not snake.isidentifier() or keyword.iskeyword(snake) or snake.startswith("test"):
        raise click.BadParameter(f"{name!r} does not make a usable module name ({snake!r})")
    return snake


def class_name(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_")) + "Args"


def module_path(directory: Path, module: str) -> str:
    """The dotted import path of ``module`` in ``directory``, following ``__init__.py`` up."""
    parts = [module]
    current = directory.resolve()
    while (current / "__init__.py").is_file():
        parts.insert(0, current.name)
        current = current.parent
    return ".".join(parts)


def render(name: str, directory: Path) -> dict[Path, str]:
    """The files to write for worker ``name`` in ``directory``: {path: text}."""
    snake = snake_name(name)
    values = {
        "name": snake,
        "args_class": class_name(snake),
        "module": module_path(directory, snake),
    }
    return {
        directory / f"{snake}.py": HANDLER_TEMPLATE.format(**values),
        directory / f"test_{snake}.py": TEST_TEMPLATE.format(**values),
    }


@click.group()
def new() -> None:
    """Generate code: handlers with their tests."""


@new.command("worker")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to write the handler module and its test (created if missing).",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def worker(name: str, directory: Path, force: bool) -> None:
    """Write NAME.py (a handler with a typed args dataclass) and test_NAME.py (its test).

    NAME is the job's handler name, e.g. send_email (send-email and SendEmail work too).
    """
    files = render(name, directory)
    existing = [path for path in files if path.exists()]
    if existing and not force:
        names = ", ".join(str(p) for p in existing)
        raise click.ClickException(f"{names} already exist(s); pass --force to overwrite")
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        click.echo(f"wrote {path}")
    test = next(p for p in files if p.name.startswith("test_"))
    click.echo(f"run its test: pytest {test}")
