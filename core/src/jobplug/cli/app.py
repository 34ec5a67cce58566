"""The ``jobplug`` command group. Each command lives in its own module, imported only when
that command runs, so ``jobplug --help`` stays fast and a command's dependencies load only
for it."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any, Literal

import click

#: The levels ``--log-level`` takes (any case).
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: command name -> "module:attribute" of its click command.
COMMANDS = {
    "adapters": "jobplug.cli.adapters:adapters",
    "bench": "jobplug.cli.bench:bench",
    "certify": "jobplug_contract.certify:certify",
    "demo": "jobplug.cli.demo:demo",
    "enqueue": "jobplug.cli.enqueue:enqueue",
    "inspect": "jobplug.cli.inspect:inspect",
    "new": "jobplug.cli.new:new",
    "pause": "jobplug.cli.inspect:pause",
    "retry-dead": "jobplug.cli.inspect:retry_dead",
    "ui": "jobplug.cli.ui:ui",
    "unpause": "jobplug.cli.inspect:unpause",
    "worker": "jobplug.cli.worker:worker",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        try:
            command = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            return _unavailable(cmd_name, str(exc))
        if not isinstance(command, click.Command):
            raise click.ClickException(f"{target} is not a click command")
        _accept_log_level(command)
        return command


def _accept_log_level(command: click.Command) -> None:
    """Let ``--log-level`` follow the command name too (``jobplug worker app --log-level
    DEBUG``), as people type it; the group's option stays the one documented first."""
    if isinstance(command, click.Group):  # jobplug inspect queues --log-level DEBUG
        for sub in command.commands.values():
            _accept_log_level(sub)
    if any(param.name == "log_level" for param in command.params):
        return
    command.params.append(
        click.Option(
            ["--log-level"],
            type=click.Choice(LEVELS, case_sensitive=False),
            expose_value=False,
            callback=_set_log_level,
            help="Logging level (also accepted before the command).",
        )
    )


def _set_log_level(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:  # click.Choice has checked it and given the canonical name
        logging.getLogger().setLevel(value)


def _unavailable(name: str, reason: str) -> click.Command:
    def fail() -> None:
        raise click.ClickException(f"command {name!r} is not available: {reason}")

    return click.Command(name, callback=fail, help=f"(unavailable: {reason})")


@click.group(cls=LazyGroup)
@click.option(
    "--log-level",
    type=click.Choice(LEVELS, case_sensitive=False),
    default=lambda: os.environ.get("JOBPLUG_LOG_LEVEL", "INFO"),
    show_default="INFO",
    help="Logging level (also $JOBPLUG_LOG_LEVEL).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=lambda: os.environ.get("JOBPLUG_LOG_FORMAT", "text"),
    show_default="text",
    help="Log lines as text or as JSON objects (passwords are redacted in both).",
)
@click.version_option(package_name="jobplug-core")
def cli(log_level: str, log_format: Literal["text", "json"]) -> None:
    """jobplug: background jobs with pluggable backends."""
    from jobplug.logs import configure

    configure(log_level, log_format, sys.stderr)


def main(argv: Any = None) -> None:
    cli.main(args=argv, prog_name="jobplug")
