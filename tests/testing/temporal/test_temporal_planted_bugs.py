"""Two more planted bugs in the bank saga that ``verify_temporal`` finds, with a clear report,
while their fixed twins pass: a deadline checked against the wall clock instead of
``workflow.now()``, and an activity timeout the compensation does not handle."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from bank_flows import (
    ACTIVITIES,
    MOVE,
    TimeoutBlindTransfer,
    TimeoutSafeTransfer,
    WallClockDeadline,
    WorkflowClockDeadline,
    reset,
    settled,
)

from wfkit.testing.temporal import TemporalCrash, TemporalPlan, verify_temporal
from wfkit.testing.temporal.environment import DEFAULT_START
from wfkit.testing.verification import VerificationError

SMALL = {"max_examples": 15, "derandomize": True}


def _verify(workflow_run) -> None:
    verify_temporal(
        workflow_run, MOVE, activities=ACTIVITIES, setup=reset, invariant=settled, **SMALL
    )


def test_the_virtual_clock_and_the_real_clock_are_far_apart():
    """What makes a wall-clock deadline show: the environment's virtual clock starts on
    2026-01-01, a fixed date, so the wall clock is days or more away from workflow time."""
    assert abs(datetime.now(timezone.utc) - DEFAULT_START).days >= 1


def test_a_wall_clock_deadline_is_found_on_the_first_run():
    with pytest.raises(VerificationError) as found:
        _verify(WallClockDeadline.run)
    error = found.value
    assert error.plan == TemporalPlan()  # no fault needed: the happy path expires
    (problem,) = error.problems
    assert problem == (
        "invariant failed: expired after 0:10:00 of workflow time; the deadline is 1:00:00"
    )
    report = str(error)
    assert "+10m      timer 1 fired" in report
    assert "uncharge attempt 1: completed" in report


def test_the_workflow_clock_deadline_passes():
    _verify(WorkflowClockDeadline.run)


def test_an_unhandled_activity_timeout_is_found_as_a_skipped_compensation():
    with pytest.raises(VerificationError) as found:
        _verify(TimeoutBlindTransfer.run)
    error = found.value
    # The worker dies after the credit ran but before its outcome was recorded: the attempt
    # times out after its 5 s start-to-close timeout and is not retried.
    assert error.plan == TemporalPlan(crashes=(TemporalCrash("after", "credit", 1),))
    assert error.problems == [
        "invariant failed: failed (ActivityError) but not compensated: {'a': 90, 'b': 110}"
    ]
    report = str(error)
    assert "credit attempt 1: completed" in report
    assert "worker crashed before the outcome was recorded" in report
    assert "workflow failed" in report


def test_the_timeout_safe_transfer_passes():
    _verify(TimeoutSafeTransfer.run)
