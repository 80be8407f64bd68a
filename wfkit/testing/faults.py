"""Mocks, crash points and bookkeeping: the harness's side of the engine's interceptor seam.

One :class:`FaultPlan` lives across a test's crash and resume: mocks and the outside world
survive a crash (as real services would), each crash point fires once, and the counts of calls
and executions keep growing, which is how a test sees the at-least-once window.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from wfkit.definitions import StepDef
from wfkit.errors import DefinitionError
from wfkit.status import OpKind
from wfkit.testing.errors import SimulatedCrash

_MISSING = object()


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


def build_mock(returns: Any, raises: BaseException | type[BaseException] | None,
               side_effect: Sequence[Any] | Callable[..., Any] | None) -> Mock | Callable[..., Any]:
    given = [returns is not _MISSING, raises is not None, side_effect is not None]
    if sum(given) != 1:
        raise DefinitionError("mock() takes exactly one of returns=, raises=, side_effect=",
                              hint="ctx.mock(step, returns=value)")
    if returns is not _MISSING:
        return Mock([(False, returns)])
    if raises is not None:
        return Mock([(True, raises)])
    if callable(side_effect):
        return side_effect
    items = list(side_effect or [])
    if not items:
        raise DefinitionError("mock(side_effect=[]) needs at least one outcome")
    return Mock([(isinstance(i, BaseException) or (isinstance(i, type)
                                                    and issubclass(i, BaseException)), i)
                 for i in items])


def step_key(target: Any) -> str | Callable[..., Any]:
    """Mocks and crash points name a step by its step name, or a compensation by function."""
    if isinstance(target, str):
        return target
    if isinstance(target, StepDef):
        return target.name
    if callable(target):
        return target
    raise DefinitionError(f"expected a step, a step name or a function, got {target!r}")


@dataclass
class CrashPoint:
    kind: str          # "before" | "after" | "after_checkpoint" | "compensation" | "at"
    target: Any        # step name / compensation fn / seq
    fired: bool = False

    def describe(self) -> str:
        what = self.target if isinstance(self.target, (str, int)) else \
            getattr(self.target, "__name__", repr(self.target))
        return {"before": f"before step {what!r}",
                "after": f"after step {what!r} ran, before its checkpoint",
                "after_checkpoint": f"after step {what!r} was checkpointed",
                "compensation": f"during the compensation of {what!r}",
                "at": f"at durable operation #{what}"}[self.kind]


@dataclass
class FaultPlan:
    """Implements :class:`wfkit.core.runtime.Interceptor` for one test."""

    mocks: dict[Any, Mock | Callable[..., Any]] = field(default_factory=dict)
    crashes: list[CrashPoint] = field(default_factory=list)
    call_log: list[tuple[str, str, tuple[Any, ...], dict[str, Any], int]] = \
        field(default_factory=list)  # (kind, name, args, kwargs, attempt) per attempt started
    executed: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) effects run
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the interceptor protocol ----------------------------------------------------------------
    def starting(self, kind: OpKind, seq: int, name: str) -> None:
        self._crash_if("at", seq, lambda c: c.target == seq)

    def invoke(self, kind: OpKind, seq: int, name: str, attempt: int, fn: Callable[..., Any],
               args: tuple[Any, ...], kwargs: dict[str, Any], call: Callable[[], Any]) -> Any:
        is_comp = kind == OpKind.COMPENSATION
        if not is_comp:
            self._crash_if("before", seq, lambda c: c.target == name)
        with self.lock:
            self.call_log.append((kind.value, name, args, kwargs, attempt))
            mock = self.mocks.get(fn) if is_comp else (self.mocks.get(name)
                                                        or self.mocks.get(fn))
        try:
            if mock is None:
                value = call()
            elif isinstance(mock, Mock):
                with self.lock:
                    value = mock.next()
            else:
                value = mock(*args, **kwargs)
        finally:
            with self.lock:
                self.executed.append((kind.value, name))
            if is_comp:
                self._crash_if("compensation", seq,
                               lambda c: c.target == name or c.target is fn)
            else:
                self._crash_if("after", seq, lambda c: c.target == name)
        return value

    def checkpointed(self, kind: OpKind, seq: int, name: str) -> None:
        if kind != OpKind.COMPENSATION:
            self._crash_if("after_checkpoint", seq, lambda c: c.target == name)

    # -- helpers ---------------------------------------------------------------------------------
    def _crash_if(self, kind: str, seq: int, matches: Callable[[CrashPoint], bool]) -> None:
        with self.lock:
            for point in self.crashes:
                if point.kind == kind and not point.fired and matches(point):
                    point.fired = True
                    raise SimulatedCrash(point.describe())

    def calls(self, name: str, kind: str = "step") -> list[tuple[Any, ...]]:
        with self.lock:
            return [args for k, n, args, _, _ in self.call_log if k == kind and n == name]

    def executions(self, name: str, kind: str = "step") -> int:
        with self.lock:
            return sum(1 for k, n in self.executed if k == kind and n == name)
