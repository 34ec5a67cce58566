"""The pytest plugin is inert until a contract test runs, and the table reflects results."""

from __future__ import annotations

import pytest

from jobplug_contract.report import (
    FAIL,
    INCOMPLETE,
    NOT_DECLARED,
    NOT_RUN,
    PASS,
    RAISES,
    UNTESTED,
    Result,
    bounds_caption,
    summarize,
)

pytest_plugins = ["pytester"]


def test_plugin_is_inert_in_a_session_without_contract_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio", "-q")
    result.assert_outcomes(passed=1)
    assert "jobplug contract" not in result.stdout.str()


def test_adapter_fixture_must_be_overridden(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_forgot="""
from jobplug_contract import AdapterContract

class TestForgot(AdapterContract):
    pass
"""
    )
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:asyncio", "-q", "-k", "context_manager"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*must override the 'adapter' fixture*"])


def _result(area: str, outcome: str, kind: str = "declared", caps: tuple[str, ...] = ()) -> Result:
    return Result(f"t::{area}_{outcome}_{kind}", "X", caps, area, kind, outcome)


def test_verdicts() -> None:
    caps = ("delayed", "unique")
    rows = {
        row.area: row
        for row in summarize(
            [
                _result("core", "passed", caps=caps),
                _result("delayed", "passed", caps=caps),
                _result("delayed", "skipped", "undeclared", caps),  # gate: not counted
                _result("unique", "failed", caps=caps),
                _result("pause", "passed", "undeclared", caps),
                _result("pause", "skipped", caps=caps),  # gate: not counted
            ]
        )["X"]
    }
    assert rows["core"].verdict == PASS
    assert (rows["delayed"].verdict, rows["delayed"].skipped) == (PASS, 0)
    assert rows["unique"].verdict == FAIL and rows["unique"].failures == ["unique_failed_declared"]
    assert (rows["pause"].verdict, rows["pause"].skipped) == (RAISES, 0)
    assert rows["durable"].verdict == NOT_DECLARED
    assert rows["dead-letter"].declared is False
    untested = summarize([_result("inspect", "skipped", caps=("inspect",))])["X"]
    assert {r.area: r.verdict for r in untested}["inspect"] == UNTESTED


def test_unselected_areas_are_not_run_and_gaps_are_incomplete() -> None:
    """-k: an area with no selected test is "not run", not failed nor untested. A test
    skipped for want of a registered setup leaves its area INCOMPLETE, not PASS."""
    caps = ("delayed",)
    gap = _result("core", "skipped", caps=caps)
    gap.gap = "needs the setup's inject_raw hook"
    rows = {row.area: row for row in summarize([_result("core", "passed", caps=caps), gap])["X"]}
    assert rows["delayed"].verdict == NOT_RUN and rows["delayed"].ok
    assert rows["core"].verdict == INCOMPLETE and not rows["core"].ok
    assert rows["core"].gaps == [("core_skipped_declared", "needs the setup's inject_raw hook")]


def test_bounds_caption_flags_what_is_above_the_maximum() -> None:
    text = bounds_caption({"late_bound": 3600.0, "redelivery_timeout": 5.0, "wait": 5.0})
    assert "late_bound 3600s (max 10s) ABOVE THE MAXIMUM" in text
    assert "redelivery_timeout 5s (max 120s)," in text
