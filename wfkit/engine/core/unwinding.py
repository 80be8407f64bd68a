"""The exceptions that unwind a workflow body out of an activation, and which one wins when
parallel branches end in several.

They subclass ``BaseException`` so that workflow code catching ``Exception`` cannot swallow
them: a run that must wait (:class:`Suspend`), stop for a cancel (:class:`Cancelled`) or a
pause (:class:`Held`), or a replay-only activation at its first unrecorded operation
(:class:`Frontier`) always leaves the body. Raised by :mod:`wfkit.engine.core.activation` and
:mod:`wfkit.engine.core.waits`, caught by :mod:`wfkit.engine.core.runner`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import HistoryEntry, OperationRecord


class Suspend(BaseException):
    """Unwinds the body when the run must wait; the activation parks the run."""

    def __init__(
        self,
        status: RunStatus,
        wake_at: datetime | None,
        reason: str,
        ops: Sequence[OperationRecord] = (),
        history: Sequence[HistoryEntry] = (),
        wake_on_events: Sequence[str] = (),
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.wake_at = wake_at
        self.reason = reason
        self.ops = ops
        self.history = history
        self.wake_on_events = wake_on_events


class Cancelled(BaseException):
    """Unwinds the body when a cancel was requested."""


class Held(BaseException):
    """Unwinds the body before a step starts while the run or its workflow is paused: the run
    keeps its status and lets go of its lease (``wfkit resume`` makes it claimable again)."""

    def __init__(self, seq: int, name: str, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.name = name
        self.reason = reason  # "run paused" or "workflow paused"


class Frontier(BaseException):
    """Replay-only activations stop at the first operation that is not recorded."""

    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq


def settle(outcomes: list[tuple[Any, BaseException | None]]) -> list[Any]:
    """The first real error wins (call order), then crashes, then the earliest suspension."""
    errors = [e for _, e in outcomes if e is not None]
    for exc in errors:
        if not isinstance(exc, (Suspend, Exception)):
            raise exc  # a crash or interrupt: nothing else matters
    for exc in errors:
        if isinstance(exc, Exception) or isinstance(exc, (Cancelled, Frontier)):
            raise exc
    suspends = [e for e in errors if isinstance(e, Suspend)]
    if suspends:
        raise min(suspends, key=lambda s: (s.wake_at is None, s.wake_at or datetime.max))
    return [value for value, _ in outcomes]
