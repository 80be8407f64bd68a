"""TemporalTestEnvironment runs Temporal workflows in-process on virtual time: activities (real
and mocked) with their retry policies, timers, signals, queries, cancellation, worker crashes.
Every history recorded here is replayed by temporalio's Replayer at teardown (conftest.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from temporal_flows import (
    ACTIVITIES,
    Approval,
    Buggy,
    LocalTransfer,
    MoneyTransfer,
    Reminders,
    Restarting,
    Transfer,
    deposit,
    notify,
    refund,
    withdraw,
)
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

from wfkit.testing.temporal import (
    ActivityNotRegistered,
    WorkflowBlocked,
    WorkflowTaskFailed,
)

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
TRANSFER = Transfer("alice", "bob", 10, "ref-1")


def test_a_transfer_runs_its_real_activities(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    result = asyncio.run(env.execute(MoneyTransfer.run, TRANSFER, id="t-1"))
    assert result == ["withdrew 10 from alice", "deposited 10 to bob (attempt 1)"]
    assert env.now == START  # nothing waited: no time passed


def test_retries_follow_the_retry_policy_on_virtual_time(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    # Fails twice, then succeeds on the third (last allowed) attempt: 1 s, then 2 s backoff.
    mock = env.mock(
        deposit, raises=[ApplicationError("busy"), ApplicationError("busy")], returns="ok"
    )
    result = asyncio.run(env.execute(MoneyTransfer.run, TRANSFER, id="t-1"))
    assert result == ["withdrew 10 from alice", "ok"]
    assert len(mock.calls) == 3
    assert env.now == START + timedelta(seconds=3)
    started = [
        e.activity_task_started_event_attributes.attempt
        for e in env.runs["t-1"].history().events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert started == [1, 3]  # retried attempts leave no events, as on a server


def test_a_deposit_that_keeps_failing_is_compensated(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    env.mock(deposit, raises=ApplicationError("bank down"))
    with pytest.raises(WorkflowFailureError) as failed:
        asyncio.run(env.execute(MoneyTransfer.run, TRANSFER, id="t-1"))
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "Reverted"
    assert env.executions(deposit) == 3 and env.executions(refund) == 1


def test_a_non_retryable_error_type_stops_retries_at_once(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    with pytest.raises(WorkflowFailureError) as failed:
        asyncio.run(env.execute(MoneyTransfer.run, Transfer("a", "b", 5000, "r"), id="t-1"))
    cause = failed.value.cause
    assert isinstance(cause, ActivityError) and cause.cause.type == "InsufficientFunds"
    assert env.executions(withdraw) == 1 and env.now == START


def test_timers_skip_virtual_time_and_workflow_now_follows(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    result = asyncio.run(env.execute(Reminders.run, 3, id="r-1"))
    assert result == (START + timedelta(minutes=3)).isoformat()
    assert env.executions(notify) == 3


def test_a_signal_decides_and_a_query_reads_the_state(temporal_env):
    env = temporal_env(activities=ACTIVITIES)

    async def scenario():
        run = await env.start(Approval.run, "leave", id="a-1")
        assert await run.query(Approval.status) == "waiting"
        await env.sleep(timedelta(hours=2))
        await run.signal(Approval.decide, "approved")
        assert await run.query("status") == "approved"
        return await run.result()

    assert asyncio.run(scenario()) == "leave: approved after 7200s"


def test_a_condition_times_out_on_the_virtual_clock(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    result = asyncio.run(env.execute(Approval.run, "leave", id="a-1"))
    assert result == "leave: timed out after 86400s"
    assert env.now == START + timedelta(days=1)


def test_cancelling_a_sleeping_workflow(temporal_env):
    env = temporal_env(activities=ACTIVITIES)

    async def scenario():
        run = await env.start(Reminders.run, 2, id="r-1")
        await env.sleep(timedelta(seconds=30))
        await run.cancel()
        assert run.done
        return await run.result()

    with pytest.raises(WorkflowFailureError) as failed:
        asyncio.run(scenario())
    assert isinstance(failed.value.cause, CancelledError)
    assert env.executions(notify) == 0


def test_a_crash_after_a_recorded_activity_replays_and_goes_on(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    env.crash_after(withdraw)
    result = asyncio.run(env.execute(MoneyTransfer.run, TRANSFER, id="t-1"))
    assert result == ["withdrew 10 from alice", "deposited 10 to bob (attempt 1)"]
    assert env.runs["t-1"].crashes == 1
    assert env.executions(withdraw) == 1  # recorded before the crash: not run again


def test_a_crash_before_the_completion_is_recorded_runs_the_activity_again(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    env.crash_after(withdraw, recorded=False)
    result = asyncio.run(env.execute(MoneyTransfer.run, TRANSFER, id="t-1"))
    assert result == ["withdrew 10 from alice", "deposited 10 to bob (attempt 1)"]
    assert env.executions(withdraw) == 2  # the at-least-once window: money left twice
    # The lost attempt times out after start_to_close (5 s), then backs off 1 s.
    assert env.now == START + timedelta(seconds=6)


def test_a_signal_sent_before_the_wait_is_seen_at_once(temporal_env):
    env = temporal_env(activities=ACTIVITIES)

    async def scenario():
        run = await env.start(Approval.run, "leave", id="a-1")
        await run.signal(Approval.decide, "approved")
        await env.sleep(timedelta(days=2))  # the timer was cancelled: nothing fires
        assert run.done
        return await run.result()

    assert asyncio.run(scenario()) == "leave: approved after 0s"


def test_runs_share_one_virtual_clock_and_interleave_in_time_order(temporal_env):
    env = temporal_env(activities=ACTIVITIES)

    async def scenario():
        first = await env.start(Reminders.run, 3, id="r-1")
        await env.sleep(timedelta(seconds=30))
        second = await env.start(Reminders.run, 3, id="r-2")
        second_done = await second.result()  # r-1's timers fire on the way, on time
        assert first.done
        return await first.result(), second_done

    first, second = asyncio.run(scenario())
    assert first == (START + timedelta(minutes=3)).isoformat()
    assert second == (START + timedelta(minutes=3, seconds=30)).isoformat()


def test_a_crash_point_on_a_retried_attempt_still_crashes(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    env.mock(deposit, raises=[ApplicationError("busy")], returns="ok")
    env.crash_after(deposit)
    result = asyncio.run(env.execute(MoneyTransfer.run, TRANSFER, id="t-1"))
    assert result == ["withdrew 10 from alice", "ok"]
    assert env.runs["t-1"].crashes == 1


def test_continue_as_new_runs_to_the_last_runs_result(temporal_env):
    """More in test_temporal_continue_as_new.py."""
    env = temporal_env(activities=ACTIVITIES)
    assert asyncio.run(env.execute(Restarting.run, 1, id="c-1")) == 0
    assert [run.run_id for run in env.runs["c-1"].runs] == ["run-2"]
    assert [run.run_id for run in env.all_runs] == ["run-1", "run-2"]


def test_a_plain_exception_in_workflow_code_fails_the_workflow_task(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    with pytest.raises(WorkflowTaskFailed) as failed:
        asyncio.run(env.execute(Buggy.run, id="b-1"))
    assert failed.value.workflow_id == "b-1" and "oops" in failed.value.reason


def test_an_unregistered_activity_is_named_with_the_fix(temporal_env):
    env = temporal_env(activities=[withdraw])
    with pytest.raises(ActivityNotRegistered, match="'deposit' is not registered") as missing:
        asyncio.run(env.execute(MoneyTransfer.run, TRANSFER, id="t-1"))
    assert "activities=[...]" in missing.value.hint and "registered: withdraw" in missing.value.hint


def test_a_local_activity_runs_within_the_workflow_task(temporal_env):
    """The SDK asks its worker whether a local activity type is valid before it issues the
    command; the environment says yes, as a worker does, and runs it as core would (see
    test_temporal_local_activities.py)."""
    env = temporal_env(activities=ACTIVITIES)
    result = asyncio.run(env.execute(LocalTransfer.run, TRANSFER, id="l-1"))
    assert result == "withdrew 10 from alice"
    assert env.executions(withdraw) == 1


def test_result_of_a_run_only_a_signal_can_move_is_an_error(temporal_env):
    env = temporal_env(activities=ACTIVITIES)

    async def scenario():
        run = await env.start(Approval.run, "leave", id="a-1")
        run._timers.clear()  # as if the workflow waited without a timeout
        await run.result()

    with pytest.raises(WorkflowBlocked) as blocked:
        asyncio.run(scenario())
    assert blocked.value.workflow_id == "a-1"


def test_cancelling_during_a_retry_backoff_cancels_the_activity_and_compensates(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    env.mock(deposit, raises=ApplicationError("busy"))

    async def scenario():
        run = await env.start(MoneyTransfer.run, TRANSFER, id="t-1")  # deposit backs off 1 s
        await run.cancel()
        return await run.result()

    with pytest.raises(WorkflowFailureError) as failed:
        asyncio.run(scenario())
    assert failed.value.cause.type == "Reverted"  # the saga caught the cancelled deposit
    assert env.executions(deposit) == 1 and env.executions(refund) == 1
    assert env.now == START


def test_a_real_activity_sees_its_attempt_in_activity_info(temporal_env):
    env = temporal_env(activities=ACTIVITIES)
    env.crash_after(deposit, recorded=False)  # attempt 1's outcome is lost
    result = asyncio.run(env.execute(MoneyTransfer.run, TRANSFER, id="t-1"))
    assert result[1] == "deposited 10 to bob (attempt 2)"
