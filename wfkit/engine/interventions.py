"""Manual interventions on a stored run: ``cancel --force``, ``retry`` (from its checkpoints
or with a new input) and ``skip-step``. Kept apart from :mod:`wfkit.engine.engine`, whose
``cancel``, ``retry`` and ``skip_step`` call them after their own checks (the run exists, its
status allows it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from wfkit.engine.clock import Clock
from wfkit.engine.core import history_entries as he
from wfkit.engine.core.failures import error_data
from wfkit.engine.core.runner import parent_note
from wfkit.engine.core.runtime import Runtime
from wfkit.engine.core.starting import decode_input, encode_input
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import CancelRequested, Checkpoint, OperationRecord, RunRecord, Store
from wfkit.errors import InvalidRunState


def require_failed(run: RunRecord, hint: str) -> None:
    """The check ``retry`` and ``skip_step`` make first: only a FAILED run waits for a person
    (an :class:`InvalidRunState` with ``hint`` otherwise)."""
    if run.status != RunStatus.FAILED:
        raise InvalidRunState(
            f"run {run.id!r} is {run.status.value}, not FAILED",
            run_id=run.id,
            status=run.status.value,
            hint=hint,
        )


def force_cancel(store: Store, clock: Clock, run: RunRecord) -> None:
    """``cancel --force``: the run (its live children first) is ``CANCELLED`` in one commit,
    not fenced by any lease: no compensation runs and no worker is waited for. A worker
    still holding the run finds its lease gone at its next checkpoint (``LeaseLost``): the
    step it was running may still finish its side effect, but its result is discarded."""
    for child in store.list_runs(parent_id=run.id):
        if not child.status.terminal:
            force_cancel(store, clock, child)
    now = clock.now()
    if not run.cancel_requested:
        # First the cancel flag, as a plain cancel writes it: from here the run's worker
        # cannot complete it (its last commit is refused once the flag is up), so a run
        # that completed just before is found below and not overwritten.
        try:
            store.commit(
                run.id,
                Checkpoint(
                    run={"cancel_requested": True, "compensate_on_cancel": False},
                    unless_cancelled=True,
                ),
            )
        except CancelRequested:
            pass
        fresh = store.get_run(run.id)
        run = fresh if fresh is not None else run
        if run.status.terminal:
            raise InvalidRunState(
                f"run {run.id!r} already ended {run.status.value}",
                run_id=run.id,
                status=run.status.value,
                hint="only runs that have not finished can be cancelled",
            )
    store.commit(
        run.id,
        Checkpoint(
            run={
                "status": RunStatus.CANCELLED,
                "cancel_requested": True,
                "compensate_on_cancel": False,
                "paused": False,
                "finished_at": now,
                "wake_at": None,
                "updated_at": now,
            },
            history=[
                he.run_entry(
                    run.id,
                    now,
                    "run_cancelled",
                    forced=True,
                    previous_status=run.status.value,
                    previous_owner=run.lease_owner,
                )
            ],
            release_lease=True,
            send_events=parent_note(run),
        ),
        now=now,
    )


def retry_with_input(
    rt: Runtime,
    wf: WorkflowDef[Any],
    run: RunRecord,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """Resume FAILED ``run`` forward with a new input bound as the workflow's input.

    Recorded steps keep their recorded results (replay matches them by position and name, not
    arguments); the failed step, when it is the run's last body operation, and every
    compensation record are discarded, so the failed step and the rest run with the new
    input. Work already undone cannot roll forward: a completed compensation refuses it. The
    input is bound and checked before anything is written.
    """
    text = encode_input(rt, wf, args, kwargs)
    decode_input(rt, wf, text)
    ops = rt.store.operations(run.id)
    undone = sorted(
        {
            op.name
            for op in ops
            if op.kind == OpKind.COMPENSATION
            and op.status in (OpStatus.COMPLETED, OpStatus.SKIPPED)
        }
    )
    if undone:
        raise InvalidRunState(
            f"compensations already ran for {', '.join(undone)} in run {run.id!r}, so it "
            "cannot be resumed forward with a new input",
            run_id=run.id,
            status=run.status.value,
            hint="fork it with the new input instead (wfkit fork ID --input JSON)",
        )
    body = [op for op in ops if op.kind != OpKind.COMPENSATION]
    last = max(body, key=lambda op: op.seq) if body else None
    discard = [op.seq for op in ops if op.kind == OpKind.COMPENSATION]
    if last is not None and last.status == OpStatus.FAILED:
        discard.append(last.seq)
    now = rt.clock.now()
    rt.store.commit(
        run.id,
        Checkpoint(
            run={
                "status": RunStatus.PENDING,
                "error": None,
                "recoveries": 0,
                "input": text,
                "finished_at": None,
                "wake_at": None,
                "updated_at": now,
            },
            discard_operations=sorted(discard),
            history=[
                he.run_entry(
                    run.id, now, "run_retried", discarded=sorted(discard), input=json.loads(text)
                )
            ],
        ),
    )


def retry_from_checkpoints(store: Store, clock: Clock, run: RunRecord) -> None:
    """Resume FAILED ``run`` from its checkpoints: a failed compensation is tried again (the
    run goes back to COMPENSATING with its original error), else the run is PENDING again and
    its failed step runs anew."""
    data = error_data(run.error)
    ops = store.operations(run.id)
    now = clock.now()
    if str(data.get("during", "")).startswith("compensation"):
        failed = [
            op.seq for op in ops if op.kind == OpKind.COMPENSATION and op.status == OpStatus.FAILED
        ]
        changes: dict[str, Any] = {
            "status": RunStatus.COMPENSATING,
            "error": json.dumps(data.get("original")) if data.get("original") else run.error,
        }
    else:
        failed = []
        changes = {"status": RunStatus.PENDING, "error": None, "recoveries": 0}
    changes.update(finished_at=None, wake_at=None, updated_at=now)
    store.commit(
        run.id,
        Checkpoint(
            run=changes,
            discard_operations=failed,
            history=[he.run_entry(run.id, now, "run_retried", discarded=failed)],
        ),
    )


def skip_failed_step(rt: Runtime, run: RunRecord, step: str, result: Any) -> None:
    """``skip-step``: record ``result`` by hand for the failed step (or compensation) named
    ``step`` of FAILED ``run``, which then goes on (a step: forward, unless compensations
    already ran; a compensation: the rest of the compensation)."""
    ops = rt.store.operations(run.id)
    data = error_data(run.error)
    # A failed step, or one skipped before with a value that turned out not to fit.
    failed = [
        op
        for op in ops
        if op.name == step
        and (
            op.status == OpStatus.FAILED
            or (op.status == OpStatus.SKIPPED and data.get("type") == "RecordedValueError")
        )
    ]
    if not failed:
        names = sorted({op.name for op in ops if op.status == OpStatus.FAILED})
        raise InvalidRunState(
            f"step {step!r} did not fail in run {run.id!r}",
            run_id=run.id,
            status=run.status.value,
            hint=f"failed steps: {', '.join(names)}"
            if names
            else "no step of this run failed; try `wfkit retry`",
        )
    op = failed[-1]
    now = rt.clock.now()
    if op.kind == OpKind.COMPENSATION:
        skipped = _skipped(op, None, now)
        changes: dict[str, Any] = {
            "status": RunStatus.COMPENSATING,
            "error": json.dumps(data["original"]) if data.get("original") else run.error,
        }
        discard: Sequence[int] = ()
    else:
        undone = [
            c.name
            for c in ops
            if c.kind == OpKind.COMPENSATION and c.status in (OpStatus.COMPLETED, OpStatus.SKIPPED)
        ]
        if undone:
            raise InvalidRunState(
                f"compensations already ran for {', '.join(undone)} in run {run.id!r}, so "
                f"step {step!r} cannot be rolled forward",
                run_id=run.id,
                status=run.status.value,
                hint="skip the failed compensation instead",
            )
        text = rt.codec.encode(result, where=f"result given for step {step!r}")
        skipped = _skipped(op, text, now)
        changes = {"status": RunStatus.PENDING, "error": None}
        discard = [c.seq for c in ops if c.kind == OpKind.COMPENSATION]
    changes.update(finished_at=None, wake_at=None, updated_at=now)
    rt.store.commit(
        run.id,
        Checkpoint(
            run=changes,
            operations=[skipped],
            discard_operations=discard,
            history=[
                he.op_entry("step_skipped", skipped),
                he.run_entry(run.id, now, "run_repaired", step=step, discarded=list(discard)),
            ],
        ),
    )


def _skipped(op: OperationRecord, result: str | None, now: datetime) -> OperationRecord:
    return replace(op, status=OpStatus.SKIPPED, result=result, finished_at=now)
