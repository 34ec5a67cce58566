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
    "ack_never_deletes": (
        {"test_job_survives_worker_killed_mid_job"},
        {"test_args_round_trip_exactly"},
    ),
    "ack_does_nothing": (
        {"test_stop_lets_running_job_finish_and_acks_it"},
        {"test_args_round_trip_exactly"},
    ),
    "never_renews_leases": (
        {"test_job_survives_worker_killed_mid_job"},
        {"test_args_round_trip_exactly"},
    ),
    "pauses_per_process": (
        {"test_pause_holds_in_another_process"},
        {"test_paused_handler_waits_until_unpaused"},
    ),
    "caps_per_process": (
        {"test_max_concurrency_holds_across_processes"},
        {"test_max_concurrency_holds_across_workers"},
    ),
    "leaks_later_driver_errors": (
        {"test_backend_failure_mid_run_is_a_broker_error_and_the_worker_goes_on"},
        {"test_unreachable_broker_raises_connection_error_without_password"},
    ),
    "logs_password": (
        {"test_args_round_trip_exactly", "test_context_manager_starts_and_stops"},
        {"test_unknown_scheme_names_the_installed_ones"},
    ),
    "unique_ignores_at": (
        {"test_unique_job_runs_at_its_time"},
        {"test_unique_jobs_are_enqueued_once_while_pending"},
    ),
    "loses_queue_and_meta": (
        {"test_args_round_trip_exactly"},
        {"test_two_workers_never_run_one_job_twice"},
    ),
    "reads_local_time": (
        {"test_perform_in_and_at_run_not_early_and_not_late"},
        {"test_args_round_trip_exactly"},
    ),
    "declares_huge_late_bound": (
        {"test_declared_time_bounds_are_sane"},
        {"test_args_round_trip_exactly"},
    ),
    "counts_scheduled_as_queued": (
        {"test_queues_count_waiting_jobs"},
        {"test_scheduled_page_and_delete"},
    ),
    "dead_page_one": (
        {"test_dead_pages_are_distinct"},
        {"test_dead_page_retry_and_delete"},
    ),
    "delete_dead_deletes_all": (
        {"test_dead_page_retry_and_delete"},
        {"test_dead_pages_are_distinct"},
    ),
}


#: broken adapter -> text its first failing test must report (the failure is the defect,
#: not an accident of the setup)
WHY = {
    "acks_before_running": "handed out again",
    "runs_delayed_now": "early",
    "drops_failed_jobs": "timed out",
    "leaks_driver_error": "LeaksDriverError.connect() raised sqlite3.OperationalError",
    "leaks_password": "the password leaked",
    "delivers_twice": "run more than once",
    "hides_unique": "DID NOT RAISE",
    "ack_never_deletes": "had finished and been acked ran 2 times: ack must remove the job",
    "ack_does_nothing": "a job finished before stop() ran again",
    "never_renews_leases": "leases or heartbeats must be renewed while a job runs",
    "pauses_per_process": "pause must hold in every process",
    "caps_per_process": "the limit must hold across processes",
    # fetch() or the ack of the job before: whichever reaches the store first after the
    # failure; either way the message names the broker's method and the driver's error.
    "leaks_later_driver_errors": "raised sqlite3.OperationalError: no such table: jobs",
    "logs_password": "the password of the URL was logged (logger 'broken.adapter', INFO)",
    "unique_ignores_at": "enqueue_unique ignored `at`",
    "loses_queue_and_meta": "Job.queue was lost on the way",
    "reads_local_time": "early",
    "declares_huge_late_bound": "late_bound=3600s (the suite accepts at most 10s)",
    "counts_scheduled_as_queued": "counts a job that is not due yet",
    "dead_page_one": "the page number is ignored",
    "delete_dead_deletes_all": "delete_dead(id) deleted other dead jobs too",
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


def test_failure_output_shows_the_test_not_the_event_loop(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert(HERE)
    pytester.makepyfile(test_broken=MODULE.format(name="drops_failed_jobs"))
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:asyncio", "--tb=short", "-k", "dead_after_max_fails"
    )
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "timed out after 3.0s waiting for the job to go dead" in out
    # The traceback pytest shows; the captured log lines after it carry the handler's own.
    shown = out.split("Captured log")[0]
    for noise in ("runners.py", "base_events.py", "run_contract_test", "recorder.py"):
        assert noise not in shown, f"{noise} in the failure output:\n{out}"
