"""The pytest plugin (entry point ``pytest11``): inert until a contract test runs.

It registers the ``jobplug_contract`` marker, collects the outcome of every contract test
and, if there was any, prints the capability x result table at the end of the session.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest

from jobplug_contract.report import Result, declared_bounds, summarize, to_text

COLLECTOR = "jobplug-contract-collector"


class Collector:
    """Outcomes of the contract tests of one session, by node id."""

    def __init__(self) -> None:
        self.results: dict[str, Result] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            mark = item.get_closest_marker("jobplug_contract")
            if mark is not None:
                item.user_properties.append(("jobplug_area", mark.kwargs.get("area", "core")))
                item.user_properties.append(("jobplug_kind", mark.kwargs.get("kind", "declared")))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if "jobplug_area" not in props:
            return
        result = self.results.setdefault(report.nodeid, Result(report.nodeid))
        result.area = str(props["jobplug_area"])
        result.kind = str(props["jobplug_kind"])
        if "jobplug_adapter" in props:
            result.adapter = str(props["jobplug_adapter"])
            caps: Any = props.get("jobplug_capabilities", ())
            result.capabilities = tuple(caps)
            bounds: Any = props.get("jobplug_bounds", {})
            result.bounds = dict(bounds)
        if "jobplug_gap" in props:
            result.gap = str(props["jobplug_gap"])
        if report.failed:
            result.outcome = "failed"
            result.reason = str(report.longrepr)[-800:]
        elif report.skipped and result.outcome != "failed":
            result.outcome = "skipped"
            longrepr: Any = report.longrepr
            reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
            result.reason = reason.removeprefix("Skipped: ")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        path = terminalreporter.config.getoption("jobplug_contract_json", None)
        if path:
            with open(path, "w", encoding="utf-8") as out:
                json.dump([asdict(r) for r in self.results.values()], out, indent=1)
        if not self.results or terminalreporter.config.getoption("jobplug_contract_json", None):
            return
        terminalreporter.section("jobplug contract: capability x result")
        results = list(self.results.values())
        text = to_text(
            summarize(results), color=terminalreporter.hasmarkup, bounds=declared_bounds(results)
        )
        for line in text.rstrip("\n").splitlines():
            terminalreporter.write_line(line)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--jobplug-contract-json",
        metavar="PATH",
        default=None,
        help="write the jobplug contract results to PATH as JSON (used by jobplug certify)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "jobplug_contract(area, kind): a jobplug conformance test of one capability area",
    )
    if not config.pluginmanager.has_plugin(COLLECTOR):
        config.pluginmanager.register(Collector(), COLLECTOR)


def collector(config: pytest.Config) -> Collector | None:
    plugin = config.pluginmanager.get_plugin(COLLECTOR)
    return plugin if isinstance(plugin, Collector) else None
