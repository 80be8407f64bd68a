"""Child workflows run in the same environment, the server's side of them: the parent's
``StartChildWorkflowExecutionInitiated`` / ``ChildWorkflowExecutionStarted`` / ``...Completed``
(or ``Failed``, ``Canceled``) events, the child's own run (a ``TemporalRun`` with its own
history naming its parent), and the activation jobs core sends the parent; cancelling a child
from its parent, and the parent close policies applied when the parent closes.

The functions take the environment and runs untyped (``Any``): the environment imports this
module, so this module does not import it back."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from temporalio.api.common.v1 import Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.failure.v1 import ChildWorkflowExecutionFailureInfo, Failure
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.bridge.proto.child_workflow import (
    ChildWorkflowCancellationType,
    ChildWorkflowResult,
    ParentClosePolicy,
)
from temporalio.bridge.proto.workflow_activation import (
    ResolveChildWorkflowExecution,
    ResolveChildWorkflowExecutionStart,
    ResolveChildWorkflowExecutionStartSuccess,
    WorkflowActivationJob,
)
from temporalio.bridge.proto.workflow_commands import (
    CancelChildWorkflowExecution,
    StartChildWorkflowExecution,
    WorkflowCommand,
)

from wfkit.testing.temporal import attempts, external
from wfkit.testing.temporal.driver import NAMESPACE
from wfkit.testing.temporal.errors import NotEmulated
from wfkit.testing.temporal.history import IDENTITY


@dataclasses.dataclass
class PendingChild:
    """A child the parent asked for: not started yet (``child`` None), running, or closed
    with its result not yet delivered to the parent."""

    command: StartChildWorkflowExecution
    initiated_event_id: int
    queued: datetime
    child: Any = None  # its TemporalRun once started
    started_event_id: int = 0


def record_initiated(
    env: Any, parent: Any, command: StartChildWorkflowExecution, completed: int
) -> None:
    """The parent's workflow task asked for a child: the server records the initiation and
    starts the child right after (as due work at this instant)."""
    event = parent._history.add(
        EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        env.now,
        "start_child_workflow_execution_initiated",
        namespace=NAMESPACE,
        workflow_id=command.workflow_id,
        workflow_type=WorkflowType(name=command.workflow_type),
        task_queue=TaskQueue(name=command.task_queue or env.task_queue),
        input=Payloads(payloads=list(command.input)),
        workflow_task_timeout=command.workflow_task_timeout,
        parent_close_policy=command.parent_close_policy,
        workflow_task_completed_event_id=completed,
        workflow_id_reuse_policy=command.workflow_id_reuse_policy,
    )
    parent._children[command.seq] = PendingChild(command, event.event_id, env.now)


async def start(env: Any, parent: Any, seq: int) -> None:
    """Start the child: its run and first task, the parent's Started event and the job that
    resolves the parent's start."""
    pending: PendingChild = parent._children[seq]
    command = pending.command
    if command.workflow_type not in env._workflows:
        parent.stopped = f"child workflow {command.workflow_type!r} (not registered)"
        raise NotEmulated(parent.stopped)
    if command.workflow_id in env.runs:
        parent.stopped = "starting a child whose workflow id is taken"
        raise NotEmulated(parent.stopped)
    child, init = env._new_run(
        env._workflows[command.workflow_type],
        command.workflow_id,
        list(command.input),
        parent=(parent, pending.initiated_event_id),
    )
    pending.child = child
    pending.started_event_id = parent._history.add(
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
        env.now,
        "child_workflow_execution_started",
        namespace=NAMESPACE,
        initiated_event_id=pending.initiated_event_id,
        workflow_execution=_execution(child),
        workflow_type=WorkflowType(name=command.workflow_type),
    ).event_id
    env.note(parent, f"child workflow {child.id!r} started")
    resolved = ResolveChildWorkflowExecutionStart(
        seq=seq, succeeded=ResolveChildWorkflowExecutionStartSuccess(run_id=child._driver.run_id)
    )
    await env._workflow_task(
        parent, [WorkflowActivationJob(resolve_child_workflow_execution_start=resolved)]
    )
    if not child.done:  # the parent may have closed (and terminated it) as the start resolved
        await env._workflow_task(child, [WorkflowActivationJob(initialize_workflow=init)])


async def deliver(env: Any, parent: Any, seq: int) -> None:
    """The child closed: the parent's Completed / Failed / Canceled event and the job that
    resolves its result, as core words it."""
    pending: PendingChild = parent._children.pop(seq)
    child = pending.child.runs[-1]  # a child that continued as new ends in its last run
    closing = child._closing
    kind = closing.WhichOneof("variant")
    common = {
        "namespace": NAMESPACE,
        "workflow_execution": _execution(child),
        "workflow_type": WorkflowType(name=pending.command.workflow_type),
        "initiated_event_id": pending.initiated_event_id,
        "started_event_id": pending.started_event_id,
    }
    result = ChildWorkflowResult()
    if kind == "complete_workflow_execution":
        payload = closing.complete_workflow_execution.result
        parent._history.add(
            EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
            env.now,
            "child_workflow_execution_completed",
            result=Payloads(payloads=[payload]),
            **common,
        )
        result.completed.result.CopyFrom(payload)
    elif kind == "fail_workflow_execution":
        cause = closing.fail_workflow_execution.failure
        retry_state = RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
        parent._history.add(
            EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
            env.now,
            "child_workflow_execution_failed",
            failure=cause,
            retry_state=retry_state,
            **common,
        )
        result.failed.failure.CopyFrom(
            _child_failure("Child Workflow execution failed", pending, child, retry_state, cause)
        )
    else:
        parent._history.add(
            EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
            env.now,
            "child_workflow_execution_canceled",
            **common,
        )
        cause = Failure(message="Child Workflow execution cancelled")
        cause.canceled_failure_info.SetInParent()
        result.cancelled.failure.CopyFrom(
            _child_failure(
                "Child Workflow execution cancelled",
                pending,
                child,
                RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE,
                cause,
            )
        )
    env.note(parent, f"child workflow {child.id!r} closed: {kind.split('_')[0]}")
    job = ResolveChildWorkflowExecution(seq=seq, result=result)
    await env._workflow_task(parent, [WorkflowActivationJob(resolve_child_workflow_execution=job)])


