"""Continue-as-new, the server's side of it: the run closes with
``WorkflowExecutionContinuedAsNew`` and a new run of the same workflow id starts with the new
input, a new run id, ``continued_execution_run_id`` naming the run before and
``first_execution_run_id`` the chain's first, as a Temporal server writes them.

The environment keeps the newest run of a workflow id in ``env.runs`` (signals, queries,
updates and cancellation by id go there, as a client's handle without a run id sends them);
each run links to the next, so a test's handle follows the chain to the last run's result.

The functions take the environment and runs untyped (``Any``): the environment imports this
module, so this module does not import it back."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import Header, Payloads, WorkflowType
from temporalio.api.enums.v1 import ContinueAsNewInitiator, EventType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.bridge.proto.workflow_activation import InitializeWorkflow, WorkflowActivationJob
from temporalio.bridge.proto.workflow_commands import ContinueAsNewWorkflowExecution

from wfkit.testing.temporal import attempts, children
from wfkit.testing.temporal.errors import NotEmulated

KIND = "continue_as_new_workflow_execution"


@dataclasses.dataclass
class PendingStart:
    """A new run the server has started (its first event is written) whose first workflow
    task has not run yet: it is due work at ``due``."""

    init: InitializeWorkflow
    due: datetime


def record(env: Any, run: Any, command: Any, completed_id: int) -> None:
    """The run's last command asked to continue as new: close it, start the next run."""
    cont: ContinueAsNewWorkflowExecution = command.continue_as_new_workflow_execution
    workflow_type = cont.workflow_type or run.defn.name
    if workflow_type not in env._workflows:
        run.stopped = f"continue-as-new into workflow {workflow_type!r} (not registered)"
        raise NotEmulated(run.stopped)
    # The start delay (temporalio 1.22+ can set one; older releases have no such field).
    delay = (
        cont.backoff_start_interval.ToTimedelta()
        if "backoff_start_interval" in cont.DESCRIPTOR.fields_by_name
        else timedelta(0)
    )
    task_timeout = (
        cont.workflow_task_timeout
        if cont.HasField("workflow_task_timeout")
        else run._history.events[
            0
        ].workflow_execution_started_event_attributes.workflow_task_timeout
    )
    first_run_id = run._driver.init.first_execution_run_id or run._driver.run_id
    new_run_id = env._next_run_id()
    run._history.add(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        env.now,
        "workflow_execution_continued_as_new",
        new_execution_run_id=new_run_id,
        workflow_type=WorkflowType(name=workflow_type),
        task_queue=TaskQueue(name=cont.task_queue or run._history.task_queue),
        input=Payloads(payloads=list(cont.arguments)),
        workflow_task_timeout=task_timeout,
        workflow_task_completed_event_id=completed_id,
        backoff_start_interval=delay,
        initiator=ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW,
        header=Header(fields=dict(cont.headers)),
    )
    run._closing = command
    run.closed_at = env.now
    attempts.forget(run)
    run._activities.clear()
    run._timers.clear()
    env.note(run, f"workflow continued as new (run {new_run_id})")
    children.apply_close_policies(env, run)
    nxt, init = env._new_run(
        env._workflows[workflow_type], run.id, list(cont.arguments), parent=run._parent
    )
    assert nxt._driver.run_id == new_run_id
    started = nxt._history.events[0].workflow_execution_started_event_attributes
    started.continued_execution_run_id = run._driver.run_id
    started.initiator = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
    started.first_execution_run_id = first_run_id
    started.workflow_task_timeout.CopyFrom(task_timeout)
    if delay:
        started.first_workflow_task_backoff.FromTimedelta(delay)
    init.continued_from_execution_run_id = run._driver.run_id
    init.continued_initiator = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
    init.first_execution_run_id = first_run_id
    init.workflow_task_timeout.CopyFrom(task_timeout)
    nxt._continued_from = run
    run._next = nxt
    nxt._pending_start = PendingStart(init, env.now + delay)


def due(run: Any) -> list[tuple[datetime, int, int]]:
    """(when, 4, 0) while the run's first workflow task is pending."""
    pending: PendingStart | None = run._pending_start
    return [] if pending is None else [(pending.due, 4, 0)]


async def start(env: Any, run: Any) -> None:
    """The new run's first workflow task."""
    pending: PendingStart = run._pending_start
    run._pending_start = None
    job = WorkflowActivationJob(initialize_workflow=pending.init)
    await env._workflow_task(run, [job])


def chain(run: Any) -> list[Any]:
    """``run`` and every run that continued it, in order."""
    out = [run]
    while out[-1]._next is not None:
        out.append(out[-1]._next)
    return out
