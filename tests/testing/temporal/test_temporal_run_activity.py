"""``env.run_activity``: one activity alone, the server's part played -- cancellation delivered
at a heartbeat, heartbeat and start-to-close timeouts, retries that resume from the last
heartbeat's details, on the environment's clock."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
import temporalio.exceptions
from temporalio import activity
from temporalio.bridge.proto.workflow_commands import ScheduleActivity
from temporalio.common import RetryPolicy

from wfkit.testing.temporal import TemporalTestEnvironment
from wfkit.testing.temporal.activities import retry_delay

CLEANED: list[str] = []


@activity.defn
async def watch(label: str) -> str:
    """Heartbeats its progress until cancelled; cleans up on cancellation."""
    n = 0
    try:
        while True:
            activity.heartbeat(n)
            n += 1
            await asyncio.sleep(0.01)
    except asyncio.CancelledError:
        CLEANED.append(f"{label} at {n}")
        raise


@activity.defn
def watch_sync(limit: int) -> int:
    for n in range(limit):
        activity.heartbeat(n)
        time.sleep(0.01)
    return limit


@activity.defn
async def silent(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "done"


@activity.defn
async def stalls_after_one_beat() -> None:
    activity.heartbeat("started")
    await asyncio.sleep(2)


@activity.defn
async def upload(chunks: int) -> list[int]:
    """Resumes after the last chunk a heartbeat reported; attempt 1 fails at chunk 3."""
    info = activity.info()
    start = info.heartbeat_details[0] + 1 if info.heartbeat_details else 0
    sent = []
    for chunk in range(start, chunks):
        if chunk == 3 and info.attempt == 1:
            raise RuntimeError("connection reset")
        sent.append(chunk)
        activity.heartbeat(chunk)
    return sent


@activity.defn
async def describe() -> dict[str, Any]:
    info = activity.info()
    return {
        "attempt": info.attempt,
        "type": info.activity_type,
        "heartbeat_timeout": str(info.heartbeat_timeout),
        "details": list(info.heartbeat_details),
    }


def test_cancellation_is_delivered_at_the_nth_heartbeat():
    env = TemporalTestEnvironment()
    CLEANED.clear()
    outcome = asyncio.run(env.run_activity(watch, "w", cancel_after_heartbeats=3))
    assert isinstance(outcome.error, temporalio.exceptions.CancelledError)
    assert outcome.heartbeats == [(0,), (1,), (2,)]
    assert (outcome.cancel_requested, outcome.cancel_delivered) == (True, True)
    assert CLEANED == ["w at 3"]  # the activity's own cleanup ran
    assert env.heartbeats["watch"] == [(0,), (1,), (2,)]
    with pytest.raises(temporalio.exceptions.CancelledError):
        outcome.value()


def test_a_sync_activity_is_cancelled_in_its_thread():
    env = TemporalTestEnvironment()
    outcome = asyncio.run(env.run_activity(watch_sync, 1000, cancel_after_heartbeats=2))
    assert isinstance(outcome.error, temporalio.exceptions.CancelledError)
    assert outcome.heartbeats[:2] == [(0,), (1,)]
    assert len(outcome.heartbeats) < 10  # stopped soon after, not after 1000 heartbeats


def test_an_activity_that_never_heartbeats_never_learns_of_its_cancellation():
    env = TemporalTestEnvironment()
    outcome = asyncio.run(env.run_activity(silent, 0.2, cancel_after=timedelta(seconds=0.05)))
    assert outcome.value() == "done"
    assert (outcome.cancel_requested, outcome.cancel_delivered) == (True, False)
    assert outcome.heartbeats == []


def test_a_missed_heartbeat_times_the_attempt_out_with_the_last_details():
    env = TemporalTestEnvironment()
    start = env.now
    outcome = asyncio.run(
        env.run_activity(stalls_after_one_beat, heartbeat_timeout=timedelta(seconds=0.2))
    )
    assert isinstance(outcome.error, temporalio.exceptions.TimeoutError)
    assert outcome.timed_out == temporalio.exceptions.TimeoutType.HEARTBEAT
    assert outcome.error.last_heartbeat_details == ["started"]
    # The clock followed the wall clock while the attempt ran: about the heartbeat timeout.
    assert timedelta(seconds=0.2) <= env.now - start < timedelta(seconds=1.5)


def test_start_to_close_times_out_an_activity_that_heartbeats():
    env = TemporalTestEnvironment()
    outcome = asyncio.run(
        env.run_activity(
            watch,
            "s",
            heartbeat_timeout=timedelta(seconds=1),
            start_to_close_timeout=timedelta(seconds=0.1),
        )
    )
    assert outcome.timed_out == temporalio.exceptions.TimeoutType.START_TO_CLOSE
    assert outcome.heartbeats  # it did heartbeat; start-to-close still applies


def test_a_retry_resumes_from_the_last_heartbeat_after_the_policys_backoff():
    env = TemporalTestEnvironment()
    start = env.now
    policy = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_attempts=3)
    outcome = asyncio.run(env.run_activity(upload, 6, retry_policy=policy))
    assert outcome.value() == [3, 4, 5]
    assert outcome.attempts == 2
    assert [repr(e) for e in outcome.errors] == ["RuntimeError('connection reset')"]
    assert outcome.heartbeats == [(0,), (1,), (2,), (3,), (4,), (5,)]
    assert outcome.duration >= timedelta(seconds=10)  # the backoff, on the virtual clock
    assert env.now - start == outcome.duration


def test_without_a_policy_one_attempt_runs_and_its_failure_is_the_outcome():
    env = TemporalTestEnvironment()
    outcome = asyncio.run(env.run_activity(upload, 6))
    assert outcome.attempts == 1
    assert str(outcome.error) == "connection reset"
    assert outcome.heartbeats == [(0,), (1,), (2,)]


def test_activity_info_shows_the_attempt_and_a_previous_attempts_details():
    env = TemporalTestEnvironment()
    outcome = asyncio.run(
        env.run_activity(
            describe, heartbeat_timeout=timedelta(seconds=30), heartbeat_details=[7, "x"]
        )
    )
    assert outcome.value() == {
        "attempt": 1,
        "type": "describe",
        "heartbeat_timeout": "0:00:30",
        "details": [7, "x"],
    }


def test_a_nonsense_heartbeat_count_is_refused():
    env = TemporalTestEnvironment()
    with pytest.raises(ValueError, match="cancel_after_heartbeats must be 1 or more, got 0"):
        asyncio.run(env.run_activity(watch, "w", cancel_after_heartbeats=0))


def test_the_backoff_of_a_long_run_of_retries_stays_at_the_cap():
    """Attempt 48 of the default policy once overflowed timedelta (1 s x 2**47) before the cap."""
    command = ScheduleActivity(activity_type="x")
    RetryPolicy().apply_to_proto(command.retry_policy)
    error = RuntimeError("down")
    assert retry_delay(command, 1, error) == timedelta(seconds=1)
    assert retry_delay(command, 3, error) == timedelta(seconds=4)
    assert retry_delay(command, 48, error) == timedelta(seconds=100)  # 100 x initial
    assert retry_delay(command, 10_000, error) == timedelta(seconds=100)
