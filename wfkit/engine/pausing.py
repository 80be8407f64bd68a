"""Pause and resume a run, or every run of a workflow (issue 17, item 4).

A pause is a flag beside the run's status, not a status of its own: every status transition
stays as it is, ``wfkit list --status RUNNING`` still finds a paused running run, and resume
has nothing to restore. While the flag is up (or the run's workflow is in the store's table of
paused workflows):

- no worker claims the run (``Store.claim`` passes it by, and ``next_wake`` ignores it, so idle
  workers do not wake for it);
- a worker already running it finishes the step in flight and records it; every checkpoint
  reads the flag with the lease fence, so before the next step starts the worker writes a
  ``run_held`` history line and lets go of the lease (``wfkit.engine.core.runner``);
- timers keep running: a sleep, retry delay or event timeout that ends while paused is simply
  due at resume, and the run goes on then. Events sent meanwhile are kept in its inbox.

A workflow pause holds runs created after it too (they are created, queued as PENDING, and
wait); it lives in the store, so it holds across worker processes and restarts.
"""

from __future__ import annotations

from datetime import datetime

from wfkit.engine.core import history_entries as he
from wfkit.engine.ids import check_id
from wfkit.engine.store.base import Checkpoint, RunRecord, Store
from wfkit.errors import InvalidRunState, UsageError


def pause_run(store: Store, run: RunRecord, now: datetime) -> bool:
    """Pause ``run``; False, writing nothing, when it is paused already. A finished run is an
    :class:`InvalidRunState` (nothing of it could start any more)."""
    if run.status.terminal:
        raise InvalidRunState(
            f"run {run.id!r} already ended {run.status.value}; there is nothing to pause",
            run_id=run.id,
            status=run.status.value,
            hint="only runs that have not finished can be paused",
        )
    if run.paused:
        return False
    store.commit(
        run.id,
        Checkpoint(
            run={"paused": True, "updated_at": now},
            history=[he.run_entry(run.id, now, "run_paused", status=run.status.value)],
        ),
    )
    return True


def resume_run(store: Store, run: RunRecord, now: datetime) -> None:
    """Lift ``run``'s pause: it is claimable again (a timer that ended meanwhile is due now).
    A run that is not paused is an :class:`InvalidRunState`: nothing is written."""
    if not run.paused:
        paused = store.paused_workflows()
        hint = (
            f"its workflow {run.workflow!r} is paused: resume it with --workflow"
            if run.workflow in paused
            else "pause it first with `wfkit pause`"
        )
        raise InvalidRunState(
            f"run {run.id!r} is not paused (it is {run.status.value})",
            run_id=run.id,
            status=run.status.value,
            hint=hint,
        )
    store.commit(
        run.id,
        Checkpoint(
            run={"paused": False, "updated_at": now},
            history=[he.run_entry(run.id, now, "run_resumed", status=run.status.value)],
        ),
    )


def pause_workflow(store: Store, workflow: str, now: datetime) -> bool:
    """Pause every run of ``workflow``, those not created yet too; False when it was paused
    already (nothing written)."""
    check_id(workflow, "workflow name", hint="give the workflow's name, as `wfkit list` shows")
    return store.set_workflow_paused(workflow, True, now)


def resume_workflow(store: Store, workflow: str, now: datetime) -> None:
    """Lift ``workflow``'s pause; a workflow that is not paused is a :class:`UsageError`."""
    check_id(workflow, "workflow name", hint="give the workflow's name, as `wfkit list` shows")
    if not store.set_workflow_paused(workflow, False, now):
        paused = sorted(store.paused_workflows())
        raise UsageError(
            f"workflow {workflow!r} is not paused",
            hint="paused workflows: " + ", ".join(paused) if paused else "no workflow is paused",
        )
