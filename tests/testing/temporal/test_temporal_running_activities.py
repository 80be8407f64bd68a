"""Activities that run while the workflow runs: the workflow gets its activations while an
attempt is in flight, cancellation reaches a running attempt through its heartbeat (with each
cancellation type as the server and core treat it), and a running attempt that stops
heartbeating or overruns its start-to-close timeout times out and is retried by policy. The
virtual clock follows the wall clock while an attempt runs, so these tests wait real tenths of a
second; every history they record is replayed by temporalio's Replayer at teardown."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest
from running_flows import (
    ACTIVITIES,
    WORKFLOWS,
    AbandonQuiet,
    CancelAfter,
    CleanupOnCancel,
    QuietActivity,
    RaceTimer,
    SignalWhileWorking,
    beat_until_cancelled,
    clean_up,
    go_quiet,
)
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, CancelledError, TimeoutError, TimeoutType

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def events(env, workflow_id):
    return list(env.runs[workflow_id].history().events)


def types(env, workflow_id):
    return [e.event_type for e in events(env, workflow_id)]


@pytest.mark.parametrize("wait", ["env.sleep", "asyncio.sleep"])
def test_an_activity_heartbeating_until_cancelled_stops_when_the_workflow_is_cancelled(
    temporal_env, wait
):
    # A port of temporalio/samples-python hello/hello_cancellation.py: a sync activity in a
    # thread heartbeats until it is cancelled; the workflow cleans up in a finally block. The
    # test waits a tenth of a second by the environment's clock or, as the sample does, in real
    # time: while an attempt runs, the two are the same.
    env = temporal_env(workflows=WORKFLOWS, activities=ACTIVITIES)

    async def scenario():
        run = await env.start(CleanupOnCancel.run, id="c-1")
        if wait == "env.sleep":
            await env.sleep(timedelta(seconds=0.1))
        else:
            await asyncio.sleep(0.1)
        await run.cancel()
        assert len(env.heartbeats["beat_until_cancelled"]) >= 2
        return await run.result()

    began = time.monotonic()
    with pytest.raises(WorkflowFailureError) as failed:
        asyncio.run(scenario())
    assert time.monotonic() - began < 1
    assert isinstance(failed.value.cause, CancelledError)
    assert env.executions(beat_until_cancelled) == 1 and env.executions(clean_up) == 1
    history = types(env, "c-1")
    requested = history.index(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
    asked = history.index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    assert asked < requested
    assert history[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED
    asked_at = events(env, "c-1")[asked].event_time.ToDatetime(tzinfo=timezone.utc)
    assert START + timedelta(seconds=0.1) <= asked_at < START + timedelta(seconds=1)


def test_try_cancel_resolves_the_activity_at_once_and_stops_it(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=ACTIVITIES)
    result = asyncio.run(env.execute(CancelAfter.run, "TRY_CANCEL", id="a-1"))
    # Core resolves it as cancelled in the task that asked, at the timer's instant.
    assert result.startswith("CancelledError at 00.1")
    history = types(env, "a-1")
    # The attempt learnt of it at its next heartbeat, its task was cancelled, and the server
    # recorded the cancellation (core answers that workflow task empty).
    requested = history.index(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
    assert history.index(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED) > requested
    assert any("cancellation delivered" in text for _, _, text in env.log)


def test_wait_cancellation_completed_waits_for_the_activity_to_end_cancelled(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=ACTIVITIES)
    result = asyncio.run(env.execute(CancelAfter.run, "WAIT_CANCELLATION_COMPLETED", id="a-2"))
    assert result.startswith("CancelledError at 00.1")
    history = events(env, "a-2")
    (requested,) = [
        e for e in history if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED
    ]
    (canceled,) = [
        e for e in history if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED
    ]
    attributes = canceled.activity_task_canceled_event_attributes
    assert attributes.latest_cancel_requested_event_id == requested.event_id
    assert history[canceled.event_id - 2].event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    # The workflow saw the cancellation only once the activity had ended: after the request.
    assert canceled.event_time.ToDatetime() >= requested.event_time.ToDatetime()


def test_abandon_tells_the_server_nothing_and_the_activity_runs_on(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=ACTIVITIES)
    result = asyncio.run(env.execute(AbandonQuiet.run, id="q-1"))
    assert result.startswith("CancelledError at 00.05")
    history = types(env, "q-1")
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED not in history
    # The abandoned attempt ended on its own, after the workflow had moved on.
    assert history.index(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) > history.index(
        EventType.EVENT_TYPE_TIMER_FIRED
    )


def test_a_timer_fires_while_an_activity_runs(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=ACTIVITIES)
    assert asyncio.run(env.execute(RaceTimer.run, id="r-1")) == ["timer", "activity"]
    history = events(env, "r-1")
    (fired,) = [e for e in history if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
    (done,) = [e for e in history if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]
    # The activity took 0.15 s of real time, and so of virtual time; the 0.05 s timer fired
    # meanwhile (on time, give or take the real moment the environment noticed).
    fired_at = fired.event_time.ToDatetime(tzinfo=timezone.utc) - START
    took = done.event_time.ToDatetime(tzinfo=timezone.utc) - START
    assert timedelta(seconds=0.05) <= fired_at < timedelta(seconds=0.1) < took
    assert timedelta(seconds=0.15) <= took < timedelta(seconds=0.5)


def test_a_signal_reaches_the_workflow_while_its_activity_runs(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=ACTIVITIES)

    async def scenario():
        run = await env.start(SignalWhileWorking.run, id="s-1")
        await run.signal(SignalWhileWorking.note, "while working")
        return await run.result()

    assert asyncio.run(scenario()) == ["while working"]
    history = types(env, "s-1")
    assert history.index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) < history.index(
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    )


@pytest.mark.parametrize(
    ("heartbeat", "start_to_close", "kind"),
    [(0.1, 100, TimeoutType.HEARTBEAT), (0, 0.1, TimeoutType.START_TO_CLOSE)],
)
def test_a_running_attempt_times_out_and_is_retried(temporal_env, heartbeat, start_to_close, kind):
    env = temporal_env(workflows=WORKFLOWS, activities=ACTIVITIES)
    with pytest.raises(WorkflowFailureError) as failed:
        asyncio.run(env.execute(QuietActivity.run, 10, heartbeat, start_to_close, id="h-1"))
    cause = failed.value.cause
    assert isinstance(cause, ActivityError) and isinstance(cause.cause, TimeoutError)
    assert cause.cause.type == kind
    assert cause.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert env.executions(go_quiet) == 2  # attempt 2 came after the 30 s backoff
    assert [type(error).__name__ for _, error in env.activity_errors] == ["TimeoutError"] * 2
    (timed_out,) = [
        e
        for e in events(env, "h-1")
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT
    ]
    attributes = timed_out.activity_task_timed_out_event_attributes
    assert attributes.failure.timeout_failure_info.timeout_type == kind.value
    # Two 0.1 s attempts in real time, around a 30 s backoff skipped on the virtual clock.
    assert timedelta(seconds=30.2) <= env.now - START < timedelta(seconds=31)


def test_a_running_attempt_that_ends_in_time_is_recorded_as_completed(temporal_env):
    env = temporal_env(workflows=WORKFLOWS, activities=ACTIVITIES)
    result = asyncio.run(env.execute(QuietActivity.run, 0.08, 0, 5, id="h-2"))
    assert result == "done"
    assert env.executions(go_quiet) == 1
    assert timedelta(seconds=0.08) <= env.now - START < timedelta(seconds=0.5)
