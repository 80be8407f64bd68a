"""How the emulated server words an activity's failures: the timeout of a lost attempt, the
failure ``verify_temporal`` injects, and the ``ActivityError`` wrapper core puts around a cause."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import temporalio.api.common.v1
import temporalio.exceptions
from temporalio.api.enums.v1 import RetryState
from temporalio.api.failure.v1 import ActivityFailureInfo, Failure
from temporalio.bridge.proto.workflow_commands import ScheduleActivity

from wfkit.testing.temporal.history import IDENTITY

INJECTED_TYPE = "InjectedFailure"  # the type of the failures verify and ``fail`` inject


def attempt_timeout(command: ScheduleActivity) -> tuple[timedelta, Any]:
    """How long before the server notices a lost attempt, and as which timeout: the heartbeat
    timeout when set and shorter, else start-to-close (else schedule-to-close, else 10 s)."""
    start_to_close = command.start_to_close_timeout.ToTimedelta()
    heartbeat = command.heartbeat_timeout.ToTimedelta()
    kinds = temporalio.exceptions.TimeoutType
    if heartbeat > timedelta(0) and (not start_to_close or heartbeat < start_to_close):
        return heartbeat, kinds.HEARTBEAT
    if start_to_close > timedelta(0):
        return start_to_close, kinds.START_TO_CLOSE
    schedule_to_close = command.schedule_to_close_timeout.ToTimedelta()
    if schedule_to_close > timedelta(0):
        return schedule_to_close, kinds.SCHEDULE_TO_CLOSE
    return timedelta(seconds=10), kinds.START_TO_CLOSE


def injected_failure(retryable: bool) -> temporalio.exceptions.ApplicationError:
    """The error :meth:`TemporalTestEnvironment.fail` makes an attempt raise."""
    return temporalio.exceptions.ApplicationError(
        "injected failure", type=INJECTED_TYPE, non_retryable=not retryable
    )


def error_text(error: BaseException) -> str:
    if isinstance(error, temporalio.exceptions.ApplicationError):
        kind = error.type or type(error).__name__
        return f"{kind}: {error.message}" + (" (non-retryable)" if error.non_retryable else "")
    return f"{type(error).__name__}: {error}"


def activity_failure(
    command: ScheduleActivity, scheduled: int, started: int, retry_state: int, cause: Failure
) -> Failure:
    """The ActivityError wrapper core puts around an activity's failure."""
    failure = Failure(
        message="Activity task failed",
        activity_failure_info=ActivityFailureInfo(
            scheduled_event_id=scheduled,
            started_event_id=started,
            identity=IDENTITY,
            activity_type=temporalio.api.common.v1.ActivityType(name=command.activity_type),
            activity_id=command.activity_id,
            retry_state=retry_state,  # type: ignore[arg-type]
        ),
    )
    failure.cause.CopyFrom(cause)
    return failure


def final_retry_state(
    command: Any, attempt: int, *, timed_out: bool = False
) -> RetryState.ValueType:
    """Why an activity's retries ended, as the server records it: a timeout of the activity
    as a whole, its policy's attempts used up, or a failure that is not to be retried."""
    if timed_out:
        return RetryState.RETRY_STATE_TIMEOUT
    limit = command.retry_policy.maximum_attempts
    if limit and attempt >= limit:
        return RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    return RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
