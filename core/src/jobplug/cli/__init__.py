"""The ``jobplug`` command line."""

from jobplug.cli.app import cli, main

__all__ = ["cli", "main"]
