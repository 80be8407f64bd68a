"""The public face: ``TemporalTestEnvironment`` plays the Temporal server for workflow runs.

It starts runs, answers each workflow task's commands (activities, timers, completion), keeps
the history in Temporal's format, and moves a virtual clock: work due now runs at once (as a
worker that picks tasks up instantly), and time jumps to the next timer or retry only when a
run's result is awaited or the test calls :meth:`TemporalTestEnvironment.sleep`. A simulated
worker crash drops the SDK's workflow instance; the next activation first replays the history
into a new one.

The environment is the hub the package's modules work through: the run handle and its
server-side state are :mod:`~wfkit.testing.temporal.run`, the recording of a workflow task's
commands :mod:`~wfkit.testing.temporal.command_events`, how an activity attempt ends
:mod:`~wfkit.testing.temporal.attempt_ends`; here are the test's controls, workflow tasks and
the virtual clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from temporalio.bridge.proto.workflow_activation import (
    FireTimer,
    InitializeWorkflow,
    ResolveActivity,
    WorkflowActivationJob,
)
from temporalio.bridge.proto.workflow_commands import WorkflowCommand
from temporalio.common import RetryPolicy

from wfkit.testing.temporal import (
    attempt_ends,
    attempts,
    children,
    command_events,
    continuation,
    local_activities,
    single_activity,
    updates,
)
from wfkit.testing.temporal.activities import (
    ActivityMock,
    ActivityRunner,
    activity_name,
)
from wfkit.testing.temporal.async_completion import AsyncActivityHandle
from wfkit.testing.temporal.attempt_ends import CrashPoint
from wfkit.testing.temporal.driver import NAMESPACE, WorkflowDriver
from wfkit.testing.temporal.errors import (
    NotEmulated,
    WorkflowBlocked,
    WorkflowTaskFailed,
)
from wfkit.testing.temporal.history import HistoryBuilder
from wfkit.testing.temporal.run import ScheduledActivity, StartedTimer, TemporalRun

DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)


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
        self._crash_points: list[CrashPoint] = []
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
        self._crash_points.append(CrashPoint(name, recorded, nth - 1))

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
                and (job := command_events.cancelled_at_once(run, c)) is not None
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
            feature = command_events.NOT_EMULATED.get(command.WhichOneof("variant") or "")
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
                command_events.record(self, run, command, completed_id)
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
                await attempt_ends.attempt(self, other, other._activities[key])
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

    async def _fire(self, run: TemporalRun, timer: StartedTimer) -> None:
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
        in_flight: list[tuple[TemporalRun, ScheduledActivity]],
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

    async def _attempt_ended(
        self, run: TemporalRun, activity: ScheduledActivity, ok: bool, value: Any
    ) -> None:
        """How a running attempt's end is recorded (:mod:`wfkit.testing.temporal.attempts`
        calls it; :func:`wfkit.testing.temporal.attempt_ends.attempt_ended` does it)."""
        await attempt_ends.attempt_ended(self, run, activity, ok, value)

    def _retry_delay(
        self, activity: ScheduledActivity, error: BaseException, lost: timedelta
    ) -> timedelta | None:
        """The retry's delay, None past the schedule-to-close deadline (see
        :func:`wfkit.testing.temporal.attempt_ends.delay_within_deadline`)."""
        return attempt_ends.delay_within_deadline(self, activity, error, lost)

    def _heartbeat(
        self, run: TemporalRun, activity: ScheduledActivity, details: tuple[Any, ...]
    ) -> None:
        """The server keeps the last details (as payloads: the next attempt decodes them)."""
        converter = self._converter.payload_converter
        activity.heartbeat_details = tuple(
            converter.from_payloads(converter.to_payloads(list(details))) if details else ()
        )
        self.heartbeats.setdefault(activity.command.activity_type, []).append(
            activity.heartbeat_details
        )
        self.note(run, f"{activity.command.activity_type} heartbeat {list(details)!r}")

    def _crash(self, run: TemporalRun, when: str = "") -> None:
        run._driver.crash()
        run._needs_rebuild = True
        run.crashes += 1
        self.note(run, "worker crashed" + (f" {when}" if when else "") + "; rebuilt by replay")

    def note(self, run: TemporalRun, text: str) -> None:
        """One line of the environment's log (a failing ``verify`` shows it as a timeline)."""
        self.log.append((self.now, run.id, text))


__all__ = ["TemporalRun", "TemporalTestEnvironment"]
