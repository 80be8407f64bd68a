"""The public face: ``TemporalTestEnvironment`` plays the Temporal server for workflow runs.

It starts runs, answers each workflow task's commands (activities, timers, completion), keeps
the history in Temporal's format, and moves a virtual clock: work due now runs at once (as a
worker that picks tasks up instantly), and time jumps to the next timer or retry only when a
run's result is awaited or the test calls :meth:`TemporalTestEnvironment.sleep`. A simulated
worker crash drops the SDK's workflow instance; the next activation first replays the history
into a new one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import temporalio.api.common.v1
import temporalio.api.taskqueue.v1
import temporalio.converter
import temporalio.exceptions
import temporalio.workflow
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.bridge.proto.activity_result import ActivityResolution
from temporalio.bridge.proto.workflow_activation import (
    CancelWorkflow,
    FireTimer,
    InitializeWorkflow,
    QueryWorkflow,
    ResolveActivity,
    SignalWorkflow,
    WorkflowActivationJob,
)
from temporalio.bridge.proto.workflow_commands import ScheduleActivity, WorkflowCommand
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.common import RetryPolicy

from wfkit.testing.temporal import (
    attempts,
    children,
    continuation,
    external,
    local_activities,
    single_activity,
    updates,
)
from wfkit.testing.temporal.activities import (
    ActivityMock,
    ActivityRunner,
    activity_name,
    retry_delay,
)
from wfkit.testing.temporal.async_completion import AsyncActivityHandle
from wfkit.testing.temporal.driver import NAMESPACE, WorkflowDriver
from wfkit.testing.temporal.errors import (
    ActivityNotRegistered,
    NotEmulated,
    WorkflowBlocked,
    WorkflowTaskFailed,
)
from wfkit.testing.temporal.failures import (
    activity_failure,
    attempt_timeout,
    error_text,
    final_retry_state,
    injected_failure,
)
from wfkit.testing.temporal.history import IDENTITY, HistoryBuilder

DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)
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


@dataclasses.dataclass
class _Activity:
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
class _Timer:
    seq: int
    started_event_id: int
    due: datetime


@dataclasses.dataclass
class _CrashPoint:
    activity: str
    recorded: bool
    skip: int = 0  # attempts of the activity to let pass first (crash on attempt skip + 1)


class TemporalRun:
    """One workflow run in the environment: the test's handle, like a client's WorkflowHandle."""

    def __init__(
        self,
        env: TemporalTestEnvironment,
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
        self._activities: dict[int, _Activity] = {}
        self._timers: dict[int, _Timer] = {}
        self._closing: WorkflowCommand | None = None
        self._needs_rebuild = False
        self.crashes = 0
        self.patches: list[str] = []  # patch ids whose markers the history records, in order
        self._children: dict[int, children.PendingChild] = {}
        # Not-started activities the current workflow task cancelled (the server ends them now).
        self._just_cancelled: list[_Activity] = []
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


class TemporalTestEnvironment:
    """Plays the Temporal server, in-process and on virtual time, for ``workflows``.

    ``activities`` are the real ``@activity.defn`` functions; :meth:`mock` replaces one.
    """

    def __init__(
        self,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        *,
        start: datetime = DEFAULT_START,
        task_queue: str = "wfkit-test",
    ) -> None:
        self._workflows = {
            d.name: d
            for d in (temporalio.workflow._Definition.must_from_class(w) for w in workflows)
        }
        self._activities = ActivityRunner(activities)
        self._converter = temporalio.converter.DataConverter.default
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wfkit-temporal")
        self._crash_points: list[_CrashPoint] = []
        self._timer_crashes: set[int] = set()  # the n-th timer fires into a dead worker
        self.timers_fired = 0
        # (activity type, attempt) -> an injected failure: retryable or not.
        self._injected: dict[tuple[str, int], bool] = {}
        # What happened, for a failing verify's timeline: (virtual time, run id, text).
        self.log: list[tuple[datetime, str, str]] = []
        self.attempted: list[str] = []  # activity type of every attempt, in order
        # (activity type, error) of every failed attempt, injected ones included, in order.
        self.activity_errors: list[tuple[str, BaseException]] = []
        # Activity type -> the details of each heartbeat, in order (after the round trip
        # through the payload converter that the server's copy makes).
        self.heartbeats: dict[str, list[tuple[Any, ...]]] = {}
        # Attempts whose outcome a crash lost: a timeout and a fresh attempt (or, for the last
        # one, a failure) replace them, so such a run may rightly end unlike a crash-free one.
        self.lost_attempts = 0
        self.runs: dict[str, TemporalRun] = {}  # workflow id -> its newest run
        self.all_runs: list[TemporalRun] = []  # every run, continued ones too, in start order
        self._attempt_clock = attempts.AttemptClock()
        self.task_queue = task_queue
        self.now = start

    @property
    def workflow_classes(self) -> list[type]:
        """The ``@workflow.defn`` classes registered here (what a Replayer needs)."""
        return [d.cls for d in self._workflows.values()]

    # -- the test's controls -------------------------------------------------------------

    def mock(
        self,
        activity: Callable[..., Any] | str,
        *,
        returns: Any = None,
        raises: BaseException | Sequence[BaseException] | None = None,
        side_effect: Callable[..., Any] | None = None,
    ) -> ActivityMock:
        """Replace an activity: it returns ``returns`` (after raising ``raises``: one
        exception on every attempt, or a list, one per attempt); with ``side_effect``, the
        attempt calls it with the activity's arguments instead of returning ``returns``."""
        name = activity if isinstance(activity, str) else activity_name(activity)
        mock = ActivityMock(returns=returns, raises=raises, side_effect=side_effect)
        self._activities.mocks[name] = mock
        return mock

    def crash_after(
        self, activity: Callable[..., Any] | str, *, recorded: bool = True, nth: int = 1
    ) -> None:
        """Crash the worker once, right after the activity's ``nth`` attempt from now (counting
        every attempt of every scheduling): after its outcome is recorded in the history
        (``recorded=True``) or before (the outcome is lost, the server times the attempt out
        after its start-to-close timeout and retries it)."""
        if nth < 1:
            raise ValueError(f"nth must be 1 or more, got {nth}")
        name = activity if isinstance(activity, str) else activity_name(activity)
        self._crash_points.append(_CrashPoint(name, recorded, nth - 1))

    def crash_at_timer(self, nth: int = 1) -> None:
        """Crash the worker once, as the environment's ``nth`` timer fires: the firing is
        recorded, and a new worker rebuilds the instance by replay before it sees it."""
        if nth < 1:
            raise ValueError(f"nth must be 1 or more, got {nth}")
        self._timer_crashes.add(self.timers_fired + nth)

    def fail(
        self, activity: Callable[..., Any] | str, *, attempt: int = 1, retryable: bool = True
    ) -> None:
        """Make the activity's attempt number ``attempt`` fail with an ``ApplicationError`` of
        type ``InjectedFailure`` (non-retryable with ``retryable=False``), before its body
        runs; the retry policy decides what follows, as for any failure."""
        name = activity if isinstance(activity, str) else activity_name(activity)
        self._injected[(name, attempt)] = retryable

    def executions(self, activity: Callable[..., Any] | str) -> int:
        """How many times the activity (or its mock) ran, over all runs and attempts."""
        name = activity if isinstance(activity, str) else activity_name(activity)
        return self._activities.executions.get(name, 0)

    async def run_activity(
        self,
        activity: Callable[..., Any],
        *args: Any,
        heartbeat_timeout: timedelta | None = None,
        start_to_close_timeout: timedelta | None = None,
        cancel_after_heartbeats: int | None = None,
        cancel_after: timedelta | None = None,
        retry_policy: RetryPolicy | None = None,
        heartbeat_details: Sequence[Any] = (),
    ) -> single_activity.ActivityOutcome:
        """Run one activity alone, the server's part played: cancellation requested after
        ``cancel_after_heartbeats`` heartbeats or ``cancel_after`` and delivered at the next
        heartbeat, timeouts, retries by ``retry_policy`` (one attempt without it) with the last
        heartbeat's details carried over; ``heartbeat_details`` are a previous attempt's.
        See :mod:`wfkit.testing.temporal.single_activity`."""
        return await single_activity.run_activity(
            self,
            activity,
            *args,
            heartbeat_timeout=heartbeat_timeout,
            start_to_close_timeout=start_to_close_timeout,
            cancel_after_heartbeats=cancel_after_heartbeats,
            cancel_after=cancel_after,
            retry_policy=retry_policy,
            heartbeat_details=heartbeat_details,
        )

    def get_async_activity_handle(
        self,
        *,
        workflow_id: str | None = None,
        run_id: str | None = None,
        activity_id: str | None = None,
        task_token: bytes | None = None,
    ) -> AsyncActivityHandle:
        """A handle on an activity that called ``activity.raise_complete_async()``, as
        ``Client.get_async_activity_handle`` gives one (so the environment can stand in for the
        client): by task token, or by workflow id and activity id. See
        :mod:`wfkit.testing.temporal.async_completion`."""
        return AsyncActivityHandle(
            self,
            workflow_id=workflow_id,
            run_id=run_id,
            activity_id=activity_id,
            task_token=task_token,
        )

    async def start(self, run_fn: Callable[..., Any], *args: Any, id: str) -> TemporalRun:
        """Start ``Workflow.run`` with ``args`` as workflow ``id``; runs what is due now."""
        defn = temporalio.workflow._Definition.must_from_run_fn(run_fn)
        if defn.name is None:
            raise NotEmulated("dynamic workflows")
        if defn.name not in self._workflows:
            raise NotEmulated(f"workflow {defn.name!r} is not registered here; starting it is")
        if id in self.runs:
            raise ValueError(f"workflow id {id!r} already started in this environment")
        payloads = self._converter.payload_converter.to_payloads(list(args))
        await self._catch_up()
        run, init = self._new_run(defn, id, payloads)
        await self._workflow_task(run, [WorkflowActivationJob(initialize_workflow=init)])
        await self._advance(run, until=self.now)
        return run

    def _new_run(
        self,
        defn: temporalio.workflow._Definition,
        workflow_id: str,
        payloads: list[Any],
        parent: tuple[TemporalRun, int] | None = None,
    ) -> tuple[TemporalRun, InitializeWorkflow]:
        """A run's history (started), driver and handle, registered; the job that starts it.
        ``parent``: the parent run and its initiated event id, for a child workflow."""
        assert defn.name is not None
        run_id = self._next_run_id()
        history = HistoryBuilder(workflow_id, self.task_queue)
        parent_execution = None
        if parent is not None:
            parent_execution = temporalio.api.common.v1.WorkflowExecution(
                workflow_id=parent[0].id, run_id=parent[0]._driver.run_id
            )
        history.started(
            self.now, defn.name, Payloads(payloads=payloads), run_id, parent_execution, parent
        )
        init = InitializeWorkflow(
            workflow_type=defn.name,
            workflow_id=workflow_id,
            arguments=payloads,
            randomness_seed=len(self.all_runs) + 1,
            attempt=1,
            first_execution_run_id=run_id,
        )
        if parent_execution is not None:
            init.parent_workflow_info.namespace = NAMESPACE
            init.parent_workflow_info.workflow_id = parent_execution.workflow_id
            init.parent_workflow_info.run_id = parent_execution.run_id
        init.workflow_task_timeout.CopyFrom(
            history.events[0].workflow_execution_started_event_attributes.workflow_task_timeout
        )
        init.start_time.FromDatetime(self.now)
        driver = WorkflowDriver(defn, init, run_id, self.task_queue, self._executor)
        run = TemporalRun(self, workflow_id, defn, driver, history)
        run._parent = parent
        self.runs[workflow_id] = run
        self.all_runs.append(run)
        return run, init

    def _next_run_id(self) -> str:
        return f"run-{len(self.all_runs) + 1}"

    async def execute(self, run_fn: Callable[..., Any], *args: Any, id: str) -> Any:
        """Start the workflow and run it to its end on virtual time; its result."""
        run = await self.start(run_fn, *args, id=id)
        return await run.result()

    async def signal(self, workflow_id: str, signal: str | Callable[..., Any], *args: Any) -> None:
        """Signal the run ``workflow_id`` now (see :meth:`TemporalRun.signal`)."""
        await self._run(workflow_id).signal(signal, *args)

    async def query(self, workflow_id: str, query: str | Callable[..., Any], *args: Any) -> Any:
        """Query the run ``workflow_id`` (see :meth:`TemporalRun.query`)."""
        return await self._run(workflow_id).query(query, *args)

    async def update(
        self,
        workflow_id: str,
        update: str | Callable[..., Any],
        *args: Any,
        id: str | None = None,
    ) -> Any:
        """Update the run ``workflow_id`` (see :meth:`TemporalRun.update`)."""
        return await self._run(workflow_id).update(update, *args, id=id)

    async def cancel(self, workflow_id: str) -> None:
        """Request cancellation of the run ``workflow_id``."""
        await self._run(workflow_id).cancel()

    def _run(self, workflow_id: str) -> TemporalRun:
        if workflow_id not in self.runs:
            known = ", ".join(sorted(self.runs)) or "none"
            raise KeyError(f"no workflow {workflow_id!r} in this environment (started: {known})")
        return self.runs[workflow_id]

    async def sleep(self, duration: timedelta) -> None:
        """Advance virtual time by ``duration``, running every timer and retry due meanwhile."""
        await self._catch_up()
        until = self.now + duration
        await self._advance(None, until=until)
        self.now = max(self.now, until)  # an attempt that began running moves it in real time

    # -- the server's side ----------------------------------------------------------------

    def _activate(
        self, run: TemporalRun, jobs: list[WorkflowActivationJob], *, log: bool = True
    ) -> Any:
        if run._needs_rebuild:
            run._driver.rebuild(run._history.lang_flags())
            run._needs_rebuild = False
        completion = run._driver.activate(jobs, self.now, run._history.last_id, log=log)
        if completion.HasField("failed"):
            if log:  # the server has handed the task out; it would retry it forever
                run._history.workflow_task_started(self.now)
                run.stopped = completion.failed.failure.message
            raise WorkflowTaskFailed(run.id, completion.failed.failure.message)
        return completion

    async def _workflow_task(self, run: TemporalRun, jobs: list[WorkflowActivationJob]) -> None:
        """One workflow task: activate (again, while core would resolve something locally),
        then record the task and its commands' events."""
        commands: list[WorkflowCommand | local_activities.LocalMarker] = []
        flags: list[int] = []
        while jobs:
            completion = self._activate(run, jobs)
            new = list(completion.successful.commands)
            commands += new
            flags += completion.successful.used_internal_flags
            jobs = [
                job
                for c in new
                if c.HasField("request_cancel_activity")
                and (job := self._cancelled_at_once(run, c)) is not None
            ]
            for c in new:  # core runs local activities now and resolves them in this task
                if c.HasField("schedule_local_activity"):
                    job, marker = await local_activities.resolve(
                        self, run, c.schedule_local_activity
                    )
                    jobs.append(job)
                    commands.append(marker)
        for command in commands:
            if isinstance(command, local_activities.LocalMarker):
                continue
            feature = NOT_EMULATED.get(command.WhichOneof("variant") or "")
            if feature is not None:
                run._history.workflow_task_started(self.now)
                run.stopped = feature
                raise NotEmulated(feature)
        if updates.rejected_only(run, commands):  # the server drops the task: no events
            run._driver.forget_last()
            return
        completed_id = run._history.workflow_task(self.now, flags)
        try:
            for command in commands:
                self._record(run, command, completed_id)
        except NotEmulated as exc:
            run.stopped = exc.feature
            raise
        cancelled, run._just_cancelled = run._just_cancelled, []
        if not run.done and cancelled:
            # The server cancelled not-started activities at once and schedules a workflow task
            # for that; core answers it empty for those it resolved already (TRY_CANCEL).
            jobs = [
                WorkflowActivationJob(
                    resolve_activity=ResolveActivity(
                        seq=a.command.seq, result=attempts.cancelled_resolution(a, 0)
                    )
                )
                for a in cancelled
                if not a.resolved
            ]
            if jobs:
                await self._workflow_task(run, jobs)
            else:
                run._history.workflow_task(self.now, [])

    def _cancelled_at_once(
        self, run: TemporalRun, command: WorkflowCommand
    ) -> WorkflowActivationJob | None:
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

    def _record(
        self,
        run: TemporalRun,
        command: WorkflowCommand | local_activities.LocalMarker,
        completed_id: int,
    ) -> None:
        if isinstance(command, local_activities.LocalMarker):
            local_activities.record(self, run, command, completed_id)
            return
        history = run._history
        kind = command.WhichOneof("variant")
        if kind == "schedule_activity":
            a = command.schedule_activity
            if not self._activities.known(a.activity_type):
                raise ActivityNotRegistered(a.activity_type, self._activities.names())
            event = history.add(
                EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
                self.now,
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
            run._activities[a.seq] = _Activity(a, event.event_id, self.now, self.now)
        elif kind == "start_timer":
            t = command.start_timer
            event = history.add(
                EventType.EVENT_TYPE_TIMER_STARTED,
                self.now,
                "timer_started",
                timer_id=str(t.seq),
                start_to_fire_timeout=t.start_to_fire_timeout,
                workflow_task_completed_event_id=completed_id,
            )
            due = self.now + t.start_to_fire_timeout.ToTimedelta()
            run._timers[t.seq] = _Timer(t.seq, event.event_id, due)
        elif kind == "cancel_timer":
            timer = run._timers.pop(command.cancel_timer.seq)
            history.add(
                EventType.EVENT_TYPE_TIMER_CANCELED,
                self.now,
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
                self.now,
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
                self.now,
                "activity_task_canceled",
                latest_cancel_requested_event_id=requested,
                scheduled_event_id=activity.scheduled_event_id,
                identity=IDENTITY,
            )
        elif kind == "start_child_workflow_execution":
            children.record_initiated(
                self, run, command.start_child_workflow_execution, completed_id
            )
        elif kind == "set_patch_marker":
            self._patch_marker(run, command.set_patch_marker, completed_id)
        elif kind in CLOSING:
            self._close(run, command, completed_id)
        elif kind == continuation.KIND:
            continuation.record(self, run, command, completed_id)
        elif kind == updates.KIND:
            updates.record(self, run, command, completed_id)
        elif kind in external.COMMANDS:
            external.record(self, run, command, completed_id)
        elif kind == "cancel_child_workflow_execution":
            children.record_cancel(self, run, command.cancel_child_workflow_execution, completed_id)
        # respond_to_query commands answer queries and leave nothing in the history.

    def _patch_marker(self, run: TemporalRun, marker: Any, completed_id: int) -> None:
        run.patches.append(marker.patch_id)
        run._history.patch_marker(
            self.now, marker.patch_id, marker.deprecated, run.patches, completed_id
        )
        note = " (deprecated)" if marker.deprecated else ""
        self.note(run, f"patch {marker.patch_id!r} marked{note}")

    def _close(self, run: TemporalRun, command: WorkflowCommand, completed_id: int) -> None:
        ending = run._history.closed(self.now, command, completed_id)
        run._closing = command
        run.closed_at = self.now
        self.note(run, f"workflow {ending}")
        attempts.forget(run)
        run._activities.clear()
        run._timers.clear()
        children.apply_close_policies(self, run)

    async def _catch_up(self) -> None:
        """While attempts run, time went on as the test waited: first do what fell due."""
        if self._attempt_clock.locked:
            await self._advance(None, until=self._attempt_clock.now(self))

    async def _advance(
        self,
        run: TemporalRun | None,
        until: datetime | None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        """Run due work of every open run in virtual-time order, jumping the clock to each next
        due time, up to ``until``; ``run``: stop when it closes (``until=None``: wait for that,
        and fail if nothing but the test could move it on); ``stop``: also stop once it says
        so (an update's outcome arrived)."""
        while (run is None or not run.done) and not (stop is not None and stop()):
            if run is not None and until is None and (run.stopped or not run._busy()):
                raise WorkflowBlocked(run.id)
            due = [
                (when, kind, order, key, other)
                for order, other in enumerate(self.runs.values())
                if not other.done and other.stopped is None
                for when, kind, key in other._due()
            ]
            in_flight = attempts.running(self)
            if not in_flight:
                self._attempt_clock.unlock()
            elif await self._attempts_moved(in_flight, due, until):
                continue
            if not due:
                return
            when, kind, _, key, other = min(due, key=lambda d: d[:4])
            if until is not None and when > until:
                return
            self.now = max(self.now, when)
            if kind == 0:
                await self._attempt(other, other._activities[key])
            elif kind == 1:
                await self._fire(other, other._timers.pop(key))
            elif kind == 2:
                await children.start(self, other, key)
            elif kind == 3:
                await children.deliver(self, other, key)
            elif kind == 4:
                await continuation.start(self, other)
            else:
                await other._queued.pop(key)[1]()

    async def _fire(self, run: TemporalRun, timer: _Timer) -> None:
        run._history.add(
            EventType.EVENT_TYPE_TIMER_FIRED,
            self.now,
            "timer_fired",
            timer_id=str(timer.seq),
            started_event_id=timer.started_event_id,
        )
        self.timers_fired += 1
        self.note(run, f"timer {timer.seq} fired")
        if self.timers_fired in self._timer_crashes:
            self._timer_crashes.discard(self.timers_fired)
            self._crash(run)
        await self._workflow_task(run, [WorkflowActivationJob(fire_timer=FireTimer(seq=timer.seq))])

    async def _attempts_moved(
        self,
        in_flight: list[tuple[TemporalRun, _Activity]],
        due: list[tuple[datetime, int, int, int, TemporalRun]],
        until: datetime | None,
    ) -> bool:
        """With attempts running, wait (in real time, the clock following it) until one ends,
        times out, or other work falls due; whether an attempt ended or timed out (if not, the
        due work runs, or ``_advance`` returns at ``until``)."""
        if await attempts.settle(self, in_flight):
            return True
        limits = [w for w in (min((d[0] for d in due), default=None), until) if w is not None]
        limits += [t for t in [attempts.next_deadline(in_flight)] if t is not None]
        horizon = min(limits) if limits else None
        if horizon is not None and horizon <= self.now:
            return False
        tasks = {a.running.task for _, a in in_flight if a.running is not None}
        await self._attempt_clock.wait(self, tasks, horizon)
        await attempts.settle(self, in_flight)
        return True

    async def _attempt(self, run: TemporalRun, activity: _Activity) -> None:
        """One attempt; record its end (or schedule the retry), then resolve the activity. An
        attempt that does not end at once goes on running; ``_advance`` records its end."""
        command = activity.command
        self.attempted.append(command.activity_type)
        retryable = self._injected.pop((command.activity_type, activity.attempt), None)
        if retryable is None:
            outcome = await attempts.begin(self, run, activity)
            if outcome is None:
                return
            ok, value = outcome
        else:
            ok, value = False, injected_failure(retryable)
        await self._attempt_ended(run, activity, ok, value)

    async def _attempt_ended(
        self, run: TemporalRun, activity: _Activity, ok: bool, value: Any
    ) -> None:
        command = activity.command
        if activity.cancel_requested_event_id and not ok and attempts.is_cancellation(value):
            await attempts.record_cancelled(self, run, activity)
            return
        if not ok:
            self.activity_errors.append((command.activity_type, value))
        self.note(
            run,
            f"{command.activity_type} attempt {activity.attempt}: "
            + ("completed" if ok else f"failed {error_text(value)}"),
        )
        crash = self._take_crash(command.activity_type)
        if crash is not None and not crash.recorded:
            # The worker died before reporting: the server times the attempt out, then retries.
            self._crash(run, "before the outcome was recorded")
            self.lost_attempts += 1
            timeout, kind = attempt_timeout(command)
            error = temporalio.exceptions.TimeoutError(
                "activity timed out",
                type=kind,
                last_heartbeat_details=list(activity.heartbeat_details),
            )
            delay = self._retry_delay(activity, error, timeout)
            if delay is not None:
                activity.attempt += 1
                activity.due = self.now + timeout + delay
                return
            ok, value = False, error
        if not ok and not activity.cancel_requested_event_id:
            delay = self._retry_delay(activity, value, timedelta(0))
            if delay is not None:
                activity.attempt += 1
                activity.due = self.now + delay
                if crash is not None:
                    self._crash(run)
                self.note(run, f"{command.activity_type} retry due in {delay}")
                return
        del run._activities[command.seq]
        started = run._history.add(
            EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
            self.now,
            "activity_task_started",
            scheduled_event_id=activity.scheduled_event_id,
            identity=IDENTITY,
            request_id=f"{command.seq}-{activity.attempt}",
            attempt=activity.attempt,
        ).event_id
        if ok:
            run._history.add(
                EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
                self.now,
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
            self._converter.failure_converter.to_failure(
                value, self._converter.payload_converter, cause
            )
            retry_state = final_retry_state(command, activity.attempt, timed_out=activity.timed_out)
            run._history.add(
                EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
                self.now,
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
            self._crash(run, "after the outcome was recorded")
        await attempts.deliver(self, run, activity, resolution)

    def _retry_delay(
        self, activity: _Activity, error: BaseException, lost: timedelta
    ) -> timedelta | None:
        """The retry policy's delay, unless the retry would start past the activity's
        schedule-to-close deadline (then the activity fails, retry state TIMEOUT)."""
        delay = retry_delay(activity.command, activity.attempt, error)
        limit = activity.command.schedule_to_close_timeout
        if delay is not None and limit.ToTimedelta() > timedelta(0):
            if self.now + lost + delay >= activity.scheduled + limit.ToTimedelta():
                activity.timed_out = True
                return None
        return delay

    def _heartbeat(self, run: TemporalRun, activity: _Activity, details: tuple[Any, ...]) -> None:
        """The server keeps the last details (as payloads: the next attempt decodes them)."""
        converter = self._converter.payload_converter
        activity.heartbeat_details = tuple(
            converter.from_payloads(converter.to_payloads(list(details))) if details else ()
        )
        self.heartbeats.setdefault(activity.command.activity_type, []).append(
            activity.heartbeat_details
        )
        self.note(run, f"{activity.command.activity_type} heartbeat {list(details)!r}")

    def _take_crash(self, activity: str) -> _CrashPoint | None:
        """The crash point this attempt of ``activity`` hits (each point counts its attempts)."""
        hit = None
        for point in list(self._crash_points):
            if point.activity != activity:
                continue
            if point.skip:
                point.skip -= 1
            elif hit is None:
                self._crash_points.remove(point)
                hit = point
        return hit

    def _crash(self, run: TemporalRun, when: str = "") -> None:
        run._driver.crash()
        run._needs_rebuild = True
        run.crashes += 1
        self.note(run, "worker crashed" + (f" {when}" if when else "") + "; rebuilt by replay")

    def note(self, run: TemporalRun, text: str) -> None:
        """One line of the environment's log (a failing ``verify`` shows it as a timeline)."""
        self.log.append((self.now, run.id, text))


__all__ = ["TemporalRun", "TemporalTestEnvironment"]
