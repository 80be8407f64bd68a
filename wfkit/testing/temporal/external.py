"""Signals to and cancellation of other workflows (``workflow.get_external_workflow_handle(id)``
``.signal`` / ``.cancel``), for runs in the same environment: the server's side of them.

The source's workflow task records ``SignalExternalWorkflowExecutionInitiated`` (or
``RequestCancelExternalWorkflowExecutionInitiated``); right after, as due work of the source, the
target records ``WorkflowExecutionSignaled`` (``WorkflowExecutionCancelRequested``) naming the
source and runs a workflow task, then the source records ``ExternalWorkflowExecutionSignaled``
(``ExternalWorkflowExecutionCancelRequested``) and core resolves the handle's call. A target that
is not running (unknown id, or closed) fails the call as the server does, with the ``...Failed``
event and cause ``EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND``.

The functions take the environment and runs untyped (``Any``): the environment imports this
module, so this module does not import it back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.api.common.v1 import Header, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import (
    CancelExternalWorkflowExecutionFailedCause,
    EventType,
    SignalExternalWorkflowExecutionFailedCause,
)
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.bridge.proto.workflow_activation import (
    CancelWorkflow,
    ResolveRequestCancelExternalWorkflow,
    ResolveSignalExternalWorkflow,
    SignalWorkflow,
    WorkflowActivationJob,
)
from temporalio.bridge.proto.workflow_commands import WorkflowCommand

from wfkit.testing.temporal.driver import NAMESPACE
from wfkit.testing.temporal.history import IDENTITY

COMMANDS = ("signal_external_workflow_execution", "request_cancel_external_workflow_execution")
NOT_FOUND = "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"


def execution(run: Any) -> WorkflowExecution:
    return WorkflowExecution(workflow_id=run.id, run_id=run.run_id)


def target_of(env: Any, workflow_id: str) -> Any:
    """The open run a message to ``workflow_id`` reaches (its newest run), or None."""
    target = env.runs.get(workflow_id)
    return None if target is None or target.done else target


def record(env: Any, run: Any, command: WorkflowCommand, completed_id: int) -> None:
    """The source's initiated event; the delivery is queued as due work at this instant."""
    if command.HasField("signal_external_workflow_execution"):
        sig = command.signal_external_workflow_execution
        target_id = sig.child_workflow_id or sig.workflow_execution.workflow_id
        initiated = run._history.add(
            EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
            env.now,
            "signal_external_workflow_execution_initiated",
            workflow_task_completed_event_id=completed_id,
            namespace=NAMESPACE,
            workflow_execution=WorkflowExecution(
                workflow_id=target_id, run_id=sig.workflow_execution.run_id
            ),
            signal_name=sig.signal_name,
            input=Payloads(payloads=list(sig.args)),
            child_workflow_only=bool(sig.child_workflow_id),
            header=Header(fields=dict(sig.headers)),
        ).event_id

        async def deliver_signal() -> None:
            await _signal(env, run, sig.seq, target_id, sig.signal_name, list(sig.args), initiated)

        run._queued.append((env.now, deliver_signal))
        return
    req = command.request_cancel_external_workflow_execution
    target_id = req.workflow_execution.workflow_id
    initiated = run._history.add(
        EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        env.now,
        "request_cancel_external_workflow_execution_initiated",
        workflow_task_completed_event_id=completed_id,
        namespace=NAMESPACE,
        workflow_execution=WorkflowExecution(
            workflow_id=target_id, run_id=req.workflow_execution.run_id
        ),
        child_workflow_only=False,
        reason=req.reason,
    ).event_id

    async def deliver_cancel() -> None:
        await _cancel(env, run, req.seq, target_id, req.reason, initiated)

    run._queued.append((env.now, deliver_cancel))


