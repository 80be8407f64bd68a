"""A fault plan: which operations fail, where the process crashes, when events arrive.

Plans name operations by sequence number, which a deterministic workflow assigns the same way on
every run, with or without crashes, so one plan means the same thing in the crashing run and in
its crash-free twin. ``repr(plan)`` is valid Python: a failing ``verify`` prints it so the
shrunk plan can be pasted into a regression test (``verify(..., plan=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from wfkit.engine.core.numbering import seq_label
from wfkit.testing.faults import CrashPoint, Failures

CRASH_POINTS = ("before", "after", "after_checkpoint")


@dataclass(frozen=True)
class Failure:
    """Operation ``seq`` fails on its first ``times`` attempts (None: on every attempt)."""

    seq: int
    times: int | None = 1


@dataclass(frozen=True)
class Crash:
    """The process dies at operation ``seq`` (``point`` in CRASH_POINTS) and a new one resumes
    after ``downtime`` seconds. ``after`` on a compensation crashes inside compensation."""

    seq: int
    point: str = "after"
    downtime: float = 0.0


@dataclass(frozen=True)
class Arrival:
    """Event ``name`` with ``payload`` arrives ``after`` seconds past the run's start."""

    name: str
    payload: Any
    after: float


@dataclass(frozen=True)
class Plan:
    failures: tuple[Failure, ...] = ()
    crashes: tuple[Crash, ...] = ()
    events: tuple[Arrival, ...] = ()

    @property
    def crash_free(self) -> Plan:
        return Plan(failures=self.failures, events=self.events)

    def apply(self, ctx: Any) -> None:
        """Arm a TestWorkflowContext with this plan (before ``run``)."""
        for failure in self.failures:
            ctx.faults.fail_by_seq[failure.seq] = Failures(failure.times)
        for crash in self.crashes:
            kind = "at" if crash.point == "before" else crash.point
            ctx.faults.crashes.append(
                CrashPoint(kind, crash.seq, by_seq=True, downtime=crash.downtime)
            )
        for event in self.events:
            # One plan's run may rightly end before it waits (verify checks the names over
            # all its examples instead).
            ctx.send_event(
                event.name, event.payload, after=timedelta(seconds=event.after), allow_unused=True
            )

    def downtimes(self) -> list[float]:
        return [crash.downtime for crash in self.crashes]

    def describe(self) -> list[str]:
        lines = []
        for f in self.failures:
            how = (
                "every attempt"
                if f.times is None
                else f"the first {f.times} attempt{'s' if f.times != 1 else ''}"
            )
            lines.append(f"operation {seq_label(f.seq)} fails on {how}")
        for c in self.crashes:
            where = {
                "before": "as it starts",
                "after": "after its effect, before its checkpoint",
                "after_checkpoint": "after its checkpoint",
            }[c.point]
            lines.append(
                f"the process crashes at operation {seq_label(c.seq)} {where}; "
                f"down for {_fmt(c.downtime)}"
            )
        for e in self.events:
            lines.append(f"event {e.name!r} = {e.payload!r} arrives at +{_fmt(e.after)}")
        return lines or ["no faults: the happy path"]


def _fmt(seconds: float) -> str:
    from wfkit.testing.context import format_duration

    return format_duration(seconds)


@dataclass
class PlanRun:
    """What running one plan produced (for the checks and the report)."""

    plan: Plan
    ctx: Any
    outcome: tuple[str, Any]  # (status, result JSON or error type)
    crashes: int = 0
    problems: list[str] = field(default_factory=list)
