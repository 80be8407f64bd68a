"""Two manual interventions on a stored run (issue 17, item 4): ``cancel --force`` and
``retry --input``. Kept apart from :mod:`wfkit.engine.engine`, whose ``cancel`` and ``retry``
call them after their own checks (the run exists, its status allows it).
"""

from __future__ import annotations

import json
from typing import Any

from wfkit.engine.clock import Clock
from wfkit.engine.core import history_entries as he
from wfkit.engine.core.runner import parent_note
from wfkit.engine.core.runtime import Runtime
from wfkit.engine.core.starting import decode_input, encode_input
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import CancelRequested, Checkpoint, RunRecord, Store
from wfkit.errors import InvalidRunState


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