async def signal_run(
    env: Any, target: Any, name: str, payloads: list[Any], source: Any = None
) -> None:
    """``WorkflowExecutionSignaled`` on ``target`` (naming the source workflow) and its task."""
    fields: dict[str, Any] = {}
    if source is not None:
        fields["external_workflow_execution"] = execution(source)
    event = target._history.add(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        env.now,
        "workflow_execution_signaled",
        signal_name=name,
        input=Payloads(payloads=payloads),
        identity=IDENTITY,
        **fields,
    )
    job = SignalWorkflow(signal_name=name, input=payloads, identity=IDENTITY)
    if "originating_event_id" in SignalWorkflow.DESCRIPTOR.fields_by_name:
        job.originating_event_id = event.event_id
    env.note(target, f"signal {name!r}" + (f" from {source.id!r}" if source else ""))
    await env._workflow_task(target, [WorkflowActivationJob(signal_workflow=job)])


async def cancel_run(
    env: Any, target: Any, reason: str, source: Any = None, initiated: int = 0
) -> None:
    """``WorkflowExecutionCancelRequested`` on ``target`` (naming the source) and its task."""
    fields: dict[str, Any] = {"identity": IDENTITY, "cause": reason}
    if source is not None:
        fields["external_workflow_execution"] = execution(source)
        fields["external_initiated_event_id"] = initiated
    target._history.add(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        env.now,
        "workflow_execution_cancel_requested",
        **fields,
    )
    env.note(target, "cancellation requested" + (f" by {source.id!r}" if source else ""))
    job = WorkflowActivationJob(cancel_workflow=CancelWorkflow(reason=reason))
    await env._workflow_task(target, [job])


def _not_found(what: str) -> Failure:
    """The failure core hands the workflow when the target is not running."""
    return Failure(
        message=f"Unable to {what} external workflow because it was not found",
        application_failure_info=ApplicationFailureInfo(type=NOT_FOUND, non_retryable=True),
    )


async def _signal(
    env: Any, source: Any, seq: int, target_id: str, name: str, payloads: list[Any], initiated: int
) -> None:
    await _to_external(
        env,
        source,
        target_id,
        initiated,
        ResolveSignalExternalWorkflow(seq=seq),
        failed=(
            EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
            "signal_external_workflow_execution_failed",
            SignalExternalWorkflowExecutionFailedCause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
        ),
        done=(
            EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
            "external_workflow_execution_signaled",
        ),
        verb="signal",
        note=f"signal {name!r} to {target_id!r} failed: not found",
        deliver=lambda target: signal_run(env, target, name, payloads, source),
        job="resolve_signal_external_workflow",
    )


async def _cancel(
    env: Any, source: Any, seq: int, target_id: str, reason: str, initiated: int
) -> None:
    await _to_external(
        env,
        source,
        target_id,
        initiated,
        ResolveRequestCancelExternalWorkflow(seq=seq),
        failed=(
            EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
            "request_cancel_external_workflow_execution_failed",
            CancelExternalWorkflowExecutionFailedCause.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
        ),
        done=(
            EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
            "external_workflow_execution_cancel_requested",
        ),
        verb="cancel",
        note=f"cancelling {target_id!r} failed: not found",
        deliver=lambda target: cancel_run(env, target, reason, source, initiated),
        job="resolve_request_cancel_external_workflow",
    )


async def _to_external(
    env: Any,
    source: Any,
    target_id: str,
    initiated: int,
    resolution: Any,
    *,
    failed: tuple[Any, str, Any],
    done: tuple[Any, str],
    verb: str,
    note: str,
    deliver: Callable[[Any], Awaitable[None]],
    job: str,
) -> None:
    """A signal or cancel request to another workflow, as the server handles it: delivered
    and recorded on both sides, or failed as not found; then the source's resolution."""
    target = target_of(env, target_id)
    common = {
        "initiated_event_id": initiated,
        "namespace": NAMESPACE,
        "workflow_execution": WorkflowExecution(
            workflow_id=target_id, run_id=target.run_id if target else ""
        ),
    }
    if target is None:
        event_type, attribute, cause = failed
        source._history.add(event_type, env.now, attribute, cause=cause, **common)
        resolution.failure.CopyFrom(_not_found(verb))
        env.note(source, note)
    else:
        await deliver(target)
        if source.done:
            return
        source._history.add(done[0], env.now, done[1], **common)
    await env._workflow_task(source, [WorkflowActivationJob(**{job: resolution})])
