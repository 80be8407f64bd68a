"""Progress events: what the engine is doing right now, for whoever wants to show it.

The engine never prints (a library that writes to a terminal cannot be embedded), yet a run
that retries a compensation for four minutes must not look frozen. So the core *emits* typed
events to an injected :class:`Observer` and the CLI (or a user's own code) renders them:
``Engine(observer=...)``. With no observer — the default — each emit site is one attribute
test and no event object is built, so the hot path costs nothing measurable.

Events are reported as they happen, also for attempts whose checkpoint a crash later loses;
they are a live view, not the record (the run's history is the record). An observer is called
on the thread that runs the step (``ctx.parallel`` steps run on several threads at once) and
must not raise: a renderer's bug must never fail a workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from wfkit.engine.status import OpKind, RunStatus

__all__ = [
    "AttemptStarted",
    "CompensationStarted",
    "Observer",
    "ProgressEvent",
    "RunParked",
    "StepCompleted",
    "StepGaveUp",
    "StepRetrying",
    "guarded",
]


@dataclass(frozen=True)
class AttemptStarted:
    """An attempt of a step (or of a compensation, ``kind`` COMPENSATION) is about to run."""

    run_id: str
    seq: int
    kind: OpKind
    name: str
    attempt: int
    attempts: int  # the retry policy's limit
    at: datetime


@dataclass(frozen=True)
class StepRetrying:
    """An attempt failed and the step will be tried again at ``retry_at``."""

    run_id: str
    seq: int
    kind: OpKind
    name: str
    attempt: int  # the attempt that failed
    attempts: int
    error: str  # "Type: first line of the message"
    retry_at: datetime


@dataclass(frozen=True)
class StepCompleted:
    """A step's result was checkpointed."""

    run_id: str
    seq: int
    kind: OpKind
    name: str
    attempt: int
    seconds: float  # how long the last attempt took


@dataclass(frozen=True)
class StepGaveUp:
    """A step failed for good (no attempts left, or an error that is never retried)."""

    run_id: str
    seq: int
    kind: OpKind
    name: str
    attempt: int
    error: str


@dataclass(frozen=True)
class CompensationStarted:
    """The run starts undoing its completed steps (a step failed for good, or a cancel)."""

    run_id: str
    steps: int  # compensations registered (some may have run before a crash)
    cancelled: bool
    error: str | None


@dataclass(frozen=True)
class RunParked:
    """The run waits (a timer, an event, a child, a long retry delay, a pause) and leaves the
    worker."""

    run_id: str
    status: RunStatus
    wake_at: datetime | None
    reason: str


ProgressEvent = (
    AttemptStarted | StepRetrying | StepCompleted | StepGaveUp | CompensationStarted | RunParked
)


class Observer(Protocol):
    """Receives :data:`ProgressEvent` objects as the engine works (see the module docstring)."""

    def notify(self, event: ProgressEvent) -> None:
        """Called for every event; must be quick and must not raise."""


def error_line(error: BaseException) -> str:
    """``Type: first line of the message``: one line, whatever the exception's text holds."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


class _Guarded:
    """Passes events on; an observer that raises is switched off instead of failing the run."""

    def __init__(self, inner: Observer) -> None:
        self._inner: Observer | None = inner

    def notify(self, event: ProgressEvent) -> None:
        inner = self._inner
        if inner is None:
            return
        try:
            inner.notify(event)
        except Exception:
            self._inner = None  # a broken display must not break the workflow, nor spam it


def guarded(observer: Observer | None) -> Observer | None:
    """``observer`` wrapped so that its failures never reach the engine (None stays None)."""
    return None if observer is None else _Guarded(observer)


# -- times as people read them (wfkit show, the run's live lines, the dashboard) ------------
def when(value: datetime | None) -> str:
    """A timestamp for a table: UTC, to the second (the JSON format keeps microseconds)."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def duration(started: datetime | None, finished: datetime | None) -> str:
    if started is None or finished is None:
        return ""
    seconds = (finished - started).total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"
