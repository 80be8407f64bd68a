"""What a running step may know about itself: its run, its place in the run, its attempt.

Steps are at-least-once: a crash between a step's side effect and its checkpoint runs the step
again, and so does a retry. A service that accepts an idempotency key (payment providers,
email and messaging APIs) turns that into exactly-once *effects* if every attempt of the step
sends the same key. :attr:`StepInfo.idempotency_key` is that key: the run id and the step's
sequence number, which replay makes the same on every attempt, after every crash and on any
worker. Temporal users know this as workflow id + activity id; DBOS's ``step_status``.

``step_info()`` costs nothing until it is called: while a step runs, the engine keeps only a
function that describes the running attempt in a context variable (each thread and asyncio task
sees its own), and the record is built on request.

A step also learns whether its worker still holds the run (:meth:`StepInfo.lease_lost`): a
worker paused past its lease (a long GC pause, SIGSTOP, a VM migration) finds, when it
resumes, that another worker took the run over and is running the same step again. Fencing
refuses the paused worker's checkpoint, but its step body keeps going until it returns; a long
step that polls ``lease_lost()`` stops early instead of doubling the work (Temporal's activity
heartbeat cancellation, in wfkit's terms).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["StepInfo", "step_info"]


@dataclass(frozen=True)
class StepInfo:
    """The running step as the engine sees it (see :func:`step_info`)."""

    run_id: str
    workflow: str  # the workflow's name
    seq: int  # the step's sequence number in its run (stable across replays)
    name: str  # the step's name (``name=`` or the function's name)
    kind: str  # "step", or "compensation" while a step is being undone
    attempt: int  # 1 for the first try; never reset by a crash or a worker change
    attempts: int  # the retry policy's limit, every try included

    def lease_lost(self) -> bool:
        """True once this worker's lease on the run is gone or may be: its heartbeat found
        the run taken over, or could not renew the lease before it expired (the worker was
        paused, the store did not answer). Then another worker may be running this very step,
        and nothing this attempt returns or raises will be recorded: a long step should poll
        it between chunks of work and stop (return or raise anything). Once True, it stays
        True. Always False where there are no leases (the test harness) and costs one clock
        read, so it is cheap to call often.
        """
        # Not a field: a StepInfo is plain data (a step may return it); the engine sets the
        # check on the instance (step_info()).
        check: Callable[[], bool] | None = self.__dict__.get("_lease_check")
        return check() if check is not None else False

    @property
    def idempotency_key(self) -> str:
        """``"<run id>:<seq>"``: the same for every attempt of this step in this run.

        ``wfkit retry`` of a failed run keeps it too; a service that caches failed requests
        under a key would then answer the retry with the old failure, so add ``attempt`` to
        the key where a fresh try is wanted.
        """
        return f"{self.run_id}:{self.seq}"

    @property
    def last_attempt(self) -> bool:
        """True when a failure now is final (no retry follows)."""
        return self.attempt >= self.attempts


# What describes the step attempt running in this thread or task: set by the engine around each
# attempt (wfkit.engine.core.activation), so this module needs nothing of the engine.
running_step: contextvars.ContextVar[Callable[[], StepInfo] | None] = contextvars.ContextVar(
    "wfkit_running_step", default=None
)


def step_info() -> StepInfo | None:
    """The step running in this thread or task, or None anywhere else.

    None in a workflow body, in a plain call of a ``@step`` function outside a workflow (a
    unit test, a script) and in code a step calls in threads it starts itself: a step that
    must also run on its own can fall back, e.g. ``info.idempotency_key if info else key``.
    """
    describe = running_step.get()
    return None if describe is None else describe()
