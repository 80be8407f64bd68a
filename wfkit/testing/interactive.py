"""Driving a run by hand: start it, look at it, then act — send an event, cancel it, or let
virtual time pass — at a point chosen after looking (what Temporal's and DBOS's test
environments allow), instead of scheduling everything before ``run()``.

:class:`Interactive` is a part of :class:`~wfkit.testing.TestWorkflowContext`; this module
holds it so the context's module stays about arranging and looking.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from wfkit.engine.status import OpKind, OpStatus
from wfkit.errors import UsageError

if TYPE_CHECKING:
    from wfkit.testing.virtual_time import FollowedClock


@dataclass(frozen=True)
class RunState:
    """A query-like view of a run at one virtual instant (``ctx.state()``)."""

    status: str  # RUNNING, WAITING, SLEEPING, COMPLETED, COMPENSATED, ...
    now: datetime  # the virtual time
    results: dict[str, list[Any]] = field(default_factory=dict)  # completed steps' results
    # by step name, in the order they completed (as JSON values: a dataclass is a dict)
    waiting_for: str | None = None  # the event name the run is parked on
    wake_at: datetime | None = None  # when the parked run wakes by itself (timer, timeout)
    parked_on: str | None = None  # "event 'approval'", "sleep 'sleep'", "child 'x'", ...


class Interactive:
    """``start``, ``state``, ``advance``, ``cancel``, ``finish`` (mixed into
    :class:`~wfkit.testing.TestWorkflowContext`, which provides these)."""

    clock: FollowedClock
    run_id: str | None
    _engine: Any

    if TYPE_CHECKING:  # provided by TestWorkflowContext

        def _begin(
            self,
            workflow: Any,
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
            workflow_id: str | None,
        ) -> None: ...
        def _virtual_time(self) -> AbstractContextManager[None]: ...
        def _drive_until(self, until: datetime | None) -> bool: ...
        def _drive_to_end(self) -> None: ...
        def _finish(self) -> Any: ...
        def _end_checks(self) -> Any: ...
        def _run_record(self) -> Any: ...
        def _ops(self) -> list[Any]: ...

    def start(
        self, workflow: Any, *args: Any, workflow_id: str | None = None, **kwargs: Any
    ) -> RunState:
        """Start the workflow and run it until it parks (waits, sleeps) or ends, without
        moving virtual time; then look with :meth:`state` and act."""
        __tracebackhide__ = True
        self._begin(workflow, args, kwargs, workflow_id)
        return self.advance(timedelta(0))

    def advance(self, by: timedelta | float) -> RunState:
        """Let ``by`` of virtual time pass: events fall due, timers fire, timeouts expire and
        the run moves on as far as that time allows. When the run ends, the end-of-run checks
        run (unused faults and events, auto-replay); a failed run does not raise here — look
        at ``status`` and ``error``, or call :meth:`finish`."""
        __tracebackhide__ = True
        from wfkit.engine.core.waits import to_seconds

        self._require_started("advance()")
        until = self.clock.now() + timedelta(seconds=to_seconds(by, "advance by"))
        with self._virtual_time():
            ended = self._drive_until(until)
        if ended:
            self._end_checks()
        return self.state()

    def cancel(self, *, compensate: bool = True) -> RunState:
        """Cancel the run now (its completed steps are compensated first, unless
        ``compensate=False``) and let it move as far as that goes without moving time."""
        __tracebackhide__ = True
        self._require_started("cancel()")
        with self._virtual_time():
            self._engine.cancel(self.run_id, compensate=compensate, drive=False)
        return self.advance(timedelta(0))

    def finish(self) -> Any:
        """Run the started workflow to its end, as ``run()`` would: its result, or
        :class:`WorkflowFailed`."""
        __tracebackhide__ = True
        self._require_started("finish()")
        with self._virtual_time():
            self._drive_to_end()
            return self._finish()

    def state(self) -> RunState:
        """What the run has done and what it waits for, now."""
        self._require_started("state()")
        run = self._run_record()
        results: dict[str, list[Any]] = {}
        parked = None
        for op in sorted(self._ops(), key=lambda o: (o.finished_at or o.started_at, o.seq)):
            if op.kind == OpKind.STEP and op.status == OpStatus.COMPLETED:
                results.setdefault(op.name, []).append(json.loads(op.result) if op.result else None)
            elif op.status == OpStatus.STARTED and op.kind != OpKind.STEP:
                parked = op
        active = not run.status.terminal
        return RunState(
            status=run.status.value,
            now=self.clock.now(),
            results=results,
            waiting_for=parked.name
            if active and parked is not None and parked.kind == OpKind.EVENT
            else None,
            wake_at=run.wake_at if active else None,
            parked_on=f"{parked.kind.value} {parked.name!r}"
            if active and parked is not None
            else None,
        )

    def _require_started(self, what: str) -> None:
        if self.run_id is None:
            raise UsageError(f"{what} before start()", hint="call ctx.start(workflow, ...) first")
