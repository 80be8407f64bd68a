"""Lookups by step (``ctx.calls`` and friends), and which steps a workflow can call: the guard
that makes a lookup that can never match fail.

``ctx.calls(charge)`` answering ``[]`` is a fine assertion when ``charge`` is one of the
workflow's steps that this run did not reach, and a silent no-op when the test names something
the workflow never calls (a misspelt name, or the function's name where the workflow renames
the call). Telling the two apart needs the steps the workflow *could* call: the ``@step``
definitions its code names (directly, as ``module.attr``, through a closure, or in a helper
function it calls), the string constants in that code (``name="charge-card"``), and what ran.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wfkit.engine.definitions import StepDef, WorkflowDef
from wfkit.engine.status import OpKind, OpStatus
from wfkit.errors import DefinitionError
from wfkit.testing.errors import UnknownStep
from wfkit.testing.faults import FaultPlan, target_matches

_MAX_DEPTH = 4  # helper functions followed from the workflow body


@dataclass
class KnownSteps:
    names: set[str] = field(default_factory=set)  # step names: ran or defaults
    constants: set[str] = field(default_factory=set)  # string constants (name="...")
    fns: set[Any] = field(default_factory=set)  # step and compensation functions
    ran: set[Any] = field(default_factory=set)  # functions that ran in this run

    def could_match(self, target: Any) -> bool:
        if isinstance(target, str):
            return target in self.names or target in self.constants
        if isinstance(target, StepDef):
            return target.fn in self.fns
        return target in self.fns


def known_steps(functions: Iterable[Any], ran: Iterable[tuple[str, Any]]) -> KnownSteps:
    """What the workflow functions can call, plus ``ran``'s ``(name, fn)`` pairs."""
    known = KnownSteps()
    for name, fn in ran:
        known.names.add(name)
        if fn is not None:
            known.fns.add(fn)
            known.ran.add(fn)
    seen: set[int] = set()
    for fn in functions:
        _scan(fn, known, seen, 0)
    return known


def _scan(fn: Any, known: KnownSteps, seen: set[int], depth: int) -> None:
    code = getattr(fn, "__code__", None)
    if code is None or id(fn) in seen or depth > _MAX_DEPTH:
        return
    seen.add(id(fn))
    names = set(_code_names(code))
    known.constants.update(_string_constants(code))
    for value in _named_values(fn, names):
        if isinstance(value, StepDef):
            known.fns.add(value.fn)
            if value.compensate is not None:
                known.fns.add(value.compensate)
            # Its default name, unless this run called it only under another name= (then a
            # lookup by the default name is the mistake this guard exists for).
            if value.fn not in known.ran:
                known.names.add(value.name)
        elif isinstance(value, types.FunctionType):
            _scan(value, known, seen, depth + 1)


def _named_values(fn: Any, names: set[str]) -> Iterable[Any]:
    """The values the function's code names: globals (and attributes of modules among them,
    for ``flows.charge``) and closure cells."""
    scope = getattr(fn, "__globals__", {})
    for name in sorted(names):
        if name not in scope:
            continue
        value = scope[name]
        yield value
        if isinstance(value, types.ModuleType):
            for attr in sorted(names):
                if attr in vars(value):
                    yield vars(value)[attr]
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            yield cell.cell_contents
        except ValueError:  # an empty cell
            continue


def _code_names(code: types.CodeType) -> Iterable[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_names(const)


def _string_constants(code: types.CodeType) -> Iterable[str]:
    for const in code.co_consts:
        if isinstance(const, str):
            yield const
        elif isinstance(const, types.CodeType):
            yield from _string_constants(const)


class Lookups:
    """``calls``, ``executions``, ``step_completed``, ``compensation_ran`` (mixed into
    :class:`~wfkit.testing.TestWorkflowContext`, which provides these)."""

    faults: FaultPlan
    run_id: str | None
    _engine: Any

    if TYPE_CHECKING:  # provided by TestWorkflowContext

        def _ops(self) -> list[Any]: ...

    # Lookups name a step the way mock() and the crash points do (faults.target_matches): a
    # @step or function matches its calls under any name=, a string the name the workflow
    # gives the call. A target no step of the workflow can match raises UnknownStep.
    def calls(self, step: Any) -> list[tuple[Any, ...]]:
        """The arguments of every attempt of the step, crashed and retried ones included
        (of a mocked child workflow: of every start)."""
        __tracebackhide__ = True
        if isinstance(step, WorkflowDef):
            return [
                a.args for a in self.faults.call_log if a.kind == "child" and a.name == step.name
            ]
        return self._looked_up(step, self.faults.calls(_lookup_key(step)))

    def executions(self, step: Any) -> int:
        """How many times the step's effect ran (a crash window makes this exceed one)."""
        __tracebackhide__ = True
        return self._looked_up(step, self.faults.executions(_lookup_key(step)))

    def step_completed(self, step: Any) -> bool:
        __tracebackhide__ = True
        key = _lookup_key(step)
        fns = self.faults.fn_by_seq
        return self._looked_up(
            step,
            any(
                op.kind == OpKind.STEP
                and op.status == OpStatus.COMPLETED
                and target_matches(key, op.name, fns.get(op.seq))
                for op in self._ops()
            ),
        )

    def compensation_ran(self, step: Any) -> bool:
        """Whether the step's compensation completed (the step by @step, function or name)."""
        __tracebackhide__ = True
        key = _lookup_key(step)
        fns = self.faults.fn_by_seq
        return self._looked_up(
            step,
            any(
                op.kind == OpKind.COMPENSATION
                and op.status == OpStatus.COMPLETED
                and target_matches(key, op.name, fns.get(op.compensates or -1))
                for op in self._ops()
            ),
        )

    def _looked_up(self, step: Any, answer: Any) -> Any:
        __tracebackhide__ = True
        if answer or self.run_id is None:
            return answer
        workflows = [w.fn for w in (self._engine.workflows.values() if self._engine else ())]
        ran = [(a.name, a.fn) for a in self.faults.call_log]
        known = known_steps(workflows, ran)
        if not known.could_match(_lookup_key(step)):
            raise UnknownStep(self.run_id, _describe_target(step), sorted(known.names))
        return answer


def _lookup_key(step: Any) -> Any:
    """A lookup target as target_matches takes it (a plain function stays a function)."""
    if isinstance(step, (str, StepDef)) or callable(step):
        return step
    raise DefinitionError(f"expected a step or a step name, got {step!r}")


def _describe_target(step: Any) -> str:
    if isinstance(step, str):
        return f"the name {step!r}"
    return f"the step {_step_name(step)!r}"


def _step_name(step: Any) -> str:
    if isinstance(step, StepDef):
        return step.name
    return str(getattr(step, "__name__", step))
