"""Forking a run: a new run that keeps a recorded run's results before one of its operations
and executes from there on the current code (after a bug fix, say).

The fork is made of what replay already trusts. It gets the original's input (or a new one),
its seed (``ctx.random()`` and ``ctx.uuid4()`` give the same values again) and a copy of
every operation numbered below ``from_step``, with their history lines: when a worker runs it,
the body replays those operations from the copies, exactly as after a crash, and the first
operation at ``from_step`` or later is executed for real. A body that no longer makes the
copied operations in that order meets a NonDeterminismError, as a crash-recovered run would.

Operation numbers are those ``wfkit show`` prints (``#3``); compensations are never copied
(they undo; the fork has nothing to undo yet).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from wfkit.engine.core import history_entries as he
from wfkit.engine.core.numbering import COMPENSATION_SEQ_BASE, seq_label
from wfkit.engine.core.runtime import Runtime
from wfkit.engine.core.starting import decode_input, encode_input
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.ids import MAX_ID_LENGTH, check_id
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import (
    Checkpoint,
    HistoryEntry,
    OperationRecord,
    RunRecord,
)
from wfkit.errors import UsageError

__all__ = ["ForkPlan", "plan_fork", "fork_records", "default_fork_id", "make_fork"]

_DONE = (OpStatus.COMPLETED, OpStatus.SKIPPED)


@dataclass(frozen=True)
class ForkPlan:
    """What forking ``run_id`` from ``from_step`` keeps and what runs again."""

    run_id: str
    workflow: str
    from_step: int
    kept: tuple[OperationRecord, ...]  # their recorded results are reused
    again: tuple[OperationRecord, ...]  # recorded at from_step or later: they run again

    @property
    def steps_again(self) -> list[str]:
        """The steps (side effects) the original ran at ``from_step`` or later, as
        ``#4 charge``; the fork's own path may differ, on the current code."""
        return [f"{seq_label(op.seq)} {op.name}" for op in self.again if op.kind == OpKind.STEP]


def plan_fork(run: RunRecord, ops: Sequence[OperationRecord], from_step: int | None) -> ForkPlan:
    """The plan, or a UsageError saying why this fork cannot be made. ``from_step`` None
    forks from the run's first operation that did not complete (its failed step)."""
    body = sorted((op for op in ops if op.seq < COMPENSATION_SEQ_BASE), key=lambda op: op.seq)
    if from_step is None:
        unfinished = [op.seq for op in body if op.status not in _DONE]
        if not unfinished:
            raise UsageError(
                f"run {run.id!r} has no operation that did not complete to fork from",
                hint="name one with --from-step N (the numbers `wfkit show` prints)",
            )
        from_step = unfinished[0]
    if isinstance(from_step, bool) or not isinstance(from_step, int) or from_step < 1:
        raise UsageError(
            f"from_step must be an operation number >= 1, got {from_step!r}",
            hint="the numbers `wfkit show RUN_ID` prints, e.g. 3 for #3",
        )
    last = body[-1].seq if body else 0
    if from_step > last + 1:
        raise UsageError(
            f"run {run.id!r} has recorded operations #1 to #{last}; it cannot be forked from "
            f"#{from_step}",
            hint=f"fork from #{last + 1} at most (everything recorded kept)",
        )
    kept = tuple(op for op in body if op.seq < from_step)
    for op in kept:
        if op.status not in _DONE:
            raise UsageError(
                f"operation {seq_label(op.seq)} ({op.kind.value} {op.name!r}) of run {run.id!r} "
                f"is {op.status.value}: a fork can only keep completed operations",
                hint=f"fork from #{op.seq} or earlier",
            )
    again = tuple(op for op in body if op.seq >= from_step)
    return ForkPlan(run.id, run.workflow, from_step, kept, again)


def default_fork_id(run_id: str) -> str:
    """``<run>-fork-<8 hex>``: a new id each time, shortened to fit the id limit."""
    suffix = f"-fork-{uuid.uuid4().hex[:8]}"
    return run_id[: MAX_ID_LENGTH - len(suffix)] + suffix


def fork_records(
    run: RunRecord,
    plan: ForkPlan,
    history: Sequence[HistoryEntry],
    *,
    new_id: str,
    input_text: str | None,
    version: int,
    now: datetime,
) -> tuple[RunRecord, list[HistoryEntry], Checkpoint]:
    """The new run's record and first history line, and the checkpoint that copies the
    kept operations and their history lines into it."""
    check_id(new_id, "fork id")
    record = RunRecord(
        id=new_id,
        workflow=run.workflow,
        version=version,
        status=RunStatus.PENDING,
        input=input_text if input_text is not None else run.input,
        seed=run.seed,
        created_at=now,
        updated_at=now,
    )
    started = he.run_entry(
        new_id,
        now,
        "run_started",
        workflow=run.workflow,
        version=version,
        seed=run.seed,
        forked_from=run.id,
        from_step=plan.from_step,
    )
    kept_seqs = {op.seq for op in plan.kept}
    copied = [
        replace(entry, run_id=new_id, index=0, op=None)
        for entry in history
        if entry.seq is not None and entry.seq in kept_seqs
    ]
    ops = [replace(op, run_id=new_id) for op in plan.kept]
    return record, [started], Checkpoint(operations=ops, history=copied)


def make_fork(
    rt: Runtime,
    run: RunRecord,
    plan: ForkPlan,
    wf: WorkflowDef[Any] | None,
    *,
    args: Sequence[Any] | None,
    kwargs: dict[str, Any] | None,
    workflow_id: str | None,
) -> str:
    """Write the fork ``plan`` of ``run`` to the store: its record, then its copied
    operations; the new run's id. ``wf``: the run's workflow when it is loaded here (needed
    to bind a new input ``args``/``kwargs``, else its code version is the original's)."""
    input_text = None
    if args is not None or kwargs is not None:
        if wf is None:
            raise UsageError(
                f"workflow {run.workflow!r} is not loaded here: its new input cannot be bound",
                hint="load the module that defines it, or fork with the recorded input",
            )
        input_text = encode_input(rt, wf, tuple(args or ()), dict(kwargs or {}))
        decode_input(rt, wf, input_text)
    new_id = workflow_id if workflow_id is not None else default_fork_id(run.id)
    record, started, copy = fork_records(
        run,
        plan,
        rt.store.history(run.id),
        new_id=new_id,
        input_text=input_text,
        version=wf.version if wf is not None else run.version,
        now=rt.clock.now(),
    )
    # Created leased to this engine, so no worker claims it before its copied operations
    # are in: a run claimed without them would run its first steps again.
    now = rt.clock.now()
    held = replace(record, lease_owner=rt.owner, lease_expires_at=now + timedelta(seconds=60))
    _, created = rt.store.create_run(held, started)
    if not created:
        raise UsageError(
            f"a run named {new_id!r} exists already", hint="choose another id for the fork"
        )
    rt.store.commit(new_id, replace(copy, release_lease=True), lease_owner=rt.owner, now=now)
    return new_id
