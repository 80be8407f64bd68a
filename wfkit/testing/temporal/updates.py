"""Workflow updates, the server's side: the test's update reaches the workflow as core's
``DoUpdate`` job in a workflow task of its own; the validator (if any) accepts or rejects it.

As on a server, a rejected update leaves no event at all (its workflow task was speculative and
is dropped), so the driver forgets the activation; an accepted one records
``WorkflowExecutionUpdateAccepted`` after the task's completion and, when the handler returns or
raises (in that task or a later one), ``WorkflowExecutionUpdateCompleted`` with the outcome. The
test's ``update`` waits on virtual time for the outcome, as ``execute_update`` does, and returns
the result or raises the client's ``WorkflowUpdateFailedError``.

Updates and signals reach the workflow in the order the test sends them (each in a workflow task
of its own), which is the order Temporal delivers them in. On a rebuild after a crash the
accepted update is replayed without its validator, as core replays it.

The functions take the environment and runs untyped (``Any``): the environment imports this
module, so this module does not import it back."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import temporalio.exceptions
import temporalio.workflow
from temporalio.api.common.v1 import Header, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.update.v1 import Input, Meta, Outcome, Request
from temporalio.bridge.proto.workflow_activation import DoUpdate, WorkflowActivationJob
from temporalio.bridge.proto.workflow_commands import WorkflowCommand
from temporalio.client import WorkflowUpdateFailedError

from wfkit.testing.temporal.history import IDENTITY

KIND = "update_response"


@dataclasses.dataclass
class PendingUpdate:
    """An update the test sent: its accepted event id once accepted, its outcome once known."""

    update_id: str
    accepted_event_id: int = 0
    rejected: Any = None  # the validator's Failure
    outcome: Outcome | None = None


def rejected_only(run: Any, commands: list[Any]) -> bool:
    """Whether the task's only commands reject updates: the server then drops the task, so
    it leaves no events; the rejection is kept for the waiting ``update``."""
    if not commands or not all(
        isinstance(c, WorkflowCommand)
        and c.HasField("update_response")
        and c.update_response.HasField("rejected")
        and run._updates.get(c.update_response.protocol_instance_id) is not None
        and not run._updates[c.update_response.protocol_instance_id].accepted_event_id
        for c in commands
    ):
        return False
    for c in commands:
        run._updates[c.update_response.protocol_instance_id].rejected = c.update_response.rejected
    return True


def record(env: Any, run: Any, command: WorkflowCommand, completed_id: int) -> None:
    """An update response: the accepted event, or the completed event with the outcome."""
    response = command.update_response
    pending: PendingUpdate = run._updates[response.protocol_instance_id]
    meta = Meta(update_id=pending.update_id, identity=IDENTITY)
    if response.HasField("accepted"):
        request = run._update_requests.pop(pending.update_id)
        pending.accepted_event_id = run._history.add(
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            env.now,
            "workflow_execution_update_accepted",
            protocol_instance_id=response.protocol_instance_id,
            accepted_request_message_id=f"{pending.update_id}/request",
            accepted_request_sequencing_event_id=completed_id - 1,  # the task's started event
            accepted_request=request,
        ).event_id
        env.note(run, f"update {pending.update_id!r} accepted")
        return
    if response.HasField("completed"):
        outcome = Outcome(success=Payloads(payloads=[response.completed]))
    else:  # rejected after acceptance: the handler raised
        outcome = Outcome(failure=response.rejected)
    run._history.add(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        env.now,
        "workflow_execution_update_completed",
        meta=meta,
        accepted_event_id=pending.accepted_event_id,
        outcome=outcome,
    )
    pending.outcome = outcome
    env.note(
        run,
        f"update {pending.update_id!r} "
        + ("completed" if outcome.HasField("success") else "failed"),
    )


async def update(
    env: Any, run: Any, handler: str | Callable[..., Any], args: tuple[Any, ...], update_id: str
) -> Any:
    """Send the update now and wait on virtual time for its outcome."""
    defn = getattr(handler, "_defn", None)
    if not isinstance(defn, temporalio.workflow._UpdateDefinition):
        defn = None
    name = handler if isinstance(handler, str) else (defn.name if defn else None)
    if not name:
        raise ValueError(f"{handler!r} is not a named @workflow.update handler: pass its name")
    run._require_open("update")
    if update_id in run._updates:
        raise ValueError(f"update id {update_id!r} already used for workflow {run.id!r}")
    converter = env._converter
    payloads = converter.payload_converter.to_payloads(list(args))
    run._updates[update_id] = pending = PendingUpdate(update_id)
    run._update_requests[update_id] = Request(
        meta=Meta(update_id=update_id, identity=IDENTITY),
        input=Input(header=Header(), name=name, args=Payloads(payloads=payloads)),
    )
    job = DoUpdate(
        id=update_id, protocol_instance_id=update_id, name=name, input=payloads, run_validator=True
    )
    job.meta.update_id = update_id
    job.meta.identity = IDENTITY
    await env._workflow_task(run, [WorkflowActivationJob(do_update=job)])
    await env._advance(
        run, until=None, stop=lambda: pending.outcome is not None or pending.rejected is not None
    )
    if pending.outcome is None and pending.rejected is None:
        raise WorkflowUpdateFailedError(
            temporalio.exceptions.ApplicationError(
                f"workflow {run.id!r} closed before update {update_id!r} completed"
            )
        )
    await env._advance(None, until=env.now)
    failure = (
        pending.rejected
        if pending.outcome is None
        else (pending.outcome.failure if pending.outcome.HasField("failure") else None)
    )
    if failure is not None:
        cause = converter.failure_converter.from_failure(failure, converter.payload_converter)
        raise WorkflowUpdateFailedError(cause)
    assert pending.outcome is not None
    hints = [defn.ret_type] if defn is not None and defn.ret_type else None
    return converter.payload_converter.from_payloads(list(pending.outcome.success.payloads), hints)[
        0
    ]
