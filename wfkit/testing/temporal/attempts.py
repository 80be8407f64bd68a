"""Activity attempts that run while the workflow runs, the server's and worker's side of them.

An attempt is an asyncio task in the environment's loop (a sync activity's body runs in a
thread, as on temporalio's worker). Most attempts end at once: the environment waits up to
``GRACE`` real seconds for that, and such an attempt takes no virtual time, so it is recorded
exactly as it always was. An attempt still running after that is *running*: the workflow gets
its activations meanwhile (signals, timers, other activities' results), and the virtual clock
follows the wall clock from the moment the attempt began until every running attempt has ended,
as Temporal's time-skipping test server locks time skipping while an activity runs. So an activity that heartbeats every second
until it is cancelled takes real seconds, as it would against a server, and timers and activity
timeouts fall due in real time meanwhile.

What the server does for a running attempt lives here: its heartbeat and start-to-close (and
schedule-to-close) deadlines, a cancellation request delivered through the attempt's next
heartbeat (as the server answers a heartbeat), and the ``ActivityTaskCanceled`` /
``ActivityTaskTimedOut`` events. The functions take the environment and runs untyped (``Any``):
the environment imports this module, so this module does not import it back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import temporalio.exceptions
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.failure.v1 import Failure
from temporalio.bridge.proto.activity_result import ActivityResolution
from temporalio.bridge.proto.workflow_activation import ResolveActivity, WorkflowActivationJob
from temporalio.bridge.proto.workflow_commands import ActivityCancellationType, ScheduleActivity

from wfkit.testing.temporal.activities import AttemptControl, CompletesAsync
from wfkit.testing.temporal.errors import NotEmulated
from wfkit.testing.temporal.failures import activity_failure, final_retry_state
from wfkit.testing.temporal.history import IDENTITY

# Real seconds an attempt may take and still count as ending at the instant it started.
GRACE = 0.05
TRY_CANCEL = ActivityCancellationType.TRY_CANCEL
ABANDON = ActivityCancellationType.ABANDON


@dataclasses.dataclass
class Running:
    """One attempt in flight: its task, the means to cancel it and the server's view of it."""

    task: asyncio.Task[tuple[bool, Any]]
    control: AttemptControl
    started: datetime  # virtual time
    last_heartbeat: datetime
    # The outcome a client's async activity handle reports (by task token); the task awaits
    # it once the attempt called activity.raise_complete_async(). See async_completion.
    completion: asyncio.Future[tuple[bool, Any]] | None = None
    task_token: bytes = b""


class AttemptClock:
    """The virtual clock while attempts run: it follows the wall clock from the moment the
    first of them began until none runs (also while the test itself waits in real time, so
    heartbeats are stamped and timeouts noticed as a server would)."""

    def __init__(self) -> None:
        self._anchor: tuple[datetime, float] | None = None

    @property
    def locked(self) -> bool:
        """Whether time follows the wall clock now (an attempt is running)."""
        return self._anchor is not None

    def lock(self, virtual: datetime, real: float) -> None:
        if self._anchor is None:
            self._anchor = (virtual, real)

    def unlock(self) -> None:
        self._anchor = None

    def now(self, env: Any) -> datetime:
        if self._anchor is None:
            return env.now
        virtual, real = self._anchor
        return max(env.now, virtual + timedelta(seconds=time.monotonic() - real))

    async def wait(self, env: Any, tasks: set[asyncio.Task[Any]], until: datetime | None) -> None:
        """Wait (in real time) until a task ends or the virtual clock reaches ``until``."""
        timeout = None if until is None else max(0.0, (until - self.now(env)).total_seconds())
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        now = self.now(env)
        env.now = now if until is None else min(now, until)


async def begin(env: Any, run: Any, activity: Any) -> tuple[bool, Any] | None:
    """Start an attempt; its outcome if it ended within ``GRACE``, else None (it is running)."""
    command = activity.command
    control = AttemptControl()
    loop = asyncio.get_running_loop()
    beat = _heartbeat_hook(env, run, activity, loop, threading.get_ident())
    token = task_token(run, activity)
    # What a client reports through an async activity handle (see async_completion).
    completion: asyncio.Future[tuple[bool, Any]] = loop.create_future()

    async def attempt() -> tuple[bool, Any]:
        try:
            ended = await env._activities.attempt(
                command,
                activity.attempt,
                run.id,
                run.defn.name or "",
                run._driver.run_id,
                activity.scheduled,
                env.now,
                beat,
                activity.heartbeat_details,
                control,
                task_token=token,
                complete_async=True,
            )
        except CompletesAsync:
            # The worker is done with it; the server waits for a client to complete it (or
            # for a timeout). Stopping the attempt now means giving up on that completion.
            def give_up() -> None:
                completion.cancel()

            control._cancel = give_up
            env.note(run, f"{command.activity_type} attempt {activity.attempt} completes async")
            return await completion
        if completion.done() and not completion.cancelled():
            return completion.result()  # a client completed it first; the worker's is late
        return ended

    task = loop.create_task(attempt())
    activity.running = Running(task, control, env.now, env.now, completion, token)
    began = time.monotonic()
    await asyncio.wait({task}, timeout=GRACE)
    if not task.done():
        # Running: the clock has followed the wall clock since the attempt began.
        env._attempt_clock.lock(env.now, began)
        env.now = env._attempt_clock.now(env)
        env.note(run, f"{command.activity_type} attempt {activity.attempt} running")
        return None
    activity.running = None
    return outcome(run, task)


