"""How an activity attempt in a workflow ends, the server's side: an injected failure, a crash
point the test planted (the worker dies before or after the outcome is recorded), a retry by
the activity's retry policy that fits before its schedule-to-close deadline, or the activity's
end recorded in the history and resolved for the workflow.

Attempts that go on running are :mod:`wfkit.testing.temporal.attempts`; they end here too,
through the environment's ``_attempt_ended``. The functions take the environment and runs
untyped (``Any``): the environment imports this module, so this module does not import it back.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import temporalio.exceptions
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.bridge.proto.activity_result import ActivityResolution

from wfkit.testing.temporal import attempts
from wfkit.testing.temporal.activities import retry_delay
from wfkit.testing.temporal.failures import (
    activity_failure,
    attempt_timeout,
    error_text,
    final_retry_state,
    injected_failure,
)
from wfkit.testing.temporal.history import IDENTITY
from wfkit.testing.temporal.run import ScheduledActivity


@dataclasses.dataclass
class CrashPoint:
    """Where the test planted a worker crash (``crash_after``): after an attempt of ``activity``."""

    activity: str
    recorded: bool
    skip: int = 0  # attempts of the activity to let pass first (crash on attempt skip + 1)


async def attempt(env: Any, run: Any, activity: ScheduledActivity) -> None:
    """One attempt; record its end (or schedule the retry), then resolve the activity. An
    attempt that does not end at once goes on running; the environment's ``_advance`` records
    its end."""
    command = activity.command
    env.attempted.append(command.activity_type)
    retryable = env._injected.pop((command.activity_type, activity.attempt), None)
    if retryable is None:
        outcome = await attempts.begin(env, run, activity)
        if outcome is None:
            return
        ok, value = outcome
    else:
        ok, value = False, injected_failure(retryable)
    await attempt_ended(env, run, activity, ok, value)


async def attempt_ended(
    env: Any, run: Any, activity: ScheduledActivity, ok: bool, value: Any
) -> None:
    """Record how an attempt ended: a crash point it hits, a retry that fits before the
    schedule-to-close deadline, or the activity's end in the history; then resolve it."""
    command = activity.command
    if activity.cancel_requested_event_id and not ok and attempts.is_cancellation(value):
        await attempts.record_cancelled(env, run, activity)
        return
    if not ok:
        env.activity_errors.append((command.activity_type, value))
    env.note(
        run,
        f"{command.activity_type} attempt {activity.attempt}: "
        + ("completed" if ok else f"failed {error_text(value)}"),
    )
    crash = take_crash(env, command.activity_type)
    if crash is not None and not crash.recorded:
        # The worker died before reporting: the server times the attempt out, then retries.
        env._crash(run, "before the outcome was recorded")
        env.lost_attempts += 1
        timeout, kind = attempt_timeout(command)
        error = temporalio.exceptions.TimeoutError(
            "activity timed out",
            type=kind,
            last_heartbeat_details=list(activity.heartbeat_details),
        )
        delay = delay_within_deadline(env, activity, error, timeout)
        if delay is not None:
            activity.attempt += 1
            activity.due = env.now + timeout + delay
            return
        ok, value = False, error
    if not ok and not activity.cancel_requested_event_id:
        delay = delay_within_deadline(env, activity, value, timedelta(0))
        if delay is not None:
            activity.attempt += 1
            activity.due = env.now + delay
            if crash is not None:
                env._crash(run)
            env.note(run, f"{command.activity_type} retry due in {delay}")
            return
    del run._activities[command.seq]
    started = run._history.add(
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        env.now,
        "activity_task_started",
        scheduled_event_id=activity.scheduled_event_id,
        identity=IDENTITY,
        request_id=f"{command.seq}-{activity.attempt}",
        attempt=activity.attempt,
    ).event_id
    if ok:
        run._history.add(
            EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
            env.now,
            "activity_task_completed",
            result=value,
            scheduled_event_id=activity.scheduled_event_id,
            started_event_id=started,
            identity=IDENTITY,
        )
        resolution = ActivityResolution()
        resolution.completed.result.CopyFrom(value.payloads[0])
    else:
        cause = Failure()
        env._converter.failure_converter.to_failure(value, env._converter.payload_converter, cause)
        retry_state = final_retry_state(command, activity.attempt, timed_out=activity.timed_out)
        run._history.add(
            EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
            env.now,
            "activity_task_failed",
            failure=cause,
            scheduled_event_id=activity.scheduled_event_id,
            started_event_id=started,
            identity=IDENTITY,
            retry_state=retry_state,
        )
        resolution = ActivityResolution()
        resolution.failed.failure.CopyFrom(
            activity_failure(command, activity.scheduled_event_id, started, retry_state, cause)
        )
    if crash is not None:
        env._crash(run, "after the outcome was recorded")
    await attempts.deliver(env, run, activity, resolution)


def delay_within_deadline(
    env: Any, activity: ScheduledActivity, error: BaseException, lost: timedelta
) -> timedelta | None:
    """The retry policy's delay, unless the retry would start past the activity's
    schedule-to-close deadline (then the activity fails, retry state TIMEOUT)."""
    delay = retry_delay(activity.command, activity.attempt, error)
    limit = activity.command.schedule_to_close_timeout
    if delay is not None and limit.ToTimedelta() > timedelta(0):
        if env.now + lost + delay >= activity.scheduled + limit.ToTimedelta():
            activity.timed_out = True
            return None
    return delay


def take_crash(env: Any, activity: str) -> CrashPoint | None:
    """The crash point this attempt of ``activity`` hits (each point counts its attempts)."""
    hit = None
    for point in list(env._crash_points):
        if point.activity != activity:
            continue
        if point.skip:
            point.skip -= 1
        elif hit is None:
            env._crash_points.remove(point)
            hit = point
    return hit
