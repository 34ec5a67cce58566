"""The capability x result table: collected per test, summarised per adapter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from jobplug import Capability
from jobplug_contract.setup import BOUND_LIMITS

CORE = "core"
AREAS = [CORE, *(c.value for c in Capability)]

PASS, FAIL, UNTESTED = "PASS", "FAIL", "UNTESTED"
INCOMPLETE = "INCOMPLETE"  # passed, but tests that need a registered setup could not run
NOT_DECLARED = "not declared"
RAISES = "not declared, refused"
NOT_RUN = "not run (-k)"  # no test of the area was selected
LEGEND = "refused: the undeclared capability raises CapabilityNotSupported, as it must"


@dataclass
class Result:
    """The outcome of one contract test (all of its phases)."""

    nodeid: str
    adapter: str = "?"
    capabilities: tuple[str, ...] = ()
    area: str = CORE
    kind: str = "declared"
    outcome: str = "passed"  # passed | failed | skipped
    reason: str = ""
    gap: str = ""  # skipped for want of a registered setup: what it needed
    bounds: dict[str, float] = field(default_factory=dict)


@dataclass
class Row:
    area: str
    declared: bool
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    skips: list[tuple[str, str]] = field(default_factory=list)  # (test, reason)
    gaps: list[tuple[str, str]] = field(default_factory=list)  # (test, what it needed)
    ran: int = 0  # tests of the area that were selected, gated ones included

    @property
    def verdict(self) -> str:
        if self.failed:
            return FAIL
        if self.area == CORE or self.declared:
            if not self.ran:
                return NOT_RUN
            if not self.passed:
                return UNTESTED
            return INCOMPLETE if self.gaps else PASS
        return RAISES if self.passed else NOT_DECLARED

    @property
    def ok(self) -> bool:
        return self.verdict not in (FAIL, UNTESTED, INCOMPLETE)


def summarize(results: Iterable[Result]) -> dict[str, list[Row]]:
    """Rows per adapter, one per area (core first, then every capability)."""
    by_adapter: dict[str, list[Result]] = {}
    for result in results:
        by_adapter.setdefault(result.adapter, []).append(result)
    tables: dict[str, list[Row]] = {}
    for adapter, items in sorted(by_adapter.items()):
        declared = set().union(*(set(r.capabilities) for r in items))
        rows = {a: Row(a, a == CORE or a in declared) for a in AREAS}
        for r in items:
            row = rows.setdefault(r.area, Row(r.area, r.area in declared))
            row.ran += 1
            if r.outcome == "skipped" and r.gap:
                row.gaps.append((r.nodeid.rpartition("::")[2], r.gap))
            if r.outcome == "skipped" and _gated(r, row.declared):
                continue  # the other half of a declared/undeclared pair: not a real skip
            if r.outcome == "failed":
                row.failed += 1
                row.failures.append(r.nodeid.rpartition("::")[2])
            elif r.outcome == "skipped":
                row.skipped += 1
                row.skips.append((r.nodeid.rpartition("::")[2], r.reason))
            else:
                row.passed += 1
        tables[adapter] = list(rows.values())
    return tables


def _gated(result: Result, declared: bool) -> bool:
    if result.area == CORE:
        return False
    return declared if result.kind == "undeclared" else not declared


def declared_bounds(results: Iterable[Result]) -> dict[str, dict[str, float]]:
    """The time bounds each adapter's setup declared, by adapter."""
    out: dict[str, dict[str, float]] = {}
    for result in results:
        if result.bounds:
            out.setdefault(result.adapter, result.bounds)
    return out


def bounds_caption(bounds: dict[str, float]) -> str:
    """``late_bound 1s (max 10s) ...``: what the adapter promised, next to the suite's cap."""
    parts = []
    for name, limit in BOUND_LIMITS.items():
        if name in bounds:
            value = bounds[name]
            flag = "" if 0 < value <= limit else " ABOVE THE MAXIMUM"
            parts.append(f"{name} {value:g}s (max {limit:g}s){flag}")
    return "declared bounds: " + ", ".join(parts)


def render(adapter: str, rows: list[Row]) -> Table:
    table = Table(title=f"jobplug contract: {adapter}", title_justify="left")
    for column in ("capability", "declared", "pass", "fail", "skip", "result"):
        numeric = column in {"pass", "fail", "skip"}
        table.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        style = {FAIL: "bold red", UNTESTED: "yellow", INCOMPLETE: "yellow", PASS: "green"}.get(
            row.verdict, "dim"
        )
        verdict = row.verdict
        table.add_row(
            row.area,
            "yes" if row.declared else "no",
            str(row.passed),
            str(row.failed),
            str(row.skipped),
            f"[{style}]{verdict}[/]",
        )
    return table


def failure_lines(rows: list[Row]) -> list[str]:
    """One line per failed test, ``area: test``, for the text under the table."""
    return [f"  {row.area}: {name}" for row in rows for name in row.failures]


def to_text(
    tables: dict[str, list[Row]],
    width: int = 120,
    color: bool = False,
    bounds: dict[str, dict[str, float]] | None = None,
) -> str:
    console = Console(width=width, record=True, force_terminal=color, no_color=not color)
    with console.capture() as capture:
        for adapter, rows in tables.items():
            console.print(render(adapter, rows))
            if bounds and adapter in bounds:
                console.print(bounds_caption(bounds[adapter]), highlight=False)
            for line in failure_lines(rows):
                console.print(f"FAILED {line.strip()}", highlight=False)
        console.print(LEGEND)
    return capture.get()
