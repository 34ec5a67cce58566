"""The suite has teeth: run against deliberately broken adapters, the right tests fail.

Each case runs part of the suite (pytester, in process) against one broken adapter from
``broken_adapters``: the tests aimed at its defect must fail, and tests that do not
depend on it must still pass (so the failures come from the defect, not from a suite that
fails everything).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent

MODULE = """
import pytest
from broken_adapters import SETUPS
from jobplug_contract import AdapterContract


class TestBroken(AdapterContract):
    @pytest.fixture
    def adapter(self, tmp_path):
        return SETUPS["{name}"](tmp_path)
"""

#: broken adapter -> (tests that must fail, tests that must still pass)
CASES: dict[str, tuple[set[str], set[str]]] = {
    "acks_before_running": (
        {"test_job_survives_worker_killed_mid_job", "test_stop_after_grace_puts_running_job_back"},
        {"test_args_round_trip_exactly", "test_two_workers_never_run_one_job_twice"},
    ),
    "runs_delayed_now": (
        {"test_perform_in_and_at_run_not_early_and_not_late", "test_scheduled_page_and_delete"},
        {"test_retry_waits_for_the_backoff", "test_args_round_trip_exactly"},
    ),
    "drops_failed_jobs": (
        {
            "test_failed_job_is_retried_with_its_fail_count",
            "test_job_is_dead_after_max_fails",
            "test_retry_signal_counts_a_failure_and_runs_again",
            "test_retry_waits_for_the_backoff",
        },
        {"test_discard_drops_the_job", "test_args_round_trip_exactly"},
    ),
    "leaks_driver_error": (
        {"test_unreachable_broker_raises_connection_error_without_password"},
        {"test_job_survives_worker_killed_mid_job", "test_args_round_trip_exactly"},
    ),
    "leaks_password": (
        {"test_unreachable_broker_raises_connection_error_without_password"},
        {"test_args_round_trip_exactly"},
    ),
    "delivers_twice": (
        {"test_two_workers_never_run_one_job_twice"},
        {"test_perform_after_stop_is_an_error", "test_paused_handler_waits_until_unpaused"},
    ),
    "hides_unique": (
        {"test_undeclared_unique"},
        {"test_args_round_trip_exactly", "test_undeclared_periodic"},
    ),
}


#: broken adapter -> text its first failing test must report (the failure is the defect,
#: not an accident of the setup)
WHY = {
    "acks_before_running": "handed out again",
    "runs_delayed_now": "early",
    "drops_failed_jobs": "timed out",
    "leaks_driver_error": "OperationalError",
    "leaks_password": "the password leaked",
    "delivers_twice": "run more than once",
    "hides_unique": "DID NOT RAISE",
}


def outcomes(pytester: pytest.Pytester, name: str) -> tuple[dict[str, str], str]:
    pytester.syspathinsert(HERE)
    pytester.makepyfile(test_broken=MODULE.format(name=name))
    must_fail, must_pass = CASES[name]
    selected = " or ".join(sorted(must_fail | must_pass))
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:asyncio", "-q", "--tb=line", "-k", selected
    )
    seen: dict[str, str] = {}
    texts: list[str] = []
    for report in result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
        test = report.nodeid.rpartition("::")[2]
        if report.failed:
            seen[test] = "failed"
            texts.append(str(report.longrepr))
        elif report.when == "call" or report.skipped:
            seen.setdefault(test, report.outcome)
    return seen, "\n".join(texts)


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_adapter_fails_the_right_tests(pytester: pytest.Pytester, name: str) -> None:
    must_fail, must_pass = CASES[name]
    seen, failures = outcomes(pytester, name)
    assert set(seen) == must_fail | must_pass, f"unexpected selection: {sorted(seen)}"
    not_failed = {t: seen.get(t, "missing") for t in must_fail if seen.get(t) != "failed"}
    assert not not_failed, f"{name}: these tests should have caught the defect: {not_failed}"
    not_passed = {t: seen.get(t, "missing") for t in must_pass if seen.get(t) != "passed"}
    assert not not_passed, f"{name}: these tests should not depend on the defect: {not_passed}"
    assert WHY[name] in failures, f"{name}: failed, but not for the defect:\n{failures[-3000:]}"
