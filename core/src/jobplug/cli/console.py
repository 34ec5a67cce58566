"""Where the commands get their tables, consoles and progress bars: from rich when the
``cli`` extra is installed (``pip install 'jobplug-core[cli]'``, part of ``pip install
jobplug``), else from :mod:`jobplug.cli.plain`. Commands import these names from here,
never from rich, so ``jobplug-core`` alone stays free of rich and pygments."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.table import Table
else:
    try:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.table import Table
    except ImportError:
        from jobplug.cli.plain import (
            BarColumn,
            Console,
            MofNCompleteColumn,
            Progress,
            Table,
            TextColumn,
            TimeElapsedColumn,
            escape,
        )

__all__ = [
    "BarColumn",
    "Console",
    "MofNCompleteColumn",
    "Progress",
    "Table",
    "TextColumn",
    "TimeElapsedColumn",
    "escape",
]