def task_token(run: Any, activity: Any) -> bytes:
    """The attempt's ``activity.info().task_token`` (opaque to the activity, as a server's)."""
    return f"wfkit:{run.id}:{activity.command.seq}:{activity.attempt}".encode()


def outcome(run: Any, task: asyncio.Task[tuple[bool, Any]]) -> tuple[bool, Any]:
    """The ended attempt's (ok, value); an activity using a feature not emulated stops the run."""
    try:
        return task.result()
    except NotEmulated as exc:
        run.stopped = exc.feature
        raise


def _heartbeat_hook(
    env: Any, run: Any, activity: Any, loop: asyncio.AbstractEventLoop, loop_thread: int
) -> Callable[..., None]:
    """What ``activity.heartbeat(*details)`` calls: the server's side of a heartbeat, on the
    environment's loop (a sync attempt heartbeats from its thread)."""

    def on_loop(details: tuple[Any, ...]) -> None:
        running = activity.running
        if running is None or running.task.done():
            env._heartbeat(run, activity, details)
            return
        env._heartbeat(run, activity, details)
        running.last_heartbeat = env._attempt_clock.now(env)
        # The server answers a heartbeat with "cancel requested": the worker cancels.
        if activity.cancel_requested_event_id and not running.control.cancelled:
            env.note(run, f"{activity.command.activity_type} cancellation delivered")
            running.control.cancel()

    def beat(*details: Any) -> None:
        if threading.get_ident() == loop_thread:
            on_loop(details)
        else:
            loop.call_soon_threadsafe(on_loop, details)

    return beat


def running(env: Any) -> list[tuple[Any, Any]]:
    """(run, activity) of every running attempt of an open run, in a stable order."""
    return [
        (run, activity)
        for run in env.runs.values()
        if not run.done and run.stopped is None
        for _, activity in sorted(run._activities.items())
        if activity.running is not None
    ]


def deadline(activity: Any) -> tuple[datetime, temporalio.exceptions.TimeoutType] | None:
    """When the server times the running attempt out, and as which timeout."""
    command: ScheduleActivity = activity.command
    kinds = temporalio.exceptions.TimeoutType
    due: list[tuple[datetime, temporalio.exceptions.TimeoutType]] = []
    if command.heartbeat_timeout.ToTimedelta() > timedelta(0):
        heartbeat = command.heartbeat_timeout.ToTimedelta()
        due.append((activity.running.last_heartbeat + heartbeat, kinds.HEARTBEAT))
    if command.start_to_close_timeout.ToTimedelta() > timedelta(0):
        limit = command.start_to_close_timeout.ToTimedelta()
        due.append((activity.running.started + limit, kinds.START_TO_CLOSE))
    if command.schedule_to_close_timeout.ToTimedelta() > timedelta(0):
        limit = command.schedule_to_close_timeout.ToTimedelta()
        due.append((activity.scheduled + limit, kinds.SCHEDULE_TO_CLOSE))
    return min(due, key=lambda d: d[0]) if due else None


def next_deadline(attempts: list[tuple[Any, Any]]) -> datetime | None:
    times = [d[0] for _, a in attempts if (d := deadline(a)) is not None]
    return min(times) if times else None


async def settle(env: Any, attempts: list[tuple[Any, Any]]) -> bool:
    """Record the attempts that ended and time out those past a deadline; whether any did."""
    moved = False
    for run, activity in attempts:
        if run.done or activity.running is None:
            continue  # an earlier one's workflow task closed the run or cancelled this
        state = activity.running
        if state.task.done():
            activity.running = None
            ok, value = outcome(run, state.task)
            await env._attempt_ended(run, activity, ok, value)
            moved = True
            continue
        due = deadline(activity)
        if due is not None and due[0] <= env.now:
            await _time_out(env, run, activity, due[1])
            moved = True
    return moved