def due(run: Any) -> list[tuple[datetime, int, int]]:
    """(when, 2 start / 3 deliver, seq) of the run's child work."""
    out = []
    for seq, pending in run._children.items():
        if pending.child is None:
            out.append((pending.queued, 2, seq))
        elif pending.child.runs[-1].done:
            out.append((pending.child.runs[-1].closed_at, 3, seq))
    return out


def busy(run: Any) -> bool:
    """Whether a child of ``run`` (or its children) still has work of its own to do."""
    runs = [p.child.runs[-1] for p in run._children.values() if p.child is not None]
    return any(not child.done and child._busy() for child in runs)


def _child_failure(
    message: str, pending: PendingChild, child: Any, retry_state: int, cause: Failure
) -> Failure:
    failure = Failure(
        message=message,
        child_workflow_execution_failure_info=ChildWorkflowExecutionFailureInfo(
            namespace=NAMESPACE,
            workflow_execution=_execution(child),
            workflow_type=WorkflowType(name=pending.command.workflow_type),
            initiated_event_id=pending.initiated_event_id,
            started_event_id=pending.started_event_id,
            retry_state=retry_state,  # type: ignore[arg-type]
        ),
    )
    failure.cause.CopyFrom(cause)
    return failure


def _execution(run: Any) -> WorkflowExecution:
    return WorkflowExecution(workflow_id=run.id, run_id=run._driver.run_id)


def record_cancel(
    env: Any, parent: Any, command: CancelChildWorkflowExecution, completed: int
) -> None:
    """The parent cancels a started child (its handle or task): core asks the server to
    cancel it (``RequestCancelExternalWorkflowExecutionInitiated``, child only); right after,
    as due work, the child gets the cancel request and the parent
    ``ExternalWorkflowExecutionCancelRequested``. With the default cancellation type
    (WAIT_CANCELLATION_COMPLETED) the parent then waits for the child to close."""
    pending: PendingChild | None = parent._children.get(command.child_workflow_seq)
    if pending is None or pending.child is None:
        parent.stopped = "cancelling a child workflow before it started"
        raise NotEmulated(parent.stopped)
    if (
        pending.command.cancellation_type
        != ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED
    ):
        parent.stopped = "child workflow cancellation types other than WAIT_CANCELLATION_COMPLETED"
        raise NotEmulated(parent.stopped)
    child = pending.child.runs[-1]
    initiated = parent._history.add(
        EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        env.now,
        "request_cancel_external_workflow_execution_initiated",
        workflow_task_completed_event_id=completed,
        namespace=NAMESPACE,
        workflow_execution=_execution(child),
        child_workflow_only=True,
        reason=command.reason,
    ).event_id

    async def deliver() -> None:
        if not child.done:
            await external.cancel_run(env, child, command.reason, parent, initiated)
        if parent.done:
            return
        parent._history.add(
            EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
            env.now,
            "external_workflow_execution_cancel_requested",
            initiated_event_id=initiated,
            namespace=NAMESPACE,
            workflow_execution=_execution(child),
        )
        # Core resolves nothing for the workflow here (it waits for the child to close), so
        # the worker answers the task with no commands.
        parent._history.workflow_task(env.now, [])

    parent._queued.append((env.now, deliver))


def apply_close_policies(env: Any, parent: Any) -> None:
    """The parent closed: each child still running gets its parent close policy, as the
    server applies it: TERMINATE (the default) terminates it, REQUEST_CANCEL requests its
    cancellation (as due work at this instant), ABANDON leaves it running."""
    for pending in parent._children.values():
        if pending.child is None:
            continue
        child = pending.child.runs[-1]
        if child.done:
            continue
        policy = pending.command.parent_close_policy
        if policy == ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON:
            env.note(child, f"parent {parent.id!r} closed; child abandoned, still running")
        elif policy == ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL:
            env.note(child, f"parent {parent.id!r} closed; cancellation requested")

            async def cancel(child: Any = child) -> None:
                if not child.done:
                    await external.cancel_run(env, child, "by parent close policy")

            child._queued.append((env.now, cancel))
        else:
            terminate(env, child, "by parent close policy")


def terminate(env: Any, run: Any, reason: str) -> None:
    """The server terminates the run: ``WorkflowExecutionTerminated``, no workflow task (the
    worker is not asked); its own children get their close policies in turn."""
    run._history.add(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        env.now,
        "workflow_execution_terminated",
        reason=reason,
        identity=IDENTITY,
    )
    run._closing = WorkflowCommand()
    run.terminated = reason
    run.closed_at = env.now
    attempts.forget(run)
    run._activities.clear()
    run._timers.clear()
    run._queued.clear()
    env.note(run, f"workflow terminated {reason}")
    apply_close_policies(env, run)
