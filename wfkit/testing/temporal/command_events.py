"""The server's side of a workflow task's commands: each command the workflow sent is recorded
in the history as Temporal's server records it (an activity scheduled, a timer started or
cancelled, a cancellation requested, a patch marker, the workflow closed), or handed to the
module that emulates its feature (children, continue-as-new, updates, external workflows,
local activities). :data:`NOT_EMULATED` names the commands no module answers yet.

The functions take the environment and runs untyped (``Any``): the environment imports this
module, so this module does not import it back.
"""

from __future__ import annotations

from typing import Any

import temporalio.api.common.v1
import temporalio.api.taskqueue.v1
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.bridge.proto.workflow_activation import ResolveActivity, WorkflowActivationJob
from temporalio.bridge.proto.workflow_commands import WorkflowCommand

from wfkit.testing.temporal import (
    attempts,
    children,
    continuation,
    external,
    local_activities,
    updates,
)
from wfkit.testing.temporal.errors import ActivityNotRegistered
from wfkit.testing.temporal.history import IDENTITY
from wfkit.testing.temporal.run import ScheduledActivity, StartedTimer

# Commands the environment answers; any other one names a feature not emulated yet.
NOT_EMULATED = {
    "request_cancel_local_activity": "cancelling a local activity",
    "schedule_nexus_operation": "Nexus operations",
    "request_cancel_nexus_operation": "Nexus operations",
    "cancel_signal_workflow": "cancelling a signal to another workflow",
    "upsert_workflow_search_attributes": "search attribute upserts",
    "modify_workflow_properties": "workflow property (memo) changes",
}
CLOSING = ("complete_workflow_execution", "fail_workflow_execution", "cancel_workflow_execution")


def cancelled_at_once(run: Any, command: WorkflowCommand) -> WorkflowActivationJob | None:
    """Core's local answer to cancelling an activity with TRY_CANCEL (the default) or
    ABANDON: the activity resolves as cancelled in the same workflow task. With
    WAIT_CANCELLATION_COMPLETED core waits for the server's ``ActivityTaskCanceled``."""
    seq = command.request_cancel_activity.seq
    activity = run._activities[seq]
    if activity.command.cancellation_type not in (attempts.TRY_CANCEL, attempts.ABANDON):
        return None
    activity.resolved = True
    resolution = attempts.cancelled_resolution(activity, 0)
    return WorkflowActivationJob(resolve_activity=ResolveActivity(seq=seq, result=resolution))


def record(
    env: Any,
    run: Any,
    command: WorkflowCommand | local_activities.LocalMarker,
    completed_id: int,
) -> None:
    if isinstance(command, local_activities.LocalMarker):
        local_activities.record(env, run, command, completed_id)
        return
    history = run._history
    kind = command.WhichOneof("variant")
    if kind == "schedule_activity":
        a = command.schedule_activity
        if not env._activities.known(a.activity_type):
            raise ActivityNotRegistered(a.activity_type, env._activities.names())
        event = history.add(
            EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            env.now,
            "activity_task_scheduled",
            activity_id=a.activity_id,
            activity_type=temporalio.api.common.v1.ActivityType(name=a.activity_type),
            task_queue=temporalio.api.taskqueue.v1.TaskQueue(name=a.task_queue),
            header=temporalio.api.common.v1.Header(fields=dict(a.headers)),
            input=Payloads(payloads=list(a.arguments)),
            schedule_to_close_timeout=a.schedule_to_close_timeout,
            schedule_to_start_timeout=a.schedule_to_start_timeout,
            start_to_close_timeout=a.start_to_close_timeout,
            heartbeat_timeout=a.heartbeat_timeout,
            workflow_task_completed_event_id=completed_id,
            retry_policy=a.retry_policy,
        )
        run._activities[a.seq] = ScheduledActivity(a, event.event_id, env.now, env.now)
    elif kind == "start_timer":
        t = command.start_timer
        event = history.add(
            EventType.EVENT_TYPE_TIMER_STARTED,
            env.now,
            "timer_started",
            timer_id=str(t.seq),
            start_to_fire_timeout=t.start_to_fire_timeout,
            workflow_task_completed_event_id=completed_id,
        )
        due = env.now + t.start_to_fire_timeout.ToTimedelta()
        run._timers[t.seq] = StartedTimer(t.seq, event.event_id, due)
    elif kind == "cancel_timer":
        timer = run._timers.pop(command.cancel_timer.seq)
        history.add(
            EventType.EVENT_TYPE_TIMER_CANCELED,
            env.now,
            "timer_canceled",
            timer_id=str(timer.seq),
            started_event_id=timer.started_event_id,
            workflow_task_completed_event_id=completed_id,
            identity=IDENTITY,
        )
    elif kind == "request_cancel_activity":
        activity = run._activities[command.request_cancel_activity.seq]
        if activity.command.cancellation_type == attempts.ABANDON:
            return  # core resolves it alone and tells the server nothing
        requested = history.add(
            EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
            env.now,
            "activity_task_cancel_requested",
            scheduled_event_id=activity.scheduled_event_id,
            workflow_task_completed_event_id=completed_id,
        ).event_id
        activity.cancel_requested_event_id = requested
        if activity.running is not None:
            return  # the attempt learns it at its next heartbeat
        # Not started (due, or in retry backoff): the server cancels it at once.
        del run._activities[activity.command.seq]
        run._just_cancelled.append(activity)
        history.add(
            EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
            env.now,
            "activity_task_canceled",
            latest_cancel_requested_event_id=requested,
            scheduled_event_id=activity.scheduled_event_id,
            identity=IDENTITY,
        )
    elif kind == "start_child_workflow_execution":
        children.record_initiated(env, run, command.start_child_workflow_execution, completed_id)
    elif kind == "set_patch_marker":
        _patch_marker(env, run, command.set_patch_marker, completed_id)
    elif kind in CLOSING:
        _close(env, run, command, completed_id)
    elif kind == continuation.KIND:
        continuation.record(env, run, command, completed_id)
    elif kind == updates.KIND:
        updates.record(env, run, command, completed_id)
    elif kind in external.COMMANDS:
        external.record(env, run, command, completed_id)
    elif kind == "cancel_child_workflow_execution":
        children.record_cancel(env, run, command.cancel_child_workflow_execution, completed_id)
    # respond_to_query commands answer queries and leave nothing in the history.


def _patch_marker(env: Any, run: Any, marker: Any, completed_id: int) -> None:
    run.patches.append(marker.patch_id)
    run._history.patch_marker(
        env.now, marker.patch_id, marker.deprecated, run.patches, completed_id
    )
    note = " (deprecated)" if marker.deprecated else ""
    env.note(run, f"patch {marker.patch_id!r} marked{note}")


def _close(env: Any, run: Any, command: WorkflowCommand, completed_id: int) -> None:
    ending = run._history.closed(env.now, command, completed_id)
    run._closing = command
    run.closed_at = env.now
    env.note(run, f"workflow {ending}")
    attempts.forget(run)
    run._activities.clear()
    run._timers.clear()
    children.apply_close_policies(env, run)
