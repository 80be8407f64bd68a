"""Workflow and step discovery: what a ``def`` or ``class`` is in each dialect.

One answer per definition, from its decorators (resolved through imports and aliases by the
caller's :class:`~wfkit.static.resolver.Resolver`) and the dialect tables in
:mod:`wfkit.static.knowledge`:

- ``workflow`` (with its dialect): ``@wfkit.workflow``, ``@DBOS.workflow()``, a Temporal
  ``@workflow.run`` / signal / query / update handler or validator, and the ``__init__`` of a
  ``@workflow.defn`` class (it runs inside the workflow, on every replay);
- ``step``: ``@wfkit.step``, ``@activity.defn``, ``@DBOS.step()`` / ``@DBOS.transaction()``,
  and a ``@<step>.compensation`` (it runs as a step);
- ``helper``: anything else; whether a helper is workflow code is the call graph's question
  (:mod:`wfkit.static.callgraph`).

A Temporal workflow can also register handlers at run time (``workflow.set_signal_handler(
name, fn)`` and its query, update and dynamic siblings): :func:`registered_handlers` names the
callables such a call passes, which the analyzer then counts as called by the registering code.

Projects name their own decorators in ``extra-workflow-decorators`` / ``extra-step-decorators``
(the linter's configuration); they are matched by qualified name or as written.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from wfkit.static import knowledge as kn
from wfkit.static.resolver import dotted

Resolve = Callable[[cst.BaseExpression], "str | None"]


def decorator_callee(decorator: cst.Decorator) -> cst.BaseExpression:
    """The decorator's callable: ``@x.y(...)`` -> ``x.y``."""
    expr = decorator.decorator
    return expr.func if isinstance(expr, cst.Call) else expr


def function_kind(
    node: cst.FunctionDef,
    resolve: Resolve,
    in_temporal_class: bool = False,
    extra_workflow: frozenset[str] = frozenset(),
    extra_step: frozenset[str] = frozenset(),
) -> tuple[str, str]:
    """(kind, dialect) of a function: ``("workflow", dialect)``, ``("step", "")`` or
    ``("helper", "")``; the first decorator that says something decides."""
    for decorator in node.decorators:
        expr = decorator_callee(decorator)
        if isinstance(expr, cst.Attribute) and expr.attr.value == "compensation":
            return "step", ""
        text = dotted(expr)
        qual = resolve(expr) or text
        if qual in kn.WORKFLOW_DECORATORS:
            return "workflow", kn.WORKFLOW_DECORATORS[qual]
        if qual in extra_workflow or text in extra_workflow:
            return "workflow", kn.WFKIT
        if qual in kn.STEP_DECORATORS or qual in extra_step or text in extra_step:
            return "step", ""
        if qual in kn.TEMPORAL_HANDLER_DECORATORS or (
            in_temporal_class and isinstance(expr, cst.Attribute) and expr.attr.value == "validator"
        ):
            return "workflow", kn.TEMPORAL  # also in a base class the defn class extends
    if in_temporal_class and node.name.value == "__init__":
        return "workflow", kn.TEMPORAL  # runs inside the workflow, on every replay
    return "helper", ""


def is_temporal_workflow_class(node: cst.ClassDef, resolve: Resolve) -> bool:
    """Is the class decorated ``@workflow.defn`` (Temporal's workflow class)?"""
    return any(
        (resolve(decorator_callee(d)) or "") == kn.TEMPORAL_CLASS_DECORATOR for d in node.decorators
    )


def registered_handlers(call: cst.Call, qual: str) -> list[cst.BaseExpression]:
    """The callables (handler, update validator) a Temporal ``set_*_handler`` call registers,
    positional or keyword; empty for any other call. Positions are not trusted after a
    ``*args``."""
    spec = kn.TEMPORAL_HANDLER_SETTERS.get(qual)
    if spec is None:
        return []
    positional: list[cst.BaseExpression] = []
    keywords: dict[str, cst.BaseExpression] = {}
    for arg in call.args:
        if arg.keyword is not None:
            keywords[arg.keyword.value] = arg.value
        elif arg.star:
            if arg.star == "*":
                positional.append(cst.Ellipsis())  # positions after it are unknown
                break
        else:
            positional.append(arg.value)
    out = []
    for index, keyword in spec:
        if keyword in keywords:
            out.append(keywords[keyword])
        elif index is not None and index < len(positional):
            out.append(positional[index])
    return [value for value in out if not isinstance(value, cst.Ellipsis)]
