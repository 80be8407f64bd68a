"""``verify_temporal`` and ``crash_matrix_temporal`` on a bank-transfer saga: the fixed saga
passes, its planted-bug twins are found with the shrunk plan's timeline, every recorded history
goes through temporalio's Replayer, and the crash matrix is one row per crash point."""

from __future__ import annotations

import asyncio

import pytest
from bank_flows import (
    ACTIVITIES,
    MOVE,
    ChangedSafeTransfer,
    DoubleChargeTransfer,
    Forgetful,
    NoRefundTransfer,
    Reminder,
    SafeTransfer,
    conserved,
    credit,
    reset,
    reset_forgetful,
)

from wfkit.testing.temporal import (
    TemporalCrash,
    TemporalFailure,
    TemporalPlan,
    crash_matrix_temporal,
    verify_temporal,
)
from wfkit.testing.temporal.verification import TemporalChecker
from wfkit.testing.verification import VerificationError

SMALL = {"max_examples": 15, "derandomize": True}


def test_the_fixed_saga_passes_and_the_summary_counts_crashes_and_failures():
    summary = verify_temporal(
        SafeTransfer.run, MOVE, activities=ACTIVITIES, setup=reset, invariant=conserved, **SMALL
    )
    assert summary.tool == "verify_temporal"
    # The happy path, the 6 single-fault plans (4 crash points, 2 activities failing for
    # good) and what Hypothesis explored.
    assert summary.examples >= 7
    assert summary.outcomes["COMPLETED"] >= 1 and summary.outcomes["FAILED"] >= 1
    assert summary.crashed >= 4
    assert summary.line().startswith("verify_temporal(SafeTransfer): ")


def test_a_missing_compensation_is_found_with_the_plan_and_its_timeline():
    with pytest.raises(VerificationError) as found:
        verify_temporal(
            NoRefundTransfer.run,
            MOVE,
            activities=ACTIVITIES,
            setup=reset,
            invariant=conserved,
            **SMALL,
        )
    error = found.value
    assert error.plan == TemporalPlan(failures=(TemporalFailure("credit", 1, retryable=False),))
    assert error.problems == ["invariant failed: money not conserved: {'a': 90, 'b': 100}"]
    report = str(error)
    assert "+0s       charge_once attempt 1: completed" in report
    assert "credit attempt 1: failed InjectedFailure: injected failure (non-retryable)" in report
    assert f"plan={error.plan!r}" in report


def test_a_double_charge_across_a_crash_is_found():
    with pytest.raises(VerificationError) as found:
        verify_temporal(
            DoubleChargeTransfer.run,
            MOVE,
            activities=ACTIVITIES,
            setup=reset,
            invariant=conserved,
            **SMALL,
        )
    assert found.value.plan == TemporalPlan(crashes=(TemporalCrash("after", "charge", 1),))
    report = str(found.value)
    assert "worker crashed before the outcome was recorded; rebuilt by replay" in report
    assert "+6s       charge attempt 2: completed" in report  # 5 s timeout + 1 s backoff
    assert "{'a': 80, 'b': 110}" in report


def test_a_regression_plan_is_checked_alone():
    plan = TemporalPlan(crashes=(TemporalCrash("after", "charge", 1),))
    summary = verify_temporal(
        SafeTransfer.run,
        MOVE,
        activities=ACTIVITIES,
        setup=reset,
        invariant=conserved,
        plan=TemporalPlan(crashes=(TemporalCrash("after", "charge_once", 1),)),
    )
    assert (summary.examples, summary.crashed) == (1, 1)
    with pytest.raises(VerificationError):
        verify_temporal(
            DoubleChargeTransfer.run,
            MOVE,
            activities=ACTIVITIES,
            setup=reset,
            invariant=conserved,
            plan=plan,
        )


def test_workflow_code_that_differs_on_replay_is_reported_as_non_determinism():
    # Even the happy path fails: temporalio's Replayer builds a new instance, which differs.
    with pytest.raises(VerificationError) as found:
        verify_temporal(Forgetful.run, MOVE, activities=ACTIVITIES, setup=reset_forgetful, **SMALL)
    assert found.value.plan == TemporalPlan()
    (problem,) = found.value.problems
    assert problem.startswith("temporalio's Replayer rejects the history: NondeterminismError")
    assert "TMPRL1100" in problem
    # A crash mid-run rebuilds the instance in the environment: it stops with the same error.
    with pytest.raises(VerificationError) as found:
        verify_temporal(
            Forgetful.run,
            MOVE,
            activities=ACTIVITIES,
            setup=reset_forgetful,
            plan=TemporalPlan(crashes=(TemporalCrash("after_checkpoint", "charge_once", 1),)),
        )
    (problem,) = found.value.problems
    assert problem.startswith("the run did not end: ")
    assert "TMPRL1100" in problem


def test_a_crash_that_changes_the_ending_is_a_problem_even_without_an_invariant():
    # A crash after a recorded outcome loses nothing, so the run must end as without it.
    # Here the "crash" also changes the world the activity sees: the invariant is not needed.
    def setup(env):
        reset()

        def cold_after_restart(move):
            if env.runs["verify-1"].crashes:
                raise RuntimeError("worker restarted: cache cold")
            return "credited"

        env.mock(credit, side_effect=cold_after_restart)

    with pytest.raises(VerificationError) as found:
        verify_temporal(
            SafeTransfer.run,
            MOVE,
            activities=ACTIVITIES,
            setup=setup,
            plan=TemporalPlan(crashes=(TemporalCrash("after_checkpoint", "charge_once", 1),)),
        )
    (problem,) = found.value.problems
    assert problem.startswith("with crashes the run ended FAILED (Reverted")
    assert "the same plan without crashes ends COMPLETED (['charged', 'credited'])" in problem


