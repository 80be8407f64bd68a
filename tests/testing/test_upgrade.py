"""``verify_upgrade``: runs of the old code taken over by the new code at Hypothesis-drawn
points (after a step, during a wait, during compensation) replay without divergence and keep
the invariant; a failure is a shrunk timeline naming the first divergent operation."""

from __future__ import annotations

import re

import pytest
import upgrade_flows as new
import upgrade_flows_v1 as v1

from wfkit.engine.core.numbering import COMPENSATION_SEQ_BASE
from wfkit.engine.status import RunStatus
from wfkit.errors import DefinitionError
from wfkit.testing import Failure, Plan, Upgrade, UpgradePlan, VerificationError, verify_upgrade

EXAMPLES = dict(max_examples=60, derandomize=True)
EVENTS = {"paid": [True]}


def charged_if_shipped(ctx) -> None:
    if ctx.status == RunStatus.COMPLETED:
        assert ctx.step_completed("charge"), "the order shipped without being charged"


def test_a_safe_upgrade_passes_and_upgrades_runs_mid_way():
    summary = verify_upgrade(
        v1.order, new.order_appended, "book", events=EVENTS, invariant=charged_if_shipped,
        **EXAMPLES,
    )  # fmt: skip
    assert summary.examples == 60
    upgraded = int(re.search(r"(\d+) of 60 runs upgraded mid-way", summary.line()).group(1))
    assert 0 < upgraded < 60  # some runs were taken over, some ended before the point
    assert summary.line().startswith("verify_upgrade(order): 60 examples")


def test_an_inserted_step_fails_naming_the_first_divergent_operation():
    with pytest.raises(VerificationError) as found:
        verify_upgrade(v1.order, new.order_inserted, "book", events=EVENTS, **EXAMPLES)
    error = found.value
    assert isinstance(error.plan, UpgradePlan)
    (problem,) = error.problems
    assert problem.startswith("the new code diverged from the run the old code recorded: ")
    assert "operation #3 was recorded as step 'charge'" in problem
    assert "but the code now does step 'notify'" in problem
    report = str(error)
    assert report.startswith(
        "verify_upgrade(upgrade_flows_v1.order -> upgrade_flows.order_inserted) found a problem"
    )
    assert "deploy: the process running the old code stops" in report
    assert "resumed by a new process" in report
    # shrunk: no injected failure is needed to show it
    assert error.plan.failures == ()
    # the regression test it prints runs as pasted, and fails the same way
    assert "verify_upgrade(upgrade_flows_v1.order, upgrade_flows.order_inserted, 'book', " in report
    with pytest.raises(VerificationError) as again:
        verify_upgrade(v1.order, new.order_inserted, "book", plan=error.plan)
    assert again.value.problems == error.problems


def test_the_same_insertion_behind_a_version_gate_passes():
    summary = verify_upgrade(
        v1.order, new.order_patched, "book", events=EVENTS, invariant=charged_if_shipped,
        **EXAMPLES,
    )  # fmt: skip
    assert summary.examples == 60


def test_an_invariant_violation_after_the_upgrade_is_shrunk():
    with pytest.raises(VerificationError) as found:
        verify_upgrade(
            v1.order, new.order_charge_moved, "book", events=EVENTS,
            invariant=charged_if_shipped, **EXAMPLES,
        )  # fmt: skip
    error = found.value
    # (pytest's assertion rewriting adds its explanation after the first line)
    (problem,) = error.problems
    assert (
        problem.splitlines()[0] == "the invariant failed: the order shipped without being charged"
    )
    # the smallest plan: no failures, the event left out or arriving at once, the new code
    # taking over at once, while the run is parked on the wait (before the charge)
    plan = error.plan
    assert plan.failures == () and plan.upgrade.downtime == 0.0
    assert all(arrival.after == 0.0 for arrival in plan.events)
    report = str(error)
    assert "#2 event paid: waiting for event" in report
    assert report.index("waiting for event") < report.index("deploy: the process running")
    # the same change is fine for runs the new code starts (the bug is in the upgrade only)
    from wfkit.testing import verify

    verify(new.order_charge_moved, "book", events=EVENTS, invariant=charged_if_shipped,
           max_examples=20, derandomize=True)  # fmt: skip


def test_an_upgrade_during_compensation():
    # charge (#3) fails for good: reserve is compensated; the old process stops inside the
    # compensation, after its effect, and the new code finishes it
    plan = UpgradePlan(
        failures=(Failure(3, None),),
        events=(),
        upgrade=Upgrade(seq=COMPENSATION_SEQ_BASE + 1, point="after"),
    )
    summary = verify_upgrade(v1.order, new.order_patched, "book", plan=plan)
    assert summary.outcomes == {"COMPENSATED": 1}
    assert summary.examples == 1 and v1.order.name == new.order_patched.name


def test_an_upgrade_during_a_wait():
    # the old code parks the run on "paid" (recorded: reserve, the wait); a day later the new
    # code takes over: a step inserted after the wait is safe for this run (nothing is
    # recorded there yet), the deleted charge after the wait is not
    during_the_wait = UpgradePlan(events=(), upgrade=Upgrade(seq=None, after=86400.0))
    summary = verify_upgrade(v1.order, new.order_inserted, "book", plan=during_the_wait)
    assert summary.outcomes == {"COMPLETED": 1}
    with pytest.raises(VerificationError) as found:
        verify_upgrade(
            v1.order,
            new.order_charge_moved,
            "book",
            plan=during_the_wait,
            invariant=charged_if_shipped,
        )
    assert "the old code runs for 1d; the new code takes over 0s later" in str(found.value)
    assert found.value.problems[0].startswith("the invariant failed: the order shipped")


def test_bad_input_is_a_definition_error():
    with pytest.raises(DefinitionError, match="runs of the one never resume on the other"):
        verify_upgrade(v1.order, new.renamed, "book")
    with pytest.raises(DefinitionError, match="must be a @workflow"):
        verify_upgrade(v1.order, new.notify, "book")
    with pytest.raises(DefinitionError, match="needs an UpgradePlan"):
        verify_upgrade(v1.order, new.order_patched, "book", plan=Plan())
    with pytest.raises(DefinitionError, match="Upgrade point must be one of"):
        Upgrade(seq=1, point="sideways")
