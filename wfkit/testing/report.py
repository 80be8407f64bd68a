"""What a failing ``verify`` prints: the run as a timeline, and a regression test that runs
as pasted (its imports included)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from wfkit.engine.core.numbering import seq_label
from wfkit.engine.definitions import WorkflowDef
from wfkit.testing.context import TestWorkflowContext, format_duration
from wfkit.testing.plan import Plan
from wfkit.testing.virtual_time import parse_start

_MAX_DEPTH = 4  # how deep the imports of nested argument values are looked for


def timeline(ctx: TestWorkflowContext) -> list[str]:
    """One line per attempt, fault, crash, resume and wait, in virtual time order."""
    run = ctx.store.get_run(ctx.run_id) if ctx.run_id is not None else None
    start = run.created_at if run is not None else parse_start(None)
    # Ordered by virtual time, then by process (all a crashed process wrote comes before what
    # the process resuming it writes), then by operation number within one instant (resumes
    # first, run-level lines last), then in the order they were written.
    rows: list[tuple[datetime, int, float, int, str]] = []
    for i, (at, seq, text, process) in enumerate(ctx.faults.timeline):
        rows.append((at or start, process, float("inf") if seq is None else seq, i, text))
    shown = {
        "timer_started": "sleep until {wake_at}",
        "timer_fired": "timer fired",
        "wait_started": "waiting for event",
        "event_received": "event received",
        "event_timed_out": "wait timed out",
        "child_started": "child workflow started",
        "child_completed": "child workflow completed",
        "child_failed": "child workflow failed",
        "patch_marked": "patch marked",
        "compensation_started": "compensation started",
        "step_failed": "failed for good",
        "run_completed": "run COMPLETED",
        "run_compensated": "run COMPENSATED",
        "run_failed": "run FAILED",
        "run_cancelled": "run CANCELLED",
    }
    if ctx.run_id is not None:
        last_seq = 0.0
        for entry in ctx.store.history(ctx.run_id):
            # A run-level line (compensation started, run ended) sits just after the operation
            # the log recorded before it.
            rank = last_seq + 0.5 if entry.seq is None else float(entry.seq)
            if entry.seq is not None:
                last_seq = max(last_seq, float(entry.seq))
            template = shown.get(entry.type)
            if template is None:
                continue
            label = (
                f"{seq_label(entry.seq)} {entry.data.get('kind', '')} {entry.name}: "
                if entry.seq is not None
                else ""
            )
            process = 1 + sum(1 for mark in ctx.history_marks if entry.index >= mark)
            rows.append(
                (
                    entry.at,
                    process,
                    rank,
                    10_000 + entry.index,
                    label + template.format(wake_at=entry.data.get("wake_at")),
                )
            )
    rows.sort(key=lambda row: row[:4])
    return [
        f"+{format_duration((at - start).total_seconds()):<8} {text}" for at, _, _, _, text in rows
    ]


def regression_snippet(
    workflow: WorkflowDef[Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    plan: Plan,
    extra: str = "",
) -> list[str]:
    """A test module's lines: imports (wfkit's, the workflow's, those the arguments' reprs
    need), then a test calling ``verify(..., plan=...)`` with exactly that plan (and
    ``extra`` arguments, e.g. the hash seed that exposed the bug)."""
    imports: set[tuple[str, str | None]] = {
        ("wfkit.testing", "Arrival, Crash, Failure, Plan, verify")
    }
    imports.add(_import_of(workflow.fn.__module__, workflow.fn.__name__))
    for value in [*args, *kwargs.values(), *(e.payload for e in plan.events)]:
        imports.update(_imports_for(value, 0))
    lines = sorted(
        f"import {module}" if name is None else f"from {module} import {name}"
        for module, name in imports
        if module != "builtins"
    )
    return [
        *lines,
        "",
        "",
        f"def test_{_identifier(workflow.name)}_regression():",
        f"    verify({workflow.fn.__name__}{_call_args(args, kwargs)}, plan={plan!r}"
        + (f", {extra}" if extra else "")
        + ")",
    ]


def _import_of(module: str, name: str | None) -> tuple[str, str | None]:
    return (module, name)


def _imports_for(value: Any, depth: int) -> Iterable[tuple[str, str | None]]:
    """What ``repr(value)`` names: ``datetime.datetime(...)`` needs ``import datetime``,
    ``Order(id='o-1')`` needs ``from its_module import Order``; containers and dataclass
    fields are followed."""
    if depth > _MAX_DEPTH or value is None or isinstance(value, (bool, int, float, str, bytes)):
        return
    cls = type(value)
    module = cls.__module__
    if repr(value).startswith(f"{module}."):
        yield (module, None)
    elif module != "builtins" and "." not in cls.__qualname__ and module != "__main__":
        yield (module, cls.__qualname__)
    if isinstance(value, Mapping):
        children: Iterable[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        children = value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = [getattr(value, f.name) for f in dataclasses.fields(value)]
    else:
        children = ()
    for child in children:
        yield from _imports_for(child, depth + 1)


def _identifier(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower() or "workflow"


def _call_args(args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return "".join(f", {p}" for p in parts)
