"""Cancelling a child from its parent, parent close policies (TERMINATE, REQUEST_CANCEL,
ABANDON) applied when the parent closes, and signals to and cancellation of other workflows
(``workflow.get_external_workflow_handle``) for runs in the same environment: the events on
both sides as a server records them, the outcomes the workflows see, crashes, and every history
through temporalio's Replayer (the conftest's check)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from lifecycle_flows import (
    LIFECYCLE_WORKFLOWS,
    CancellingParent,
    Messenger,
    ShortParent,
    Sleeper,
    Waiter,
)
from temporal_flows import ACTIVITIES, WORKFLOWS, notify
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import CancelledError, TerminatedError

from wfkit.testing.temporal import verify_temporal

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _types(run) -> list[str]:
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in run.history().events]


def _event(run, kind: str):
    (found,) = [e for e in run.history().events if EventType.Name(e.event_type) == kind]
    return found


def _env(temporal_env):
    return temporal_env(workflows=WORKFLOWS + LIFECYCLE_WORKFLOWS, activities=ACTIVITIES)


def test_a_parent_cancels_its_child_and_waits_for_it_to_end_cancelled(temporal_env):
    env = _env(temporal_env)
    assert asyncio.run(env.execute(CancellingParent.run, id="cp")) == "child ended: CancelledError"
    parent, child = env.runs["cp"], env.runs["sleeper"]
    types = _types(parent)
    requested = types.index("REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED")
    assert types[requested + 1] == "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED"
    assert types.index("CHILD_WORKFLOW_EXECUTION_CANCELED") > requested
    initiated = _event(parent, "EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED")
    attrs = initiated.request_cancel_external_workflow_execution_initiated_event_attributes
    assert attrs.child_workflow_only and attrs.workflow_execution.workflow_id == "sleeper"
    cancel = _event(child, "EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED")
    cancel_attrs = cancel.workflow_execution_cancel_requested_event_attributes
    assert cancel_attrs.external_workflow_execution.workflow_id == "cp"
    assert cancel_attrs.external_initiated_event_id == initiated.event_id
    assert _types(child)[-1] == "WORKFLOW_EXECUTION_CANCELED"
    assert env.executions(notify) == 1  # the child's cleanup ran before it ended
    assert env.now == START + timedelta(minutes=1)


def test_a_parent_crashing_around_the_cancellation_is_rebuilt(temporal_env):
    env = _env(temporal_env)
    env.crash_at_timer(1)  # the parent's minute: it cancels the child on a rebuilt instance
    env.crash_after(notify)  # the child's cleanup
    assert asyncio.run(env.execute(CancellingParent.run, id="cp")) == "child ended: CancelledError"
    assert env.runs["cp"].crashes == 1 and env.runs["sleeper"].crashes == 1


def test_verify_temporal_explores_a_parent_that_cancels_its_child():
    summary = verify_temporal(
        CancellingParent.run,
        workflows=[Sleeper],
        activities=ACTIVITIES,
        # The child ends cancelled, or failed when its cleanup failed for good.
        invariant=lambda outcome: (
            outcome.result in ("child ended: CancelledError", "child ended: ActivityError")
        ),
        max_examples=10,
        derandomize=True,
    )
    assert summary.crashed >= 3


def _finish(env, policy: str):
    async def scenario():
        parent = await env.start(ShortParent.run, policy, id="sp")
        done = await parent.result()
        assert env.now == START + timedelta(minutes=1)
        child = env.runs[f"sleeper-{policy}"]
        try:
            return done, child, await child.result()
        except WorkflowFailureError as ended:
            return done, child, ended.cause

    return asyncio.run(scenario())


def test_parent_close_policy_terminate_is_the_default_and_terminates_the_child(temporal_env):
    env = _env(temporal_env)
    done, child, ended = _finish(env, "terminate")
    assert done == "parent done"
    assert isinstance(ended, TerminatedError)
    assert _types(child)[-2:] == ["TIMER_STARTED", "WORKFLOW_EXECUTION_TERMINATED"]
    terminated = child.history().events[-1].workflow_execution_terminated_event_attributes
    assert terminated.reason == "by parent close policy"
    assert env.executions(notify) == 0  # a terminated workflow runs no more code


def test_parent_close_policy_request_cancel_cancels_the_child(temporal_env):
    env = _env(temporal_env)
    _, child, ended = _finish(env, "request_cancel")
    assert isinstance(ended, CancelledError)
    assert "WORKFLOW_EXECUTION_CANCEL_REQUESTED" in _types(child)
    assert _types(child)[-1] == "WORKFLOW_EXECUTION_CANCELED"
    assert env.executions(notify) == 1  # its cleanup ran
    assert env.now == START + timedelta(minutes=1)


def test_parent_close_policy_abandon_leaves_the_child_running(temporal_env):
    env = _env(temporal_env)
    _, child, ended = _finish(env, "abandon")
    assert ended == "slept"
    assert env.now == START + timedelta(hours=1)
    assert _types(child)[-1] == "WORKFLOW_EXECUTION_COMPLETED"


@pytest.mark.parametrize("crash", [False, True])
def test_signals_to_and_cancellation_of_other_workflows(temporal_env, crash):
    env = _env(temporal_env)
    if crash:
        env.crash_after(notify)  # in the cancelled workflow's cleanup

    async def scenario():
        waiter = await env.start(Waiter.run, id="w")
        victim = await env.start(Sleeper.run, 5, id="v")
        said = await env.execute(Messenger.run, "w", "v", id="m")
        with pytest.raises(WorkflowFailureError) as cancelled:
            await victim.result()
        return said, await waiter.result(), cancelled.value.cause

    said, poked, cause = asyncio.run(scenario())
    assert said == [
        "signalled w",
        "cancelled v",
        "nobody: EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND",
    ]
    assert poked == "poked: hello" and isinstance(cause, CancelledError)
    source = env.runs["m"]
    signalled = _event(env.runs["w"], "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED")
    attrs = signalled.workflow_execution_signaled_event_attributes
    assert attrs.signal_name == "poke" and attrs.external_workflow_execution.workflow_id == "m"
    cancel = _event(env.runs["v"], "EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED")
    assert cancel.workflow_execution_cancel_requested_event_attributes.external_initiated_event_id
    assert _types(source).count("SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED") == 2
    for kind in (
        "EXTERNAL_WORKFLOW_EXECUTION_SIGNALED",
        "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
        "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED",
        "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED",
    ):
        assert kind in _types(source)
    assert env.runs["v"].crashes == int(crash)