async def _time_out(
    env: Any, run: Any, activity: Any, kind: temporalio.exceptions.TimeoutType
) -> None:
    """The server gives up on the attempt: the worker is told to stop (its outcome no longer
    counts), and the retry policy decides between a new attempt and ``ActivityTaskTimedOut``."""
    command: ScheduleActivity = activity.command
    state = activity.running
    activity.running = None
    state.control.cancel()
    error = temporalio.exceptions.TimeoutError(
        "activity timed out", type=kind, last_heartbeat_details=list(activity.heartbeat_details)
    )
    env.activity_errors.append((command.activity_type, error))
    env.note(run, f"{command.activity_type} attempt {activity.attempt} timed out ({kind.name})")
    delay = None
    if kind != temporalio.exceptions.TimeoutType.SCHEDULE_TO_CLOSE:
        if not activity.cancel_requested_event_id:
            delay = env._retry_delay(activity, error, timedelta(0))
    if delay is not None:
        activity.attempt += 1
        activity.due = env.now + delay
        env.note(run, f"{command.activity_type} retry due in {delay}")
        return
    del run._activities[command.seq]
    started = _started(env, run, activity)
    cause = Failure()
    env._converter.failure_converter.to_failure(error, env._converter.payload_converter, cause)
    retry_state = (
        RetryState.RETRY_STATE_CANCEL_REQUESTED
        if activity.cancel_requested_event_id
        else final_retry_state(
            command,
            activity.attempt,
            timed_out=activity.timed_out
            or kind == temporalio.exceptions.TimeoutType.SCHEDULE_TO_CLOSE,
        )
    )
    run._history.add(
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        env.now,
        "activity_task_timed_out",
        failure=cause,
        scheduled_event_id=activity.scheduled_event_id,
        started_event_id=started,
        retry_state=retry_state,
    )
    resolution = ActivityResolution()
    resolution.failed.failure.CopyFrom(
        activity_failure(command, activity.scheduled_event_id, started, retry_state, cause)
    )
    await deliver(env, run, activity, resolution)


def _started(env: Any, run: Any, activity: Any) -> int:
    """The attempt's ``ActivityTaskStarted`` (the server writes it when the attempt ends)."""
    event = run._history.add(
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        env.now,
        "activity_task_started",
        scheduled_event_id=activity.scheduled_event_id,
        identity=IDENTITY,
        request_id=f"{activity.command.seq}-{activity.attempt}",
        attempt=activity.attempt,
    )
    return event.event_id


def cancelled_resolution(activity: Any, started: int) -> ActivityResolution:
    """How core resolves a cancelled activity: ``ActivityError`` caused by ``CancelledError``."""
    cause = Failure(message="Activity cancelled")
    cause.canceled_failure_info.SetInParent()
    resolution = ActivityResolution()
    resolution.cancelled.failure.CopyFrom(
        activity_failure(
            activity.command,
            activity.scheduled_event_id,
            started,
            RetryState.RETRY_STATE_CANCEL_REQUESTED,
            cause,
        )
    )
    return resolution


def is_cancellation(value: Any) -> bool:
    return isinstance(value, (temporalio.exceptions.CancelledError, asyncio.CancelledError))


async def record_cancelled(env: Any, run: Any, activity: Any) -> None:
    """A cancel-requested attempt ended by raising the cancellation: ``ActivityTaskCanceled``."""
    del run._activities[activity.command.seq]
    started = _started(env, run, activity)
    run._history.add(
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
        env.now,
        "activity_task_canceled",
        latest_cancel_requested_event_id=activity.cancel_requested_event_id,
        scheduled_event_id=activity.scheduled_event_id,
        started_event_id=started,
        identity=IDENTITY,
    )
    env.note(run, f"{activity.command.activity_type} cancelled")
    await deliver(env, run, activity, cancelled_resolution(activity, started))


async def deliver(env: Any, run: Any, activity: Any, resolution: ActivityResolution) -> None:
    """The workflow task the server schedules for the activity's last event. Core has resolved
    an activity cancelled with TRY_CANCEL or ABANDON already: it answers such a task empty."""
    if activity.resolved:
        run._history.workflow_task(env.now, [])
        return
    job = ResolveActivity(seq=activity.command.seq, result=resolution)
    await env._workflow_task(run, [WorkflowActivationJob(resolve_activity=job)])


def forget(run: Any) -> None:
    """The run closed: a worker cancels its running attempts (their heartbeats would find no
    activity on the server); their outcomes go nowhere."""
    for activity in run._activities.values():
        if activity.running is not None:
            activity.running.control.cancel()
            activity.running = None
