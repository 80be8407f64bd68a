"""A failing store is never the workflow's failure.

An activation talks to the store at every checkpoint. When a write fails (a lock held past the
busy timeout, a full disk, a database restarting) the workflow did nothing wrong: treating the
error as the body's exception would compensate a healthy run, and the step whose checkpoint
failed would have run without being recorded or undone. So store calls made by an activation
are retried with backoff for a bounded time (the lease: past it another worker may own the run
anyway), and then the activation stops with :class:`StoreUnavailable`, which unwinds the body
like a crash. The run stays as its last checkpoint left it and is resumed later, here or by
another worker once the lease expires; the step whose checkpoint was lost runs again, as the
at-least-once contract allows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from wfkit.engine.clock import Clock
from wfkit.engine.store.base import CancelRequested, LeaseLost
from wfkit.errors import StoreError

T = TypeVar("T")

_FIRST_PAUSE = 0.05
_LONGEST_PAUSE = 2.0


class StoreUnavailable(BaseException):
    """The store failed for longer than the activation may wait: stop, resume later.

    A ``BaseException``, like a crash: workflow code that catches ``Exception`` must not turn
    an outage of the infrastructure into a handled failure of its own.
    """

    def __init__(self, what: str, error: BaseException, *, attempts: int, waited: float) -> None:
        super().__init__(
            f"the store failed while {what}: {error} ({attempts} attempts over {waited:.1f}s)"
        )
        self.what = what
        self.error = error
        self.attempts = attempts
        self.waited = waited


class StoreFault:
    """What went wrong and for how long, for the history entry that records a recovered fault."""

    def __init__(self, first: datetime, error: BaseException) -> None:
        self.first = first
        self.error = error
        self.attempts = 1

    def describe(self, now: datetime) -> dict[str, object]:
        return {
            "error": f"{type(self.error).__name__}: {self.error}",
            "attempts": self.attempts,
            "waited_seconds": round((now - self.first).total_seconds(), 3),
        }


class StoreHealth:
    """Whether the store answered the engine's last call, shared by the engine's threads.

    A worker's log should say once that the store stopped answering and once that it is
    back, however many threads (activations, the claim loop, the heartbeat) met the outage;
    and a worker that rides out a database restart inside its activations must still say so,
    or the outage is invisible. Listeners are set by whoever shows it (``run_worker``):
    ``on_error(error, retry_in)`` and ``on_back(seconds down)``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_since: datetime | None = None
        self.on_error: Callable[[StoreError, float], None] | None = None
        self.on_back: Callable[[float], None] | None = None

    def failed(
        self, error: BaseException, retry_in: float, now: datetime, *, always: bool = False
    ) -> None:
        """A store call failed and is tried again in ``retry_in`` seconds; told to
        ``on_error`` when it is the first failure of an outage (or ``always``)."""
        with self._lock:
            first = self._down_since is None
            if first:
                self._down_since = now
        listener = self.on_error
        if listener is not None and (first or always):
            listener(
                error
                if isinstance(error, StoreError)
                else StoreError(f"{type(error).__name__}: {error}"),
                retry_in,
            )

    def answered(self, now: datetime) -> None:
        """A store call succeeded: the end of an outage is told to ``on_back``."""
        if self._down_since is None:  # the common case: one attribute test
            return
        with self._lock:
            since, self._down_since = self._down_since, None
        listener = self.on_back
        if since is not None and listener is not None:
            listener(max(0.0, (now - since).total_seconds()))


def persist(
    call: Callable[[StoreFault | None], T],
    clock: Clock,
    patience: float,
    what: str,
    retry_on: tuple[type[Exception], ...] = (Exception,),
    failed: Exception | None = None,
    health: StoreHealth | None = None,
) -> T:
    """``call(fault)``, retried while it fails for up to ``patience`` seconds of ``clock`` time.

    ``fault`` is None on the first try and describes the failures so far on a retry, so a write
    can record the fault it recovered from in the same transaction. :class:`LeaseLost` (and
    :class:`CancelRequested`) is an
    answer, not a fault: it passes straight through, as does any error not in ``retry_on``.
    ``failed`` is the error of a first try the caller already made (its hot path calls the
    store directly): the retries start from it. ``health`` hears of the first failure and of
    the answer that ends the outage.
    """
    if failed is None:
        try:
            return call(None)
        except (LeaseLost, CancelRequested):
            raise
        except retry_on as exc:
            failed = exc
    fault = StoreFault(clock.now(), failed)
    pause = _FIRST_PAUSE
    while True:
        waited = (clock.now() - fault.first).total_seconds()
        if waited >= patience:
            raise StoreUnavailable(
                what, fault.error, attempts=fault.attempts, waited=waited
            ) from fault.error
        if health is not None:
            health.failed(fault.error, min(pause, patience - waited), clock.now())
        clock.sleep(min(pause, patience - waited))
        pause = min(pause * 2, _LONGEST_PAUSE)
        try:
            answer = call(fault)
        except (LeaseLost, CancelRequested):
            if health is not None:
                health.answered(clock.now())
            raise
        except retry_on as exc:
            fault.error = exc
            fault.attempts += 1
        else:
            if health is not None:
                health.answered(clock.now())
            return answer
