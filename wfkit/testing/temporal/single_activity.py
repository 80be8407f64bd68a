"""One activity under test, without a workflow: ``env.run_activity(fn, *args, ...)``.

temporalio's ``ActivityEnvironment`` runs an activity offline, but the test must play the
server itself: count heartbeats to cancel at the right one, notice a missed heartbeat, carry the
last heartbeat's details into a retry. This module plays that part with the environment's
semantics (the same ones a workflow's activities get):

- cancellation is *requested* (after ``cancel_after_heartbeats`` heartbeats, or ``cancel_after``
  of the attempt's time) and *delivered* as a server delivers it, in the answer to the next
  heartbeat: an activity that never heartbeats never learns, and the outcome says so;
- ``heartbeat_timeout`` / ``start_to_close_timeout`` time the attempt out (its task is cancelled
  as a worker cancels it, and the attempt fails with Temporal's ``TimeoutError``);
- ``retry_policy`` retries failed attempts with its backoff on the virtual clock, each attempt
  seeing ``activity.info().attempt`` and the last heartbeat's details, as on a worker;
- heartbeat details make the server's round trip through the payload converter.

While an attempt runs, the environment's virtual clock follows the wall clock (as while a
workflow's activity runs); backoff between attempts takes no real time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import temporalio.converter
import temporalio.exceptions
from temporalio.bridge.proto.workflow_commands import ScheduleActivity
from temporalio.common import RetryPolicy

from wfkit.testing.temporal.activities import ActivityRunner, AttemptControl, retry_delay

WORKFLOW_ID = "run-activity"  # what activity.info() names as the (absent) workflow
# Real seconds a timed-out or cancelled attempt gets to finish before it is left behind.
ABANDON_AFTER = 1.0


@dataclasses.dataclass
class ActivityOutcome:
    """How one activity ended under ``env.run_activity``.

    ``result`` is the last attempt's return value and ``error`` ``None``, or ``error`` is what
    the last attempt raised (Temporal's ``CancelledError`` for a delivered cancellation, its
    ``TimeoutError`` for a timeout). ``heartbeats`` are the details of every heartbeat of every
    attempt, in order, as the server received them."""

    result: Any
    error: BaseException | None
    attempts: int
    heartbeats: list[tuple[Any, ...]]
    # Whether a cancellation was requested, and whether the activity received it (at a heartbeat).
    cancel_requested: bool
    cancel_delivered: bool
    timed_out: temporalio.exceptions.TimeoutType | None
    duration: timedelta  # virtual time from the first attempt's start to the last one's end
    errors: list[BaseException] = dataclasses.field(default_factory=list)  # per failed attempt

    def value(self) -> Any:
        """The result, or the last attempt's error raised."""
        if self.error is not None:
            raise self.error
        return self.result


@dataclasses.dataclass
class _Attempt:
    """The server's view of one running attempt."""

    started: float  # time.monotonic()
    last_beat: float
    control: AttemptControl = dataclasses.field(default_factory=AttemptControl)
    beats: int = 0
    cancel_requested: bool = False
    cancel_delivered: bool = False


