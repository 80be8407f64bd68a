"""Local activities (``workflow.execute_local_activity``): core's side of them.

A local activity never reaches the server: core runs it on the workflow's own worker while the
workflow task is open, retries it locally by its retry policy, resolves it in the same task
(the workflow goes on at once) and, with the task's completion, records a ``MarkerRecorded``
event named ``core_local_activity`` whose details hold the marker data (JSON: seq, attempt,
activity id and type, completion time) and the result payload, or whose failure holds the
failure. On replay core resolves the activity from that marker without running it.

What this module does not do as core does: local retries happen at once (their backoff is not
waited; core sleeps it while the task stays open, heartbeating the task if it runs long), and a
backoff longer than the ``local_retry_threshold`` (which makes core hand the wait to a timer)
or a cancellation of a local activity stops the run with ``NotEmulated``. The functions take
the environment and runs untyped (``Any``): the environment imports this module.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.bridge.proto.activity_result import ActivityResolution
from temporalio.bridge.proto.workflow_activation import ResolveActivity, WorkflowActivationJob
from temporalio.bridge.proto.workflow_commands import ScheduleLocalActivity

from wfkit.testing.temporal.activities import retry_delay
from wfkit.testing.temporal.errors import ActivityNotRegistered, NotEmulated
from wfkit.testing.temporal.failures import (
    activity_failure,
    error_text,
    final_retry_state,
    injected_failure,
)

MARKER_NAME = "core_local_activity"
DEFAULT_RETRY_THRESHOLD = timedelta(minutes=1)  # core's default local_retry_threshold


@dataclasses.dataclass
class LocalMarker:
    """The marker command core adds to the workflow task when a local activity resolves (it
    takes its place among the task's commands: after those of the activation that scheduled
    the activity)."""

    command: ScheduleLocalActivity
    attempt: int
    completed: datetime
    result: Payload | None = None
    failure: Failure | None = None


async def resolve(
    env: Any, run: Any, command: ScheduleLocalActivity
) -> tuple[WorkflowActivationJob, LocalMarker]:
    """Run the local activity's attempts now; the job that resolves it and its marker."""
    name = command.activity_type
    if not env._activities.known(name):
        run.stopped = f"local activity {name!r} (not registered)"
        raise ActivityNotRegistered(name, env._activities.names())
    attempt = command.attempt or 1
    scheduled = (
        command.original_schedule_time.ToDatetime(tzinfo=env.now.tzinfo)
        if command.HasField("original_schedule_time")
        else env.now
    )
    while True:
        env.attempted.append(name)
        retryable = env._injected.pop((name, attempt), None)
        if retryable is None:
            try:
                ok, value = await env._activities.attempt(
                    command,
                    attempt,
                    run.id,
                    run.defn.name or "",
                    run._driver.run_id,
                    scheduled,
                    env.now,
                )
            except NotEmulated as exc:  # raise_complete_async: a local activity cannot
                run.stopped = exc.feature
                raise
        else:
            ok, value = False, injected_failure(retryable)
        outcome = "completed" if ok else f"failed {error_text(value)}"
        env.note(run, f"{name} local attempt {attempt}: {outcome}")
        if ok:
            break
        env.activity_errors.append((name, value))
        delay = retry_delay(command, attempt, value)
        if delay is None:
            break
        threshold = (
            command.local_retry_threshold.ToTimedelta()
            if command.HasField("local_retry_threshold")
            else DEFAULT_RETRY_THRESHOLD
        )
        if delay > threshold:
            run.stopped = "local activity retries past local_retry_threshold (a timer)"
            raise NotEmulated(run.stopped)
        attempt += 1
    resolution = ActivityResolution()
    marker = LocalMarker(command, attempt, env.now)
    if ok:
        (payload,) = value.payloads
        resolution.completed.result.CopyFrom(payload)
        marker.result = payload
    else:
        cause = Failure()
        env._converter.failure_converter.to_failure(value, env._converter.payload_converter, cause)
        retry_state = final_retry_state(command, attempt)
        failure = activity_failure(command, 0, 0, retry_state, cause)  # type: ignore[arg-type]
        resolution.failed.failure.CopyFrom(failure)
        marker.failure = failure
    job = ResolveActivity(seq=command.seq, result=resolution, is_local=True)
    return WorkflowActivationJob(resolve_activity=job), marker


def record(env: Any, run: Any, marker: LocalMarker, completed_id: int) -> None:
    """The ``MarkerRecorded`` event core's marker command makes."""
    command = marker.command
    data = {
        "seq": command.seq,
        "attempt": marker.attempt,
        "activity_id": command.activity_id,
        "activity_type": command.activity_type,
        "complete_time": _timestamp(marker.completed),
        "backoff": None,
        "original_schedule_time": (
            {
                "seconds": command.original_schedule_time.seconds,
                "nanos": command.original_schedule_time.nanos,
            }
            if command.HasField("original_schedule_time")
            else None
        ),
    }
    details = {
        "data": Payloads(
            payloads=[Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(data).encode())]
        )
    }
    if marker.result is not None:
        details["result"] = Payloads(payloads=[marker.result])
    fields: dict[str, Any] = {"marker_name": MARKER_NAME, "details": details}
    if marker.failure is not None:
        fields["failure"] = marker.failure
    run._history.add(
        EventType.EVENT_TYPE_MARKER_RECORDED,
        env.now,
        "marker_recorded",
        workflow_task_completed_event_id=completed_id,
        **fields,
    )


def _timestamp(when: datetime) -> dict[str, int]:
    seconds = int(when.timestamp())
    return {"seconds": seconds, "nanos": when.microsecond * 1000}
