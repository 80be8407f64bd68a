"""``TemporalRun``: one workflow run in the environment, the test's handle on it (like a
client's ``WorkflowHandle``: result, signal, query, update, cancel), and the server's state of
it (scheduled activities, started timers, children, queued work).

The run keeps its environment untyped (``Any``): the environment imports this module, so this
module does not import it back. It calls the environment's server side (a workflow task,
advancing virtual time) for what the test asks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import temporalio.exceptions
import temporalio.workflow
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.bridge.proto.workflow_activation import (
    CancelWorkflow,
    QueryWorkflow,
    SignalWorkflow,
    WorkflowActivationJob,
)
from temporalio.bridge.proto.workflow_commands import ScheduleActivity, WorkflowCommand
from temporalio.client import WorkflowFailureError, WorkflowHistory

from wfkit.testing.temporal import attempts, children, continuation, updates
from wfkit.testing.temporal.driver import WorkflowDriver
from wfkit.testing.temporal.history import IDENTITY, HistoryBuilder


@dataclasses.dataclass
class ScheduledActivity:
    """An activity the workflow scheduled, as the server tracks it until it ends."""

    command: ScheduleActivity
    scheduled_event_id: int
    scheduled: datetime
    due: datetime
    attempt: int = 1
    # The last heartbeat's details, as the server keeps them for the next attempt.
    heartbeat_details: tuple[Any, ...] = ()
    timed_out: bool = False  # no retry fits before the schedule-to-close deadline
    running: attempts.Running | None = None  # the attempt in flight, if one is
    cancel_requested_event_id: int = 0  # its ActivityTaskCancelRequested, once the workflow asks
    resolved: bool = False  # core resolved it already (cancelled with TRY_CANCEL or ABANDON)


@dataclasses.dataclass
class StartedTimer:
    """A timer the workflow started: it fires at ``due`` on the virtual clock."""

    seq: int
    started_event_id: int
    due: datetime


class TemporalRun:
    """One workflow run in the environment: the test's handle, like a client's WorkflowHandle."""

    def __init__(
        self,
        env: Any,
        workflow_id: str,
        defn: temporalio.workflow._Definition,
        driver: WorkflowDriver,
        history: HistoryBuilder,
    ) -> None:
        self.env = env
        self.id = workflow_id
        self.defn = defn
        self._driver = driver
        self._history = history
        self._activities: dict[int, ScheduledActivity] = {}
        self._timers: dict[int, StartedTimer] = {}
        self._closing: WorkflowCommand | None = None
        self._needs_rebuild = False
        self.crashes = 0
        self.patches: list[str] = []  # patch ids whose markers the history records, in order
        self._children: dict[int, children.PendingChild] = {}
        # Not-started activities the current workflow task cancelled (the server ends them now).
        self._just_cancelled: list[ScheduledActivity] = []
        self.closed_at: datetime | None = None
        # Why the environment stopped the run mid-task (a failed workflow task, a feature not
        # emulated), or None: such a history ends in a task no one answered.
        self.stopped: str | None = None
        # Continue-as-new: the run this one continued, the run that continued this one, and
        # this run's first workflow task while it waits to run (continuation.py).
        self._continued_from: TemporalRun | None = None
        self._next: TemporalRun | None = None
        self._pending_start: continuation.PendingStart | None = None
        self._parent: tuple[TemporalRun, int] | None = None  # a child's parent, initiated id
        # Updates the test sent, by id, and the requests not yet accepted (updates.py).
        self._updates: dict[str, updates.PendingUpdate] = {}
        self._update_requests: dict[str, Any] = {}
        # The server's own work for this run, due at a time (a signal or cancellation to
        # deliver to another workflow, a parent close policy's cancellation): external.py.
        self._queued: list[tuple[datetime, Callable[[], Awaitable[None]]]] = []
        self.terminated: str | None = None  # why the server terminated the run

    @property
    def done(self) -> bool:
        return self._closing is not None

    @property
    def replayable(self) -> bool:
        """Whether the history is one a worker handled to its last task: not stopped mid-task,
        and not a run continued as new whose first task has not run (a Replayer waits forever
        on a history with no workflow task)."""
        return self.stopped is None and self._pending_start is None

    @property
    def run_id(self) -> str:
        return self._driver.run_id

    @property
    def runs(self) -> list[TemporalRun]:
        """This run and the runs that continued it as new, in order (the last is the newest)."""
        return continuation.chain(self)

    def history(self) -> WorkflowHistory:
        """The run's history so far, as temporalio's client returns it (and Replayer takes)."""
        return self._history.to_history()

    async def result(self) -> Any:
        """Run on virtual time until the workflow closes; its result, or the client's
        ``WorkflowFailureError`` when it failed or was cancelled. Like a client's handle, it
        follows continue-as-new to the last run's result."""
        run = self
        while True:
            await self.env._advance(run, until=None)
            if run._next is None:
                return run._outcome()
            run = run._next

    async def signal(self, signal: str | Callable[..., Any], *args: Any) -> None:
        await self.env._catch_up()
        if self._next is not None:  # sent to the newest run, as a handle without a run id does
            return await self.runs[-1].signal(signal, *args)
        name = temporalio.workflow._SignalDefinition.must_name_from_fn_or_str(signal)
        payloads = self.env._converter.payload_converter.to_payloads(list(args))
        self._require_open("signal")
        event = self._history.add(
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
            self.env.now,
            "workflow_execution_signaled",
            signal_name=name,
            input=Payloads(payloads=payloads),
            identity=IDENTITY,
        )
        signal_job = SignalWorkflow(signal_name=name, input=payloads, identity=IDENTITY)
        if "originating_event_id" in SignalWorkflow.DESCRIPTOR.fields_by_name:
            signal_job.originating_event_id = event.event_id
        job = WorkflowActivationJob(signal_workflow=signal_job)
        await self.env._workflow_task(self, [job])
        await self.env._advance(None, until=self.env.now)  # a next run's first task too

    async def query(self, query: str | Callable[..., Any], *args: Any) -> Any:
        """Ask a query handler; queries leave no trace in the history."""
        await self.env._catch_up()
        if self._next is not None:
            return await self.runs[-1].query(query, *args)
        defn = (
            None if isinstance(query, str) else temporalio.workflow._QueryDefinition.from_fn(query)
        )
        name = query if isinstance(query, str) else (defn.name if defn else None)
        if not name:
            raise ValueError(f"{query!r} is not a named @workflow.query handler: pass its name")
        converter = self.env._converter.payload_converter
        job = WorkflowActivationJob(
            query_workflow=QueryWorkflow(
                query_id="q", query_type=name, arguments=converter.to_payloads(list(args))
            )
        )
        completion = self.env._activate(self, [job], log=False)
        (answer,) = [c.respond_to_query for c in completion.successful.commands]
        if answer.HasField("failed"):
            raise self.env._converter.failure_converter.from_failure(answer.failed, converter)
        hints = [defn.ret_type] if defn and defn.ret_type else None
        return converter.from_payloads([answer.succeeded.response], hints)[0]

    async def update(
        self, update: str | Callable[..., Any], *args: Any, id: str | None = None
    ) -> Any:
        """Send an update and wait (on virtual time) for its result, as
        ``WorkflowHandle.execute_update`` does; a rejected or failed update raises the client's
        ``WorkflowUpdateFailedError``. ``id``: the update id (default ``update-<n>``)."""
        await self.env._catch_up()
        if self._next is not None:
            return await self.runs[-1].update(update, *args, id=id)
        update_id = id or f"update-{len(self._updates) + 1}"
        return await updates.update(self.env, self, update, args, update_id)

    async def cancel(self) -> None:
        """Request cancellation, as ``WorkflowHandle.cancel()`` does."""
        await self.env._catch_up()
        if self._next is not None:
            return await self.runs[-1].cancel()
        self._require_open("cancel")
        self._history.add(
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
            self.env.now,
            "workflow_execution_cancel_requested",
            identity=IDENTITY,
        )
        job = WorkflowActivationJob(cancel_workflow=CancelWorkflow(reason="cancelled by test"))
        await self.env._workflow_task(self, [job])
        await self.env._advance(None, until=self.env.now)

    def _due(self) -> list[tuple[datetime, int, int]]:
        """(when, 0 activity / 1 timer / 2 child start / 3 child result / 4 first task of a run
        continued as new / 5 queued server work, seq) of the run's pending work."""
        due = [(a.due, 0, a.command.seq) for a in self._activities.values() if a.running is None]
        due += continuation.due(self)
        due += [(when, 5, i) for i, (when, _) in enumerate(self._queued)]
        return due + [(t.due, 1, t.seq) for t in self._timers.values()] + children.due(self)

    def _busy(self) -> bool:
        """Whether the run, or a child it waits for, has work that time alone will do."""
        running = any(a.running is not None for a in self._activities.values())
        return bool(self._due()) or running or children.busy(self)

    def crash(self) -> None:
        """The worker dies now: the next activation first rebuilds the instance by replay."""
        self.env._crash(self)

    def _require_open(self, what: str) -> None:
        if self.done:
            raise temporalio.exceptions.ApplicationError(
                f"cannot {what} workflow {self.id!r}: it has closed"
            )

    def _outcome(self) -> Any:
        assert self._closing is not None
        converter = self.env._converter
        if self.terminated is not None:
            raise WorkflowFailureError(cause=temporalio.exceptions.TerminatedError(self.terminated))
        kind = self._closing.WhichOneof("variant")
        if kind == "complete_workflow_execution":
            hints = [self.defn.ret_type] if self.defn.ret_type else None
            payload = self._closing.complete_workflow_execution.result
            return converter.payload_converter.from_payloads([payload], hints)[0]
        if kind == "fail_workflow_execution":
            cause = converter.failure_converter.from_failure(
                self._closing.fail_workflow_execution.failure, converter.payload_converter
            )
        else:
            cause = temporalio.exceptions.CancelledError("Workflow cancelled")
        raise WorkflowFailureError(cause=cause)
