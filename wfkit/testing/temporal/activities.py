"""The activity side of the server and worker: real ``@activity.defn`` functions or the test's
mocks, one attempt at a time, with Temporal's retry policy deciding what happens after a failure.

An attempt runs inside temporalio's own ``ActivityEnvironment``, so ``activity.info()`` (with
the attempt number) works in the function as on a worker; an async function runs in the
caller's event loop, a sync one in a thread (as temporalio's worker runs it with an
``activity_executor``), and both can be cancelled the worker's way through ``AttemptControl``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import temporalio.activity
import temporalio.converter
import temporalio.exceptions
from temporalio.api.common.v1 import Payloads
from temporalio.bridge.proto.workflow_commands import ScheduleActivity, ScheduleLocalActivity
from temporalio.testing import ActivityEnvironment

from wfkit.testing.temporal.errors import NotEmulated

# The server's defaults for a RetryPolicy field left unset.
DEFAULT_INITIAL_INTERVAL = timedelta(seconds=1)
DEFAULT_BACKOFF = 2.0
MAX_INTERVAL_FACTOR = 100


@dataclasses.dataclass
class ActivityMock:
    """Stands in for an activity: ``raises`` one exception per attempt (in order), then
    ``returns`` (or what ``side_effect(*args)`` returns or raises); a single exception (not a
    list) is raised on every attempt."""

    returns: Any = None
    raises: BaseException | Sequence[BaseException] | None = None
    calls: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    # Called with the attempt's arguments once ``raises`` is used up; its value is the result.
    side_effect: Callable[..., Any] | None = None

    def outcome(self, args: tuple[Any, ...]) -> Any:
        self.calls.append(args)
        if self.side_effect is not None and (
            self.raises is None
            or (not isinstance(self.raises, BaseException) and len(self.calls) > len(self.raises))
        ):
            return self.side_effect(*args)
        if isinstance(self.raises, BaseException):
            raise self.raises
        if self.raises is not None and len(self.calls) <= len(self.raises):
            raise self.raises[len(self.calls) - 1]
        return self.returns


class CompletesAsync(Exception):
    """The attempt called ``activity.raise_complete_async()``: it returned without completing
    the activity, which a client completes later by task token (see :mod:`.async_completion`)."""


@dataclasses.dataclass
class AttemptControl:
    """The environment's hold on one running attempt: ``cancel()`` delivers cancellation as a
    worker does (an async attempt's task gets ``CancelledError``, a sync attempt's thread has
    ``temporalio.exceptions.CancelledError`` raised in it)."""

    cancelled: bool = False
    _cancel: Callable[[], None] = lambda: None

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            self._cancel()


def activity_name(fn: Callable[..., Any]) -> str:
    """The activity type name Temporal uses for ``fn`` (its ``@activity.defn`` name)."""
    name = temporalio.activity._Definition.must_from_callable(fn).name
    if name is None:
        raise ValueError(f"{fn!r} is a dynamic activity: mock it by the activity type's name")
    return name


class ActivityRunner:
    """Runs attempts of the registered activities (or their mocks) by activity type name."""

    def __init__(self, activities: Sequence[Callable[..., Any]]) -> None:
        self._defns = {}
        for fn in activities:
            defn = temporalio.activity._Definition.must_from_callable(fn)
            self._defns[defn.name] = defn
        self.mocks: dict[str, ActivityMock] = {}
        self.executions: dict[str, int] = {}
        self._converter = temporalio.converter.DataConverter.default
        self._threads: ThreadPoolExecutor | None = None  # for sync activities, made on first use

    def known(self, name: str) -> bool:
        return name in self._defns or name in self.mocks

    def return_type(self, name: str) -> Any:
        """The registered activity's return type hint, None when unknown."""
        defn = self._defns.get(name)
        return defn.ret_type if defn is not None else None

    def names(self) -> list[str]:
        """Every activity type name the runner can run, registered or mocked."""
        return sorted({name for name in (*self._defns, *self.mocks) if name is not None})

    async def attempt(
        self,
        command: ScheduleActivity | ScheduleLocalActivity,
        attempt: int,
        workflow_id: str,
        workflow_type: str,
        run_id: str,
        scheduled: datetime,
        now: datetime,
        heartbeat: Callable[..., None] = lambda *details: None,
        heartbeat_details: Sequence[Any] = (),
        control: AttemptControl | None = None,
        task_token: bytes = b"test",
        complete_async: bool = False,
    ) -> tuple[bool, Any]:
        """(True, result payloads) or (False, the exception the attempt raised).

        ``heartbeat`` receives each ``activity.heartbeat(*details)`` of the attempt (from the
        attempt's thread for a sync activity); ``heartbeat_details`` are the last attempt's,
        which ``activity.info()`` shows; ``control`` gets the means to cancel the attempt. A
        local activity's command has no task queue nor heartbeat timeout of its own.
        ``activity.raise_complete_async()`` raises :class:`CompletesAsync` with
        ``complete_async``, else ``NotEmulated`` (local activities cannot complete so)."""
        name = command.activity_type
        is_local = isinstance(command, ScheduleLocalActivity)
        defn = self._defns.get(name)
        hints = defn.arg_types if defn is not None else None
        args = tuple(
            self._converter.payload_converter.from_payloads(list(command.arguments), hints)
            if command.arguments
            else ()
        )
        self.executions[name] = self.executions.get(name, 0) + 1
        try:
            if name in self.mocks:
                value = self.mocks[name].outcome(args)
            else:
                assert defn is not None
                env = ActivityEnvironment()
                env.info = dataclasses.replace(
                    env.info,
                    **_known(
                        env.info,
                        activity_id=command.activity_id,
                        activity_type=name,
                        attempt=attempt,
                        **(
                            {"task_queue": command.task_queue}
                            if isinstance(command, ScheduleActivity)
                            else {}
                        ),
                        workflow_id=workflow_id,
                        workflow_run_id=run_id,
                        workflow_type=workflow_type,
                        task_token=task_token,
                        scheduled_time=scheduled,
                        current_attempt_scheduled_time=now,
                        started_time=now,
                        is_local=is_local,
                        heartbeat_details=list(heartbeat_details),
                        heartbeat_timeout=(
                            command.heartbeat_timeout.ToTimedelta()
                            if isinstance(command, ScheduleActivity)
                            and command.HasField("heartbeat_timeout")
                            else None
                        ),
                    ),
                )
                env.on_heartbeat = heartbeat
                if control is not None:
                    control._cancel = env.cancel
                if defn.is_async:
                    value = env.run(defn.fn, *args)
                else:
                    if self._threads is None:
                        self._threads = ThreadPoolExecutor(thread_name_prefix="wfkit-activity")
                    call = functools.partial(env.run, defn.fn, *args)
                    value = await asyncio.get_running_loop().run_in_executor(self._threads, call)
                if inspect.isawaitable(value):
                    value = await value
        except Exception as exc:  # an activity's failure is data for the retry policy
            return False, exc
        except temporalio.activity._CompleteAsyncError:
            if complete_async:
                raise CompletesAsync() from None
            feature = (
                "asynchronous activity completion (activity.raise_complete_async) of a local"
                " activity or in run_activity"
            )
            raise NotEmulated(feature) from None
        except asyncio.CancelledError:
            if control is None or not control.cancelled:
                raise  # the environment's own task was cancelled, not the attempt
            return False, temporalio.exceptions.CancelledError("Cancelled")
        payloads = self._converter.payload_converter.to_payloads([value])
        return True, Payloads(payloads=payloads)


