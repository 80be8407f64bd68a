"""Heartbeats and activity timeouts on the virtual clock: the last heartbeat's details reach
the next attempt, a lost attempt is noticed after its heartbeat timeout, and no retry starts
past the schedule-to-close deadline."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporal_flows import Upload, upload
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError, TimeoutType


def test_the_next_attempt_resumes_from_the_last_heartbeat(temporal_env):
    env = temporal_env(activities=[upload])
    result = asyncio.run(env.execute(Upload.run, 5, id="u-1"))
    assert result == "uploaded parts 2..4 on attempt 2"
    assert env.heartbeats["upload"] == [(0,), (1,), (2,), (2,), (3,), (4,)]
    assert env.now - env.runs["u-1"].history().events[0].event_time.ToDatetime(
        tzinfo=env.now.tzinfo
    ) == timedelta(minutes=4)  # the retry's backoff, on the virtual clock


def test_a_lost_attempt_is_noticed_after_its_heartbeat_timeout(temporal_env):
    env = temporal_env(activities=[upload])
    env.crash_after(upload, recorded=False)
    result = asyncio.run(env.execute(Upload.run, 2, id="u-2"))
    # The first attempt finished but its outcome was lost: 30 s heartbeat timeout (not the
    # hour of start-to-close), 4 min backoff, then attempt 2 resumes from part 1.
    assert result == "uploaded parts 1..1 on attempt 2"
    assert any(text.startswith("worker crashed before") for _, _, text in env.log)
    started = env.runs["u-2"].history().events[0].event_time.ToDatetime(tzinfo=env.now.tzinfo)
    assert env.now - started == timedelta(minutes=4, seconds=30)


def test_no_retry_starts_past_the_schedule_to_close_deadline(temporal_env):
    env = temporal_env(activities=[upload])
    env.mock(upload, raises=ApplicationError("still down"))
    with pytest.raises(WorkflowFailureError) as failed:
        asyncio.run(env.execute(Upload.run, 3, id="u-3"))
    cause = failed.value.cause
    assert isinstance(cause, ActivityError) and cause.cause.message == "still down"
    assert cause.retry_state == RetryState.RETRY_STATE_TIMEOUT
    # Attempts at 0, 4 and 8 minutes; a fourth at 12 would pass the 10-minute limit.
    assert env.executions(upload) == 3
    (failed_event,) = [
        e
        for e in env.runs["u-3"].history().events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
    ]
    assert failed_event.activity_task_failed_event_attributes.retry_state == (
        RetryState.RETRY_STATE_TIMEOUT
    )


def test_a_lost_last_attempt_fails_with_a_heartbeat_timeout(temporal_env):
    env = temporal_env(activities=[upload])
    env.mock(upload, raises=[ApplicationError("down"), ApplicationError("down")], returns="ok")
    env.crash_after(upload, recorded=False, nth=3)  # attempt 3 at 8 min: no retry fits after
    with pytest.raises(WorkflowFailureError) as failed:
        asyncio.run(env.execute(Upload.run, 3, id="u-4"))
    timeout = failed.value.cause.cause
    assert isinstance(timeout, TimeoutError)
    assert timeout.type == TimeoutType.HEARTBEAT
