"""Showing a run's progress on stderr: a live status line on a terminal, plain lines elsewhere.

The engine reports what it does as :mod:`wfkit.engine.progress` events (it never prints); this
module only renders them. On a terminal, finished steps, retries and failures scroll by as lines
and a spinner below them says what is happening now (the attempt running, the next retry's time,
the event being waited for); in a pipe or a log file, the same events are plain lines, one each,
so ``wfkit run ... 2> run.log`` stays readable. ``-q`` shows nothing: no observer is given to the
engine at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from wfkit.engine.progress import (
    AttemptStarted,
    CompensationStarted,
    ProgressEvent,
    RunParked,
    StepCompleted,
    StepGaveUp,
    StepRetrying,
)
from wfkit.engine.status import OpKind


def describe(event: ProgressEvent, now: datetime | None = None) -> str:
    """One line of text for ``event``; ``now`` (UTC) adds "in 12s" to times in the future."""
    run = event.run_id
    if isinstance(event, AttemptStarted):
        what = _what(event.kind, event.name)
        if event.attempt == 1:
            return f"{run}: {what} started"
        return f"{run}: {what}: attempt {event.attempt} of {event.attempts}"
    if isinstance(event, StepCompleted):
        return f"{run}: {_what(event.kind, event.name)} done ({_seconds(event.seconds)})"
    if isinstance(event, StepRetrying):
        return (
            f"{run}: {_what(event.kind, event.name)} failed (attempt {event.attempt} of "
            f"{event.attempts}: {event.error}); next attempt {_at(event.retry_at, now)}"
        )
    if isinstance(event, StepGaveUp):
        tries = "1 attempt" if event.attempt == 1 else f"{event.attempt} attempts"
        return f"{run}: {_what(event.kind, event.name)} failed after {tries}: {event.error}"
    if isinstance(event, CompensationStarted):
        steps = "1 completed step" if event.steps == 1 else f"{event.steps} completed steps"
        why = "cancelled" if event.cancelled else (event.error or "the workflow failed")
        return f"{run}: compensating {steps} ({why})"
    if isinstance(event, RunParked):
        reason = "timer" if event.reason.startswith("sleep until") else event.reason
        until = f" until {_at(event.wake_at, now)}" if event.wake_at is not None else ""
        return f"{run}: {event.status.value}{until}: {reason}"
    return f"{run}: {event!r}"  # pragma: no cover - a new event type without a line yet


def _what(kind: OpKind, name: str) -> str:
    return f"compensation of {name!r}" if kind == OpKind.COMPENSATION else f"step {name!r}"


def _seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.1f}s"


def _at(when: datetime, now: datetime | None) -> str:
    text = f"at {when.astimezone(timezone.utc).strftime('%H:%M:%S')} UTC"
    if now is not None and when > now:
        text += f" (in {_seconds((when - now).total_seconds())})"
    return text


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class PlainProgress:
    """One line per event through ``emit`` (stderr off a terminal, or a worker's log)."""

    def __init__(self, emit: Callable[[str], None], now: Callable[[], datetime] = _utc_now) -> None:
        self._emit = emit
        self._now = now
        self._lock = threading.Lock()  # parallel steps report from several threads

    def notify(self, event: ProgressEvent) -> None:
        line = describe(event, self._now())
        with self._lock:
            self._emit(line)


class LiveProgress:
    """A spinner saying what runs now, with finished steps and retries printed above it."""

    def __init__(self, console: Any, now: Callable[[], datetime] = _utc_now) -> None:
        self._console = console
        self._now = now
        self._status: Any = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._status = self._console.status("starting", spinner="dots")
        self._status.start()

    def stop(self) -> None:
        with self._lock:
            status, self._status = self._status, None
        if status is not None:
            status.stop()

    def notify(self, event: ProgressEvent) -> None:
        line = describe(event, self._now())
        with self._lock:
            if self._status is None:
                return
            if isinstance(event, (AttemptStarted, RunParked)):
                self._status.update(line)  # what is going on now: replaced, not kept
                return
            if isinstance(event, StepRetrying):
                self._status.update(
                    f"{event.run_id}: waiting to retry "
                    f"{_what(event.kind, event.name)} "
                    f"{_at(event.retry_at, self._now())}"
                )
            self._console.print(line, markup=False, highlight=False)


@contextmanager
def progress_for(app: Any) -> Iterator[PlainProgress | LiveProgress | None]:
    """The observer ``wfkit run`` gives its engine: live on a terminal, plain lines in a pipe,
    None with ``-q``. The live display is always stopped, even when the run is interrupted."""
    if app.verbosity < 0:
        yield None
        return
    console = app.err
    if not console.is_terminal:
        yield PlainProgress(lambda line: console.print(line, markup=False, highlight=False))
        return
    live = LiveProgress(console)
    live.start()
    try:
        yield live
    finally:
        live.stop()
