"""How the examples of one ``verify`` ended: the statistics line, and the guard against a
``verify`` that passes without testing anything.

A fault plan can only expose a bug on a path the workflow actually takes. When a fake service
has a bug of its own (a ``TypeError`` from a wrong signature), every example fails the same
step the same way, the workflow compensates every time, the invariant holds for a rolled-back
world, and ``verify`` would pass having tested the rollback only. So ``verify`` counts how the
examples ended and fails when every one of them ended by the same programming error raised in
a step, naming it and where it was raised.
"""

from __future__ import annotations

import os
import sysconfig
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from wfkit.engine.core.failures import error_data
from wfkit.engine.status import RunStatus

# Errors that mean code is wrong on some path, not that the world said no.
PROGRAMMING_ERRORS = frozenset(
    {
        "TypeError",
        "AttributeError",
        "NameError",
        "KeyError",
        "IndexError",
        "ZeroDivisionError",
        "UnboundLocalError",
        "RecursionError",
    }
)
INJECTED = "InjectedFailure"  # a plan's failure that no retry outlived: the plan's doing
STATUSES = ("COMPLETED", "COMPENSATED", "FAILED", "CANCELLED")

_WFKIT_DIR = str(Path(__file__).resolve().parent.parent)
_LIBRARY_DIRS = tuple(
    sorted(
        {
            p
            for key in ("stdlib", "platstdlib", "purelib", "platlib")
            if (p := sysconfig.get_paths().get(key))
        }
    )
)


def origin(tb: TracebackType | None) -> str | None:
    """``file:line`` of the innermost frame of user code (not wfkit, not a library) in a
    traceback: where a fake or a workflow raised, even when the error surfaced in a library."""
    found = innermost = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        innermost = f"{filename}:{tb.tb_lineno}"
        if (
            not filename.startswith(_WFKIT_DIR)
            and not filename.startswith(_LIBRARY_DIRS)
            and not filename.startswith("<")
        ):
            found = innermost
        tb = tb.tb_next
    where = found or innermost
    return _relative(where) if where else None


def _relative(where: str) -> str:
    path, _, line = where.rpartition(":")
    try:
        path = os.path.relpath(path)
    except ValueError:  # another drive
        pass
    return f"{path}:{line}"


@dataclass(frozen=True)
class Ending:
    """How one example ended: its status and, for an error raised in a step, what and where."""

    status: str
    error: str | None = None  # the exception type
    message: str = ""
    step: str | None = None  # the step that raised it
    where: str | None = None  # file:line of the raising code


def ending_of(ctx: Any) -> Ending:
    run = ctx.store.get_run(ctx.run_id) if ctx.run_id else None
    if run is None:
        return Ending("NOT STARTED")
    data = error_data(run.error)
    data = data.get("original", data) if data.get("during") else data
    if run.status == RunStatus.COMPLETED or not data:
        return Ending(run.status.value)
    step = data.get("from_step")
    return Ending(
        run.status.value,
        str(data.get("type")),
        str(data.get("message", "")),
        step if isinstance(step, str) else None,
        ctx._raised_where(run),
    )


@dataclass
class VerifySummary:
    """What ``verify`` explored: how many examples, how they ended, how many crashed."""

    workflow: str
    examples: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # status -> examples
    crashed: int = 0  # examples that crashed & resumed
    endings: Counter[Ending] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)  # e.g. the hash-seed replay's
    tool: str = "verify"  # or verify_upgrade: what the line names

    def add(self, ending: Ending, crashes: int) -> None:
        self.examples += 1
        self.outcomes[ending.status] += 1
        self.crashed += 1 if crashes else 0
        self.endings[ending] += 1

    def line(self) -> str:
        """``verify(order): 26 examples: 20 COMPLETED, 6 COMPENSATED, 0 FAILED; 9 crashed
        and resumed``."""
        shown = [s for s in STATUSES if s in self.outcomes or s != "CANCELLED"]
        shown += sorted(s for s in self.outcomes if s not in STATUSES)
        counts = ", ".join(f"{self.outcomes[s]} {s}" for s in shown)
        notes = "".join(f"; {note}" for note in self.notes)
        return (
            f"{self.tool}({self.workflow}): {self.examples} example"
            f"{'s' if self.examples != 1 else ''}: {counts}; {self.crashed} crashed and "
            f"resumed{notes}"
        )

    def uniform_programming_error(self) -> Ending | None:
        """The one way every example ended that a plan's own injected failure did not end,
        when it is a programming error raised in a step."""
        own = [e for e in self.endings if e.error != INJECTED]
        if self.examples < 2 or len(own) != 1:
            return None
        (ending,) = own
        if ending.error in PROGRAMMING_ERRORS and ending.step is not None:
            return ending
        return None

    def __str__(self) -> str:
        return self.line()


# The lines of the verify calls of the running test, for the pytest plugin's report.
reported: list[tuple[str, str]] = []


def report(summary: VerifySummary) -> None:
    """Keep the line for the pytest plugin's report (only under pytest: a script calling
    ``verify`` in a loop keeps nothing)."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    if test:
        reported.append((test, summary.line()))
