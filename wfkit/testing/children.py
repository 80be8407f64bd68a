"""Mocking a child workflow: a stand-in registered under the child's name.

A parent's ``ctx.child(child_wf, ...)`` starts a real child run, which the engine looks up by
name in its registry. ``ctx.mock(child_wf, returns=...)`` registers a stand-in workflow under
that name first, whose body gives the mock's outcome (a value, an exception, one outcome per
start, or a callable given the child's arguments). The child run, its record in the parent's
history and the parent's replay stay real; only the child's body is replaced.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from wfkit.engine.definitions import WorkflowDef
from wfkit.testing.faults import Attempted, FaultPlan, Mock


def child_stand_in(
    child: WorkflowDef[Any], mock: Mock | Callable[..., Any], faults: FaultPlan
) -> WorkflowDef[Any]:
    """A workflow named like ``child`` (same signature, same result type) that answers with
    ``mock`` and records each start's arguments (``ctx.calls(child)``)."""

    @functools.wraps(child.fn)
    def stand_in(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        with faults.lock:
            faults.call_log.append(
                Attempted("child", 0, child.name, 1, args, kwargs, True, child.fn)
            )
        faults.note(f"child workflow {child.name}: mocked")
        if isinstance(mock, Mock):
            with faults.lock:
                return mock.next()
        return mock(*args, **kwargs)

    # functools.wraps gives it the child's signature (inputs decode as the child's) and its
    # return annotation (the result encodes as the child's).
    return WorkflowDef(stand_in, name=child.name, version=child.version)