def retry_delay(
    command: ScheduleActivity | ScheduleLocalActivity, attempt: int, error: BaseException
) -> timedelta | None:
    """How long before attempt ``attempt + 1``, or None when the policy says stop."""
    if isinstance(error, temporalio.exceptions.ApplicationError) and error.non_retryable:
        return None
    policy = command.retry_policy
    error_type = (
        error.type
        if isinstance(error, temporalio.exceptions.ApplicationError) and error.type
        else type(error).__name__
    )
    if error_type in policy.non_retryable_error_types:
        return None
    if policy.maximum_attempts and attempt >= policy.maximum_attempts:
        return None
    initial = (
        policy.initial_interval.ToTimedelta()
        if policy.HasField("initial_interval")
        else DEFAULT_INITIAL_INTERVAL
    )
    coefficient = policy.backoff_coefficient or DEFAULT_BACKOFF
    cap = (
        policy.maximum_interval.ToTimedelta()
        if policy.HasField("maximum_interval")
        else initial * MAX_INTERVAL_FACTOR
    )
    if isinstance(error, temporalio.exceptions.ApplicationError) and error.next_retry_delay:
        return error.next_retry_delay  # the activity's own choice overrides the policy's
    # In float seconds first: a long run of retries would overflow timedelta before the cap.
    seconds = initial.total_seconds() * coefficient ** min(attempt - 1, 1000)
    return cap if seconds >= cap.total_seconds() else timedelta(seconds=seconds)


def _known(info: Any, **values: Any) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(info)}
    return {k: v for k, v in values.items() if k in names}
