"""Local activities run as core runs them: inside the workflow task, retried locally, resolved
in the same task, and recorded as ``core_local_activity`` markers that temporalio's Replayer
(run on every recorded history at teardown) resolves the activities from."""

from __future__ import annotations

import asyncio
import json

import pytest
from local_flows import ACTIVITIES, WORKFLOWS, LocalLookup, SlowLocalRetry, flaky_lookup, refuse
from temporalio.api.enums.v1 import EventType

from wfkit.testing.temporal import NotEmulated


def markers(env, workflow_id):
    return [
        e.marker_recorded_event_attributes
        for e in env.runs[workflow_id].history().events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]


def test_local_activities_resolve_in_the_task_and_leave_markers(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=ACTIVITIES)
    result = asyncio.run(env.execute(LocalLookup.run, "k", id="l-1"))
    assert result == ["k on attempt 3 (local: True)", "refused: k refused"]
    assert env.executions(flaky_lookup) == 3 and env.executions(refuse) == 1
    found, refused = markers(env, "l-1")
    assert found.marker_name == refused.marker_name == "core_local_activity"
    data = json.loads(found.details["data"].payloads[0].data)
    assert (data["seq"], data["attempt"], data["activity_type"]) == (1, 3, "flaky_lookup")
    assert found.details["result"].payloads[0].data == b'"k on attempt 3 (local: True)"'
    assert not refused.details.get("result") and refused.failure.cause.message == "k refused"
    # No activity task events: the server never saw these activities.
    types = [e.event_type for e in env.runs["l-1"].history().events]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in types


def test_a_local_activity_result_survives_a_worker_crash(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=ACTIVITIES)
    env.crash_at_timer()  # the new worker replays the first task, local activity included

    result = asyncio.run(env.execute(LocalLookup.run, "k", id="l-2"))
    assert result[0] == "k on attempt 3 (local: True)"
    assert env.runs["l-2"].crashes == 1
    assert env.executions(flaky_lookup) == 3  # resolved from the log on replay, not rerun


def test_a_failure_injected_into_a_local_attempt_is_retried_locally(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=ACTIVITIES)
    env.mock(flaky_lookup, returns="mocked")
    env.fail(flaky_lookup, attempt=1)
    result = asyncio.run(env.execute(LocalLookup.run, "k", id="l-3"))
    assert result[0] == "mocked"
    assert [name for name, _ in env.activity_errors] == ["flaky_lookup", "refuse"]
    data = json.loads(markers(env, "l-3")[0].details["data"].payloads[0].data)
    assert data["attempt"] == 2


def test_a_local_retry_past_the_threshold_is_named_not_emulated(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=ACTIVITIES)
    with pytest.raises(NotEmulated, match="local_retry_threshold"):
        asyncio.run(env.execute(SlowLocalRetry.run, "k", id="l-4"))
    assert env.runs["l-4"].stopped is not None