def test_every_distinct_history_goes_through_temporals_replayer():
    checker = TemporalChecker(SafeTransfer.run, (MOVE,), ACTIVITIES, (), reset, None, _start())
    outcome = checker.run(TemporalPlan())
    assert checker.replay_problem(outcome) is None
    assert len(checker.replayed) == 1

    other = TemporalChecker(ChangedSafeTransfer.run, (MOVE,), ACTIVITIES, (), reset, None, _start())
    problem = other.replay_problem(outcome)
    assert problem is not None
    assert problem.startswith("temporalio's Replayer rejects the history: ")
    assert "Nondeterminism" in problem or "nondeterminism" in problem.lower()


def test_the_crash_matrix_has_a_row_per_crash_point():
    table = crash_matrix_temporal(
        SafeTransfer.run, MOVE, activities=ACTIVITIES, setup=reset, invariant=conserved
    )
    assert table.ok
    rows = [(c.seq, c.kind, c.name, c.point) for c in table.cells]
    assert rows == [
        (1, "activity", "charge_once", "after"),
        (1, "activity", "charge_once", "after_checkpoint"),
        (2, "activity", "credit", "after"),
        (2, "activity", "credit", "after_checkpoint"),
    ]
    assert all(c.outcome == "COMPLETED (['charged', 'credited'])" for c in table.cells)
    assert "crash matrix of SafeTransfer" in str(table)


def test_the_crash_matrix_crashes_at_timers_too_and_is_deterministic():
    first = crash_matrix_temporal(Reminder.run, MOVE, activities=ACTIVITIES, setup=reset)
    again = crash_matrix_temporal(Reminder.run, MOVE, activities=ACTIVITIES, setup=reset)
    assert first.cells == again.cells
    assert [(c.kind, c.point) for c in first.cells if c.kind == "timer"] == [
        ("timer", "timer"),
        ("timer", "timer"),
    ]
    assert len(first.cells) == 6 and first.ok


def test_the_crash_matrix_of_the_double_charge_fails_with_the_table():
    with pytest.raises(VerificationError) as found:
        crash_matrix_temporal(
            DoubleChargeTransfer.run, MOVE, activities=ACTIVITIES, setup=reset, invariant=conserved
        )
    report = str(found.value)
    assert "crash matrix of DoubleChargeTransfer" in report
    assert "FAIL: invariant failed: money not conserved" in report
    assert found.value.plan == TemporalPlan(crashes=(TemporalCrash("after", "charge", 1),))


def test_fail_and_crash_at_timer_in_the_environment(temporal_env):
    from temporal_flows import ACTIVITIES as FLOW_ACTIVITIES
    from temporal_flows import MoneyTransfer, Reminders, Transfer, notify

    env = temporal_env(activities=FLOW_ACTIVITIES)
    env.fail("deposit", attempt=1)  # retryable: attempt 2 runs the real deposit
    result = asyncio.run(env.execute(MoneyTransfer.run, Transfer("a", "b", 5, "r"), id="t-1"))
    assert result[1] == "deposited 5 to b (attempt 2)"
    env.crash_at_timer(2)
    asyncio.run(env.execute(Reminders.run, 3, id="r-1"))
    assert env.runs["r-1"].crashes == 1
    assert env.executions(notify) == 3
    assert any("timer 2 fired" in text for _, _, text in env.log)


def _start():
    from wfkit.testing.temporal.environment import DEFAULT_START

    return DEFAULT_START


def test_a_fake_that_always_raises_a_programming_error_is_reported():
    def setup(env):
        reset()
        env.mock(credit, side_effect=lambda move: move.amout)  # a typo in the test's fake

    with pytest.raises(VerificationError) as found:
        verify_temporal(SafeTransfer.run, MOVE, activities=ACTIVITIES, setup=setup, **SMALL)
    (problem,) = found.value.problems
    assert "ended FAILED by AttributeError: 'Move' object has no attribute 'amout'" in problem
    assert "raised in activity 'credit'" in problem
    summary = verify_temporal(
        SafeTransfer.run,
        MOVE,
        activities=ACTIVITIES,
        setup=setup,
        allow_uniform_failure=True,
        **SMALL,
    )
    assert summary.outcomes["COMPLETED"] == 0


def test_a_workflow_with_children_is_explored_and_every_history_replayed():
    from temporal_flows import ACTIVITIES as FLOW_ACTIVITIES
    from temporal_flows import Failing, Parent, Reminders

    checker = TemporalChecker(
        Parent.run, (), FLOW_ACTIVITIES, [Reminders, Failing], None, None, _start()
    )
    outcome = checker.run(TemporalPlan(crashes=(TemporalCrash("timer", None, 1),)))
    assert outcome.status == "COMPLETED"
    assert checker.replay_problem(outcome) is None
    assert len(checker.replayed) == 3  # the parent's history and each child's
    summary = verify_temporal(
        Parent.run, activities=FLOW_ACTIVITIES, workflows=[Reminders, Failing], **SMALL
    )
    assert summary.crashed > 0 and summary.outcomes["COMPLETED"] > 0
