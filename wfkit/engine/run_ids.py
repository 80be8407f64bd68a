"""Run ids derived from a workflow's input: ``@workflow(workflow_id="order-{order.order_id}")``.

A run id that comes from the business key makes starting a workflow idempotent where it
matters: the same order started twice (a retried HTTP request, a redelivered message) is one
run, and ``wfkit show ORD-001`` finds it by the id people already use. The template is checked
when the workflow is decorated; it is filled from the *decoded* input (what the workflow body
receives), so ``{order.order_id}`` works whether the input came from Python or from JSON on the
command line.
"""

from __future__ import annotations

import inspect
import string
from collections.abc import Callable
from typing import Any

from wfkit.errors import DefinitionError, UsageError

IdSource = str | Callable[..., str]


class RunIdTemplate:
    """A workflow's ``workflow_id=``: a ``str.format`` template over its parameters, or a
    function called with the workflow's arguments (without the context)."""

    def __init__(self, source: IdSource, fn: Callable[..., Any], workflow: str) -> None:
        self.source = source
        self.workflow = workflow
        self._signature = inspect.signature(fn)
        params = list(self._signature.parameters)[1:]  # the first one is the context
        if isinstance(source, str):
            _check_template(source, params, workflow)
        elif not callable(source):
            raise DefinitionError(
                f"@workflow {workflow!r}: workflow_id must be a template string or a function, "
                f"got {type(source).__name__}",
                hint='e.g. workflow_id="order-{order.order_id}"',
            )

    def render(self, args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]) -> str:
        """The run id for these (decoded) arguments; a clear UsageError when it cannot be made."""
        what = (
            f"workflow_id {self.source!r}"
            if isinstance(self.source, str)
            else f"workflow_id function {getattr(self.source, '__name__', self.source)!r}"
        )
        try:
            if isinstance(self.source, str):
                bound = self._signature.bind(None, *args, **kwargs)
                bound.apply_defaults()
                values = dict(list(bound.arguments.items())[1:])
                run_id = string.Formatter().vformat(self.source, (), values)
            else:
                run_id = self.source(*args, **kwargs)
        except Exception as exc:
            raise UsageError(
                f"{what} of workflow {self.workflow!r} failed for this input: "
                f"{type(exc).__name__}: {exc}",
                hint="fix the input, or pass an explicit id (workflow_id=... / wfkit run --id)",
            ) from None
        if not isinstance(run_id, str) or not run_id.strip():
            raise UsageError(
                f"{what} of workflow {self.workflow!r} gave {run_id!r}, not a non-empty string",
                hint="make it produce a non-empty string, or pass an explicit id "
                "(workflow_id=... / wfkit run --id)",
            )
        return run_id

    def __repr__(self) -> str:
        return f"RunIdTemplate({self.source!r})"


def _check_template(template: str, params: list[str], workflow: str) -> None:
    try:
        fields = [
            field for _, field, _, _ in string.Formatter().parse(template) if field is not None
        ]
    except ValueError as exc:
        raise DefinitionError(
            f"@workflow {workflow!r}: workflow_id {template!r} is not a valid template: {exc}",
            hint="write fields as {name} or {name.attribute}; double braces for a literal {{ or }}",
        ) from None
    if not fields:
        raise DefinitionError(
            f"@workflow {workflow!r}: workflow_id {template!r} names no "
            "parameter, so every run would get the same id",
            hint="use a field such as {order_id}, or pass workflow_id to start() instead",
        )
    for field in fields:
        root = field.split(".", 1)[0].split("[", 1)[0]
        if not root or root.isdigit():
            raise DefinitionError(
                f"@workflow {workflow!r}: workflow_id {template!r} has a positional field "
                f"{{{field}}}",
                hint=f"name a parameter: one of {', '.join(params) or 'none'}",
            )
        if root not in params:
            raise DefinitionError(
                f"@workflow {workflow!r}: workflow_id {template!r} uses {{{field}}}, but the "
                f"workflow has no parameter {root!r}",
                hint=f"use one of: {', '.join(params) or 'no parameters'}",
            )
