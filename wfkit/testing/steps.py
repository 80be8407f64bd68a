"""Unit-testing one step with its context: ``step_info()`` as the engine would set it.

Inside a run, a step reads ``wfkit.step_info()`` for its attempt number, its retry limit and
its idempotency key; outside one that is ``None``, so the branches that depend on it (send the
key, give up differently on the last attempt, behave as a compensation) could only be tested
through a whole workflow. ``step_context`` sets it for the code in its ``with`` block::

    with step_context(charge_payment, attempt=3) as info:
        charge_payment(order)                # sees step_info().attempt == 3, last_attempt
    assert bank.entries("charge")[0].key == info.idempotency_key

Cancellation is not something a running step sees in wfkit: the engine checks for it between
operations, so a step never needs a cancelled state to be tested in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from wfkit.engine.core.spec import base_spec
from wfkit.engine.running_step import StepInfo, running_step, step_info
from wfkit.engine.status import OpKind
from wfkit.errors import DefinitionError


@contextlib.contextmanager
def step_context(
    step: Any,
    *,
    attempt: int = 1,
    run_id: str = "test-run",
    workflow: str = "test-workflow",
    seq: int = 1,
    compensation: bool = False,
    name: str | None = None,
) -> Iterator[StepInfo]:
    """Run the ``with`` block as attempt ``attempt`` of ``step`` (a ``@step`` or a function)
    at operation ``seq`` of run ``run_id``: ``wfkit.step_info()`` returns the yielded
    :class:`StepInfo` there (its ``attempts`` is the step's retry limit). ``compensation=True``
    makes it the step's compensation (``kind == "compensation"``); ``name`` is the name a
    workflow's ``name=`` would give the call."""
    spec = base_spec(step)
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise DefinitionError(f"step_context(attempt=...) needs a number >= 1, got {attempt!r}")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise DefinitionError(f"step_context(seq=...) needs a number >= 1, got {seq!r}")
    if name is not None:
        from dataclasses import replace

        spec = replace(spec, name=name)
    kind = OpKind.COMPENSATION if compensation else OpKind.STEP
    described = StepInfo(
        run_id=run_id,
        workflow=workflow,
        seq=seq,
        name=spec.name,
        kind=kind.value,
        attempt=attempt,
        attempts=spec.retry.attempts,
    )
    token = running_step.set(lambda: described)
    try:
        info = step_info()
        assert info is not None
        yield info
    finally:
        running_step.reset(token)
