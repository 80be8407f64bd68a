"""Which steps a workflow can call: the guard that makes a lookup that can never match fail.

``ctx.calls(charge)`` answering ``[]`` is a fine assertion when ``charge`` is one of the
workflow's steps that this run did not reach, and a silent no-op when the test names something
the workflow never calls (a misspelt name, or the function's name where the workflow renames
the call). Telling the two apart needs the steps the workflow *could* call: the ``@step``
definitions its code names (directly, as ``module.attr``, through a closure, or in a helper
function it calls), the string constants in that code (``name="charge-card"``), and what ran.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any, Iterable

from wfkit.definitions import StepDef

_MAX_DEPTH = 4   # helper functions followed from the workflow body


@dataclass
class KnownSteps:
    names: set[str] = field(default_factory=set)       # step names: ran or defaults
    constants: set[str] = field(default_factory=set)   # string constants (name="...")
    fns: set[Any] = field(default_factory=set)         # step and compensation functions
    ran: set[Any] = field(default_factory=set)         # functions that ran in this run

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
        except ValueError:   # an empty cell
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
