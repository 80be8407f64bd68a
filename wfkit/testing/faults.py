"""Mocks, crash points and bookkeeping: the harness's side of the engine's interceptor seam.

One :class:`FaultPlan` lives across a test's crash and resume: mocks and the outside world
survive a crash (as real services would), each crash point fires once, and the counts of calls
and executions keep growing, which is how a test sees the at-least-once window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wfkit.engine.core.numbering import seq_label
from wfkit.engine.core.spec import StepSpec
from wfkit.engine.definitions import StepDef
from wfkit.engine.status import OpKind
from wfkit.errors import DefinitionError
from wfkit.testing.errors import SimulatedCrash

_MISSING = object()
COMPENSATION_FAILURE_CAP = 3


@dataclass
class Mock:
    """Outcomes for a step: one value, one exception, or one per attempt (the last repeats)."""

    outcomes: list[tuple[bool, Any]]  # (is_error, value or exception)
    used: int = 0

    def next(self) -> Any:
        is_error, value = self.outcomes[min(self.used, len(self.outcomes) - 1)]
        self.used += 1
        if is_error:
            raise value
        return value


def build_mock(
    returns: Any,
    raises: BaseException | type[BaseException] | None,
    side_effect: Sequence[Any] | Callable[..., Any] | None,
) -> Mock | Callable[..., Any]:
    given = [returns is not _MISSING, raises is not None, side_effect is not None]
    if sum(given) != 1:
        raise DefinitionError(
            "mock() takes exactly one of returns=, raises=, side_effect=",
            hint="ctx.mock(step, returns=value)",
        )
    if returns is not _MISSING:
        return Mock([(False, returns)])
    if raises is not None:
        return Mock([(True, raises)])
    if callable(side_effect):
        return side_effect
    items = list(side_effect or [])
    if not items:
        raise DefinitionError("mock(side_effect=[]) needs at least one outcome")
    return Mock(
        [
            (
                isinstance(i, BaseException)
                or (isinstance(i, type) and issubclass(i, BaseException)),
                i,
            )
            for i in items
        ]
    )


def step_key(target: Any) -> str | Callable[..., Any]:
    """Mocks and crash points name a step by its step name, or a compensation by function."""
    if isinstance(target, str):
        return target
    if isinstance(target, StepDef):
        return target.name
    if callable(target):
        return target
    raise DefinitionError(f"expected a step, a step name or a function, got {target!r}")


def target_matches(target: Any, name: str, fn: Any) -> bool:
    """The one rule by which a test names a step, for mocks, faults and lookups alike.

    A string is the name the workflow gives the call (``name=``, by default the function's
    name); a ``@step`` or a function matches every call of that function, under any name.
    """
    if isinstance(target, str):
        return name == target
    if isinstance(target, StepDef):
        return fn is target.fn
    return fn is not None and fn is target


class InjectedFailure(Exception):
    """A failure that a test plan injected into a step attempt (instead of its effect)."""


@dataclass
class CrashPoint:
    kind: str  # "before" | "after" | "after_checkpoint" | "compensation" | "at"
    target: Any  # step name / compensation fn / seq (with by_seq)
    fn: Any = None  # the step's function when one was given: matches under any name=
    by_seq: bool = False
    fired: bool = False
    downtime: float = 0.0  # how long the process stays down (used by verify's plans)
    pause: bool = False  # a crash-free twin: let ``downtime`` pass here instead of dying
    actual_delay: float | None = None  # how much virtual time the crash really cost

    def matches(self, seq: int, name: str, fn: Any = None) -> bool:
        if self.by_seq or self.kind == "at":
            return self.target == seq
        if self.fn is not None:  # given a @step or a function: any call of it, any name
            return fn is self.fn
        return target_matches(self.target, name, fn)

    def describe(self, compensation: bool = False) -> str:
        what = (
            f"#{self.target}"
            if self.by_seq or self.kind == "at"
            else repr(
                self.target
                if isinstance(self.target, str)
                else getattr(self.target, "__name__", repr(self.target))
            )
        )
        if compensation and self.kind in ("after", "compensation"):
            return f"after the compensation {what} ran, before its checkpoint"
        return {
            "before": f"before the effect of step {what}",
            "after": f"after the effect of step {what}, before its checkpoint",
            "after_checkpoint": f"after step {what} was checkpointed",
            "compensation": f"after the compensation {what} ran, before its checkpoint",
            "at": f"as durable operation {what} was about to run",
        }[self.kind]


@dataclass
class Failures:
    """Inject ``times`` failures (None: every attempt) into an operation, then run it."""

    times: int | None
    used: int = 0
    label: str = ""  # how the test named it, for "never injected"


@dataclass(frozen=True)
class Attempted:
    kind: str
    seq: int
    name: str
    attempt: int
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    idempotent: bool
    fn: Any = None


@dataclass(frozen=True)
class Raised:
    """An exception a step attempt raised, and where (``file:line`` of the raising code)."""

    name: str
    error: str
    where: str | None


@dataclass
class FaultPlan:
    """Implements :class:`wfkit.engine.core.runtime.Interceptor` for one test."""

    mocks: dict[Any, Mock | Callable[..., Any]] = field(default_factory=dict)
    crashes: list[CrashPoint] = field(default_factory=list)
    fail_by_name: dict[str, Failures] = field(default_factory=dict)
    fail_by_seq: dict[int, Failures] = field(default_factory=dict)
    fail_by_fn: dict[Any, Failures] = field(default_factory=dict)  # the same plans, by function
    fn_by_seq: dict[int, Any] = field(default_factory=dict)  # for crashes after a checkpoint
    clock: Any = None  # for timestamps in the timeline
    last_fired: CrashPoint | None = None
    # (time, seq, text, process): lines by virtual time; ``process`` (1, 2, ... one per resume)
    # orders the lines of one instant across a crash, whatever their operation numbers.
    timeline: list[tuple[Any, int | None, str, int]] = field(default_factory=list)
    process: int = 1
    call_log: list[Attempted] = field(default_factory=list)  # every attempt started
    raised: list[Raised] = field(default_factory=list)  # every attempt that raised
    body_errors: dict[str, Raised] = field(default_factory=dict)  # run id -> its body's error
    executed: list[tuple[str, str, Any]] = field(default_factory=list)  # (kind, name, fn) run
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the interceptor protocol ----------------------------------------------------------------
    def starting(self, kind: OpKind, seq: int, name: str) -> None:
        self._crash_if("at", seq, name)

    def invoke(
        self,
        kind: OpKind,
        seq: int,
        attempt: int,
        spec: StepSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call: Callable[[], Any],
    ) -> Any:
        name, fn = spec.name, spec.fn
        is_comp = kind == OpKind.COMPENSATION
        label = f"{seq_label(seq)} {kind.value} {name} attempt {attempt}"
        if not is_comp:
            self._crash_if("before", seq, name, fn, label)
        with self.lock:
            self.call_log.append(
                Attempted(kind.value, seq, name, attempt, args, kwargs, spec.idempotent, fn)
            )
            mock = self.mocks.get(fn) if is_comp else (self.mocks.get(name) or self.mocks.get(fn))
            self.fn_by_seq[seq] = fn
            injected = self._take_failure(
                seq, name if not is_comp else None, is_comp, None if is_comp else fn
            )
        if injected:
            self.note(f"{label}: injected failure", seq)
            raise InjectedFailure(
                f"injected failure of {kind.value} {name!r} "
                f"(operation {seq_label(seq)}, attempt {attempt})"
            )
        try:
            if mock is None:
                value = call()
            elif isinstance(mock, Mock):
                with self.lock:
                    value = mock.next()
            else:
                value = mock(*args, **kwargs)
        except Exception as exc:
            from wfkit.testing.outcomes import origin

            where = origin(exc.__traceback__)
            with self.lock:
                self.raised.append(Raised(name, type(exc).__name__, where))
            self.note(
                f"{label}: raised {type(exc).__name__}: {exc}" + (f" at {where}" if where else ""),
                seq,
            )
            raise
        else:
            self.note(f"{label}: ok" + (" (mocked)" if mock is not None else ""), seq)
        finally:
            with self.lock:
                self.executed.append((kind.value, name, fn))
            self._crash_if(
                ("compensation", "after") if is_comp else ("after",),
                seq,
                name,
                fn,
                label,
                compensation=is_comp,
            )
        return value

    def checkpointed(self, kind: OpKind, seq: int, name: str) -> None:
        if kind != OpKind.COMPENSATION:
            with self.lock:
                fn = self.fn_by_seq.get(seq)
            self._crash_if(
                "after_checkpoint", seq, name, fn, f"{seq_label(seq)} {kind.value} {name}"
            )

    def body_raised(self, run_id: str, exc: BaseException) -> None:
        """The workflow body raised ``exc``: keep where, for "the workflow code raised ...".
        A step's failure rethrown into the body carries ``wfkit_step`` and is not the body's."""
        if getattr(exc, "wfkit_step", None) is not None:
            return
        from wfkit.testing.outcomes import origin

        with self.lock:
            self.body_errors[run_id] = Raised("", type(exc).__name__, origin(exc.__traceback__))

    # -- helpers ---------------------------------------------------------------------------------
    def note(self, text: str, seq: int | None = None) -> None:
        """A timeline line at the current virtual time; ``seq`` places it among the
        operations of the same instant (``0``: before them all, ``None``: after them)."""
        with self.lock:
            self.timeline.append(
                (self.clock.now() if self.clock is not None else None, seq, text, self.process)
            )

    def _take_failure(
        self, seq: int, name: str | None, compensation: bool = False, fn: Any = None
    ) -> bool:
        for plan in (
            self.fail_by_seq.get(seq),
            self.fail_by_name.get(name or ""),
            self.fail_by_fn.get(fn) if fn is not None else None,
        ):
            times = plan.times if plan is not None else None
            if compensation and times is None:
                # Compensations are retried; one that can never succeed needs a person (the
                # run ends FAILED), which no code change fixes: plans inject transient ones.
                times = COMPENSATION_FAILURE_CAP
            if plan is not None and (times is None or plan.used < times):
                plan.used += 1
                return True
        return False

    def _crash_if(
        self,
        kinds: str | tuple[str, ...],
        seq: int,
        name: str,
        fn: Any = None,
        label: str | None = None,
        *,
        compensation: bool = False,
    ) -> None:
        if not self.crashes:  # the common case, on every operation: nothing to look for
            return
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        with self.lock:
            for point in self.crashes:
                if point.kind == "after" and compensation and not point.by_seq:
                    continue  # crash_after(step) means the step, not its compensation
                if point.kind in kinds and not point.fired and point.matches(seq, name, fn):
                    point.fired = True
                    self.last_fired = point
                    break
            else:
                return
        if point.pause:
            self.clock.advance(point.downtime)
            self.note(
                f"{label or f'{seq_label(seq)} {name}'}: {point.downtime:g}s pass here (the "
                "crash-free twin of a crash)",
                seq,
            )
            return
        self.note(
            f"{label or f'{seq_label(seq)} {name}'}: CRASH {point.describe(compensation)}", seq
        )
        raise SimulatedCrash(point.describe(compensation))

    def calls(self, target: Any, kind: str = "step") -> list[tuple[Any, ...]]:
        with self.lock:
            return [
                a.args
                for a in self.call_log
                if a.kind == kind and target_matches(target, a.name, a.fn)
            ]

    def executions(self, target: Any, kind: str = "step") -> int:
        with self.lock:
            return sum(
                1 for k, n, fn in self.executed if k == kind and target_matches(target, n, fn)
            )
