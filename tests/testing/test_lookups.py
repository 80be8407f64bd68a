"""Lookups (calls, executions, step_completed, compensation_ran) name a step by one rule, and a
lookup that can never match fails instead of answering "nothing happened"."""

from __future__ import annotations

import pytest

from wfkit import Context, Retry, step, workflow
from wfkit.testing import TestWorkflowContext, UnknownStep, WorkflowFailed


@step
def charge(account: str) -> str:
    return f"txn-{account}"


@charge.compensation
def refund(account: str, txn: str) -> None:
    pass


@step(retry=Retry(attempts=1))
def ship(account: str) -> str:
    raise ConnectionError("no trucks")


@step
def notify(account: str) -> None:
    pass


@workflow
def renamed(ctx: Context, account: str) -> str:
    txn = ctx.step(charge, account, name="charge-card")  # the call renames the step
    if account == "ship":
        ctx.step(ship, account)
    if account == "never":
        ctx.step(notify, account)
    return txn


def test_lookups_by_the_step_find_a_renamed_call() -> None:
    ctx = TestWorkflowContext()
    ctx.run(renamed, "a-1")
    assert ctx.calls(charge) == [("a-1",)]
    assert ctx.executions(charge) == 1
    assert ctx.step_completed(charge)
    assert ctx.calls("charge-card") == [("a-1",)]  # by the name the workflow gives it


def test_compensation_ran_finds_the_renamed_step() -> None:
    ctx = TestWorkflowContext()
    with pytest.raises(WorkflowFailed):
        ctx.run(renamed, "ship")
    assert ctx.compensation_ran(charge) and ctx.compensation_ran("charge-card")
    assert not ctx.step_completed(ship)


def test_a_lookup_of_a_step_the_run_did_not_reach_answers_no() -> None:
    ctx = TestWorkflowContext()
    ctx.run(renamed, "a-1")
    assert ctx.calls(notify) == [] and ctx.executions("notify") == 0
    assert not ctx.compensation_ran(charge)


@pytest.mark.parametrize("target", ["charge", "chrage-card", "refund_payment"])
def test_a_lookup_that_can_never_match_fails(target: str) -> None:
    ctx = TestWorkflowContext()
    ctx.run(renamed, "a-1")
    with pytest.raises(UnknownStep) as unknown:
        ctx.calls(target)
    assert unknown.value.target == f"the name {target!r}"
    assert "charge-card" in unknown.value.known


def test_a_lookup_of_a_step_the_workflow_never_calls_fails() -> None:
    @step
    def elsewhere() -> None:
        pass

    ctx = TestWorkflowContext()
    ctx.run(renamed, "a-1")
    for lookup in (ctx.calls, ctx.executions, ctx.step_completed, ctx.compensation_ran):
        with pytest.raises(UnknownStep):
            lookup(elsewhere)


def test_a_name_specific_mock_overrides_the_function_mock() -> None:
    ctx = TestWorkflowContext()
    ctx.mock(charge, returns="by-function")
    ctx.mock("charge-card", returns="by-name")
    assert ctx.run(renamed, "a-1") == "by-name"
