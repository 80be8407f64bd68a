"""Driving a run by hand: start, look, then send an event, cancel or advance virtual time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from wfkit import Context, step, workflow
from wfkit.errors import UsageError
from wfkit.testing import RunState, TestWorkflowContext, UnusedEvent, WorkflowFailed

UNDONE: list[str] = []


@step
def request_approval(doc: str) -> str:
    return f"req-{doc}"


@request_approval.compensation
def withdraw(doc: str, request: str) -> None:
    UNDONE.append(request)


@step
def escalate(doc: str) -> str:
    return f"escalated {doc}"


@workflow
def approval(ctx: Context, doc: str) -> str:
    ctx.step(request_approval, doc)
    decision = ctx.wait_for_event("approval", timeout=timedelta(days=3))
    if decision is None:
        ctx.step(escalate, doc)
        decision = ctx.wait_for_event("approval", timeout=timedelta(days=4))
    return "expired" if decision is None else decision["by"]


def test_start_parks_the_run_and_state_shows_what_it_waits_for():
    ctx = TestWorkflowContext(start="2026-01-01T00:00:00Z")
    state = ctx.start(approval, "doc-1")
    assert isinstance(state, RunState)
    assert state.status == "WAITING" and state.waiting_for == "approval"
    assert state.results == {"request_approval": ["req-doc-1"]}
    assert state.wake_at == datetime(2026, 1, 4, tzinfo=timezone.utc)
    assert state.now == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_advance_lets_time_pass_to_a_point_chosen_after_looking():
    ctx = TestWorkflowContext(start="2026-01-01T00:00:00Z")
    ctx.start(approval, "doc-1")
    state = ctx.advance(timedelta(days=2))
    assert state.status == "WAITING" and "escalate" not in state.results
    state = ctx.advance(timedelta(days=1))  # the first timeout expires
    assert state.results["escalate"] == ["escalated doc-1"]
    assert state.now == datetime(2026, 1, 4, tzinfo=timezone.utc)
    ctx.send_event("approval", {"by": "boss"})  # now, seeing the escalation
    state = ctx.advance(timedelta(0))
    assert state.status == "COMPLETED" and ctx.result == "boss"


def test_finish_runs_to_the_end_like_run():
    ctx = TestWorkflowContext()
    ctx.start(approval, "doc-1")
    assert ctx.finish() == "expired"
    assert ctx.now() - ctx.state().now == timedelta(0)


def test_cancel_at_a_chosen_point_compensates():
    UNDONE.clear()
    ctx = TestWorkflowContext()
    ctx.start(approval, "doc-1")
    state = ctx.cancel()
    assert state.status == "CANCELLED" and state.waiting_for is None
    assert UNDONE == ["req-doc-1"]
    with pytest.raises(WorkflowFailed) as failed:
        ctx.finish()
    assert failed.value.status == "CANCELLED"


def test_the_end_of_run_checks_run_when_advance_ends_the_run():
    ctx = TestWorkflowContext()
    ctx.start(approval, "doc-1")
    ctx.send_event("aproval", {"by": "boss"})  # misspelt: nobody waits for it
    with pytest.raises(UnusedEvent):
        ctx.advance(timedelta(days=8))


def test_acting_before_start_is_a_usage_error():
    ctx = TestWorkflowContext()
    with pytest.raises(UsageError, match="before start"):
        ctx.advance(timedelta(hours=1))
