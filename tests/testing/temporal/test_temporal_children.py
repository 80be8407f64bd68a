"""Child workflows run in the same environment: the parent's history records the child's
initiation, start and outcome as a server does, the child's history names its parent, both
replay in temporalio's Replayer (the conftest's check), and crashes rebuild a parent that waits
on a child."""

from __future__ import annotations

import asyncio

from temporal_flows import ACTIVITIES, Parent, notify
from temporalio.api.enums.v1 import EventType


def _types(run) -> list[str]:
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in run.history().events]


def test_a_child_runs_in_the_environment_and_its_outcome_reaches_the_parent(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    result = asyncio.run(env.execute(Parent.run, id="p-1"))
    assert result == [
        "2026-01-01T00:01:00+00:00",  # the child's minute of sleep, on the shared clock
        "child failed: NoLuck: no luck (parent p-1)",
    ]
    assert env.executions(notify) == 1
    assert set(env.runs) == {"p-1", "child", "failing-child"}
    parent = _types(env.runs["p-1"])
    for kind in (
        "START_CHILD_WORKFLOW_EXECUTION_INITIATED",
        "CHILD_WORKFLOW_EXECUTION_STARTED",
        "CHILD_WORKFLOW_EXECUTION_COMPLETED",
        "CHILD_WORKFLOW_EXECUTION_FAILED",
    ):
        assert kind in parent
    started = env.runs["child"].history().events[0].workflow_execution_started_event_attributes
    assert started.parent_workflow_execution.workflow_id == "p-1"
    assert (
        started.parent_initiated_event_id
        == parent.index("START_CHILD_WORKFLOW_EXECUTION_INITIATED") + 1
    )


def test_a_parent_crashing_while_its_child_runs_is_rebuilt_and_goes_on(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    env.crash_after(notify)  # in the child: its worker (the same one) dies
    run = asyncio.run(env.start(Parent.run, id="p-2"))
    run.crash()
    assert asyncio.run(run.result())[1] == "child failed: NoLuck: no luck (parent p-2)"
    assert run.crashes == 1 and env.runs["child"].crashes == 1