async def run_activity(
    env: Any,
    activity: Callable[..., Any],
    *args: Any,
    heartbeat_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    cancel_after_heartbeats: int | None = None,
    cancel_after: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    heartbeat_details: Sequence[Any] = (),
    activity_id: str = "1",
) -> ActivityOutcome:
    """Run ``activity(*args)`` (see :meth:`TemporalTestEnvironment.run_activity`)."""
    if cancel_after_heartbeats is not None and cancel_after_heartbeats < 1:
        raise ValueError(
            f"cancel_after_heartbeats must be 1 or more, got {cancel_after_heartbeats}"
        )
    runner = ActivityRunner([activity])
    (name,) = runner.names()
    converter = temporalio.converter.DataConverter.default.payload_converter
    command = ScheduleActivity(
        seq=1,
        activity_id=activity_id,
        activity_type=name,
        task_queue=env.task_queue,
        arguments=converter.to_payloads(list(args)),
    )
    if heartbeat_timeout is not None:
        command.heartbeat_timeout.FromTimedelta(heartbeat_timeout)
    if start_to_close_timeout is not None:
        command.start_to_close_timeout.FromTimedelta(start_to_close_timeout)
    # One attempt unless a policy says otherwise (a workflow's default policy retries forever).
    (retry_policy or RetryPolicy(maximum_attempts=1)).apply_to_proto(command.retry_policy)
    scheduled = env.now
    details = tuple(heartbeat_details)
    outcome = ActivityOutcome(None, None, 0, [], False, False, None, timedelta(0))
    while True:
        outcome.attempts += 1
        state = _Attempt(time.monotonic(), time.monotonic())

        def on_beat(beat: tuple[Any, ...], state: _Attempt = state) -> None:
            nonlocal details
            details = tuple(
                converter.from_payloads(converter.to_payloads(list(beat))) if beat else ()
            )
            outcome.heartbeats.append(details)
            env.heartbeats.setdefault(name, []).append(details)
            state.beats += 1
            state.last_beat = time.monotonic()
            if cancel_after_heartbeats is not None and state.beats >= cancel_after_heartbeats:
                state.cancel_requested = True
            if cancel_after is not None and _elapsed(state) >= cancel_after:
                state.cancel_requested = True
            if state.cancel_requested and not state.control.cancelled:
                state.cancel_delivered = True  # the server's answer to this heartbeat
                state.control.cancel()

        ok, value = await _attempt(
            env, runner, command, outcome.attempts, scheduled, details, state, on_beat
        )
        if isinstance(value, temporalio.exceptions.TimeoutType):
            value = temporalio.exceptions.TimeoutError(
                "activity timed out", type=value, last_heartbeat_details=list(details)
            )
        if cancel_after is not None and _elapsed(state) >= cancel_after:
            state.cancel_requested = True  # requested; delivered only if a heartbeat followed
        env.now += _elapsed(state)
        outcome.cancel_requested |= state.cancel_requested
        outcome.cancel_delivered |= state.cancel_delivered
        if ok:  # the result as the workflow would get it: through the payload converter
            hints = [ret] if (ret := runner.return_type(name)) is not None else None
            outcome.result = converter.from_payloads(list(value.payloads), hints)[0]
            outcome.error = None
            break
        outcome.errors.append(value)
        outcome.error = value
        if isinstance(value, temporalio.exceptions.TimeoutError):
            outcome.timed_out = value.type
        if state.cancel_requested:
            break  # a cancelled activity is not retried
        delay = retry_delay(command, outcome.attempts, value)
        if delay is None:
            break
        env.now += delay
    outcome.duration = env.now - scheduled
    return outcome


async def _attempt(
    env: Any,
    runner: ActivityRunner,
    command: ScheduleActivity,
    attempt: int,
    scheduled: Any,
    details: tuple[Any, ...],
    state: _Attempt,
    on_beat: Callable[[tuple[Any, ...]], None],
) -> tuple[bool, Any]:
    """One attempt, watched as a server watches it: (ok, result or error), or (False, the
    kind of timeout) when the server timed it out."""
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()

    def beat(*beat_details: Any) -> None:
        if threading.get_ident() == loop_thread:
            on_beat(beat_details)
        else:
            loop.call_soon_threadsafe(on_beat, beat_details)

    task = loop.create_task(
        runner.attempt(
            command,
            attempt,
            WORKFLOW_ID,
            "",
            WORKFLOW_ID,
            scheduled,
            env.now,
            beat,
            details,
            state.control,
        )
    )
    while not task.done():
        due = _deadline(command, state)
        timeout = None if due is None else max(0.0, due[0] - time.monotonic())
        await asyncio.wait({task}, timeout=timeout)
        if task.done() or due is None or time.monotonic() < due[0]:
            continue
        # Timed out: the worker is told to stop; the attempt's own outcome no longer counts.
        state.control.cancel()
        await asyncio.wait({task}, timeout=ABANDON_AFTER)
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: whatever it ended with, the timeout stands
        return False, due[1]
    return task.result()


def _deadline(
    command: ScheduleActivity, state: _Attempt
) -> tuple[float, temporalio.exceptions.TimeoutType] | None:
    """When (``time.monotonic()``) the server times the attempt out, and as which timeout."""
    kinds = temporalio.exceptions.TimeoutType
    due = []
    if command.HasField("heartbeat_timeout"):
        due.append(
            (
                state.last_beat + command.heartbeat_timeout.ToTimedelta().total_seconds(),
                kinds.HEARTBEAT,
            )
        )
    if command.HasField("start_to_close_timeout"):
        limit = command.start_to_close_timeout.ToTimedelta().total_seconds()
        due.append((state.started + limit, kinds.START_TO_CLOSE))
    return min(due, key=lambda d: d[0]) if due else None


def _elapsed(state: _Attempt) -> timedelta:
    return timedelta(seconds=time.monotonic() - state.started)
