"""``crash_matrix``: crash at every durable operation, at every point, and recover each.

Where ``verify`` samples plans, the matrix is exhaustive and small: for each operation of the
happy path it crashes before the effect, after the effect (before the checkpoint) and after the
checkpoint; if the workflow has compensations it also takes the rollback path (the last step
fails for good) and crashes inside each compensation. Each cell resumes and is checked with the
same properties as ``verify``. The table is returned; a violation raises VerificationError with
the table and the first failing cell's timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wfkit.engine.core.numbering import seq_label
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.status import OpKind
from wfkit.errors import DefinitionError
from wfkit.testing.context import TestWorkflowContext
from wfkit.testing.plan import CRASH_POINTS, Crash, Failure, Plan
from wfkit.testing.verification import Checker, VerificationError, _outcome
from wfkit.testing.virtual_time import FrozenTime, parse_start


@dataclass(frozen=True)
class MatrixCell:
    seq: int
    kind: str
    name: str
    point: str
    outcome: str
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class CrashMatrix:
    workflow: str
    cells: list[MatrixCell] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(cell.ok for cell in self.cells)

    def __str__(self) -> str:
        header = f"{'op':>4}  {'kind':<12} {'name':<24} {'crash point':<18} {'outcome':<28} check"
        lines = [f"crash matrix of {self.workflow}", header, "-" * len(header)]
        for c in self.cells:
            lines.append(
                f"{seq_label(c.seq):<4}  {c.kind:<12} {c.name[:24]:<24} {c.point:<18} "
                f"{c.outcome[:28]:<28} {'ok' if c.ok else 'FAIL: ' + c.problems[0]}"
            )
        return "\n".join(lines)


def crash_matrix(
    workflow: WorkflowDef[Any],
    *args: Any,
    mocks: Mapping[Any, Any] | None = None,
    setup: Callable[[], Any] | None = None,
    invariant: Callable[[TestWorkflowContext], Any] | None = None,
    start: str | datetime | None = None,
    require_idempotent: bool = False,
    downtime: float = 60.0,
    kwargs: Mapping[str, Any] | None = None,
) -> CrashMatrix:
    """Crash at every operation and point, recover, check; return the table of outcomes."""
    if not isinstance(workflow, WorkflowDef):
        raise DefinitionError(f"crash_matrix needs a @workflow, got {type(workflow).__name__}")
    checker = Checker(
        workflow, args, dict(kwargs or {}), mocks or {}, setup, invariant, start, require_idempotent
    )
    table = CrashMatrix(workflow.name)
    first_failure: tuple[Plan, Any, list[str]] | None = None
    with FrozenTime(parse_start(start)) as frozen:
        checker.frozen = frozen
        happy, problems = checker.evaluate(Plan())
        if problems:
            raise VerificationError(
                workflow.name, Plan(), problems, checker.report(Plan(), happy, problems)
            )
        paths = [(Plan(), _ops(happy.ctx))]
        rollback = _rollback_plan(happy.ctx)
        if rollback is not None:
            failed, problems = checker.evaluate(rollback)
            if problems:
                raise VerificationError(
                    workflow.name, rollback, problems, checker.report(rollback, failed, problems)
                )
            paths.append(
                (rollback, [op for op in _ops(failed.ctx) if op.kind == OpKind.COMPENSATION])
            )
        for base, ops in paths:
            for op in ops:
                points: Sequence[str] = (
                    ("after",) if op.kind == OpKind.COMPENSATION else CRASH_POINTS
                )
                for point in points:
                    plan = Plan(failures=base.failures, crashes=(Crash(op.seq, point, downtime),))
                    run, problems = checker.evaluate(plan)
                    label = "inside" if op.kind == OpKind.COMPENSATION else point
                    table.cells.append(
                        MatrixCell(
                            op.seq,
                            op.kind.value,
                            op.name,
                            label,
                            _outcome(run.outcome),
                            tuple(problems),
                        )
                    )
                    if problems and first_failure is None:
                        first_failure = (plan, run, problems)
    if first_failure is not None:
        plan, run, problems = first_failure
        raise VerificationError(
            workflow.name, plan, problems, f"{table}\n\n{checker.report(plan, run, problems)}"
        )
    return table


def _ops(ctx: TestWorkflowContext) -> list[Any]:
    return ctx.store.operations(ctx.run_id) if ctx.run_id else []


def _rollback_plan(ctx: TestWorkflowContext) -> Plan | None:
    """Fail the last body step for good, so every compensation of the happy path runs."""
    if ctx.replayed is None or not ctx.replayed.compensable:
        return None
    steps = [op.seq for op in _ops(ctx) if op.kind == OpKind.STEP]
    if not steps:
        return None
    return Plan(failures=(Failure(steps[-1], None),))
