"""Plain-text stand-ins for the few rich classes the command line uses.

rich (and pygments under it) comes with the ``cli`` extra (``pip install
'jobplug-core[cli]'``, part of ``pip install jobplug``); a producer or a worker installed
from ``jobplug-core`` alone still gets every command, printing aligned text instead of
coloured tables and a final count instead of a live progress bar.
"""

from __future__ import annotations

import re
import sys
import time
from types import TracebackType
from typing import IO, Any

#: The style tags the commands write (``[bold]…[/bold]``); other brackets are text.
_MARKUP = re.compile(r"\[/?(?:bold|dim|italic|red|green|yellow|progress\.description)\]")


def strip_markup(text: str) -> str:
    """``text`` without the style tags the commands use."""
    return _MARKUP.sub("", text)


def escape(text: str) -> str:
    """rich needs brackets escaped in data; plain text prints them as they are."""
    return text


class Table:
    """Rows of text under a header, columns padded to their widest cell."""

    def __init__(self, title: str | None = None, caption: str | None = None, **_: Any) -> None:
        self.title = title
        self.caption = caption
        self.columns: list[tuple[str, str]] = []
        self.rows: list[list[str]] = []

    def add_column(self, header: str = "", justify: str = "left", **_: Any) -> None:
        """Add a column; ``justify="right"`` aligns its cells to the right."""
        self.columns.append((header, justify))

    def add_row(self, *cells: str | None) -> None:
        """Add a row of cells (markup is dropped)."""
        self.rows.append([strip_markup(cell or "") for cell in cells])

    def lines(self) -> list[str]:
        """The table as lines of text."""
        grid = [[header for header, _ in self.columns], *self.rows]
        widths = [
            max(len(row[i]) if i < len(row) else 0 for row in grid)
            for i in range(len(self.columns))
        ]

        def line(row: list[str]) -> str:
            cells = []
            for i, (_, justify) in enumerate(self.columns):
                cell = row[i] if i < len(row) else ""
                cells.append(cell.rjust(widths[i]) if justify == "right" else cell.ljust(widths[i]))
            return "  ".join(cells).rstrip()

        out = [strip_markup(self.title)] if self.title else []
        out.append(line(grid[0]))
        out.append("  ".join("-" * width for width in widths))
        out.extend(line(row) for row in self.rows)
        if self.caption:
            out.append(strip_markup(self.caption))
        return out


class Console:
    """Prints text (markup dropped) and :class:`Table` objects to stdout or stderr."""

    def __init__(self, stderr: bool = False, **_: Any) -> None:
        self.stderr = stderr

    @property
    def file(self) -> IO[str]:
        """The stream written to, looked up at each print (tests swap ``sys.stdout``)."""
        return sys.stderr if self.stderr else sys.stdout

    def print(self, *objects: Any, **_: Any) -> None:
        """Print each object: a table as its lines, anything else as text."""
        for obj in objects:
            text = "\n".join(obj.lines()) if isinstance(obj, Table) else strip_markup(str(obj))
            self.file.write(text + "\n")
        self.file.flush()


class _Column:
    """Progress columns only shape rich's live bar; the plain progress ignores them."""

    def __init__(self, *_: Any, **__: Any) -> None:
        pass


TextColumn = BarColumn = MofNCompleteColumn = TimeElapsedColumn = _Column


class Progress:
    """Keeps the counts of its tasks and prints one line per task when it closes."""

    def __init__(self, *_columns: Any, console: Console | None = None, **_: Any) -> None:
        self.console = console or Console()
        self.tasks: list[dict[str, Any]] = []
        self.started = time.monotonic()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = time.monotonic() - self.started
        for task in self.tasks:
            parts = [f"{task['description']}: {task['completed']}/{task['total']}"]
            parts.extend(f"{key} {value}" for key, value in task["fields"].items())
            parts.append(f"{elapsed:.1f}s")
            self.console.print("  ".join(parts))

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        """Start counting a task; returns its id for :meth:`update`."""
        self.tasks.append(
            {"description": description, "total": total, "completed": 0, "fields": fields}
        )
        return len(self.tasks) - 1

    def update(self, task_id: int, completed: float | None = None, **fields: Any) -> None:
        """Set a task's completed count and fields."""
        task = self.tasks[task_id]
        if completed is not None:
            task["completed"] = completed
        task["fields"].update(fields)
