"""Creating the run :meth:`Engine.start` asks for: its id (given, from the workflow's
``workflow_id`` template, or a UUID), its queue entry, its first history line, idempotent on
the workflow id.

Kept apart from :mod:`wfkit.engine.engine`, which registers the workflow first and makes the
handle from what this returns; the run record itself is built by
:func:`wfkit.engine.core.starting.new_run`, as for a child workflow.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from wfkit.engine.core import history_entries as he
from wfkit.engine.core.runtime import Runtime
from wfkit.engine.core.starting import new_run
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.ids import MAX_ID_LENGTH, check_id
from wfkit.engine.queues import DuplicateQueued, Queue, QueueDeduplicated, check_enqueue
from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import RunRecord


def start_run(
    rt: Runtime,
    queues: dict[str, Queue],
    workflow: WorkflowDef[Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    workflow_id: str | None,
    queue: Queue | str | None,
    queue_key: str | None,
    queue_priority: int,
    queue_dedup_key: str | None,
    seeds: random.Random,
) -> tuple[RunRecord, bool]:
    """The run, and True when this call created it; else the run that had the id already
    (False), which the caller checks is of ``workflow``. ``seeds`` gives the new run's seed."""
    if workflow_id is not None:
        check_id(workflow_id, "workflow_id")
    entry = check_enqueue(
        queues,
        workflow.queue if queue is None else queue,
        queue_key,
        queue_priority,
        queue_dedup_key,
    )
    now: datetime = rt.clock.now()
    try:
        # Without workflow_id, the workflow's own workflow_id template or a UUID names it.
        run, _ = new_run(
            rt,
            workflow,
            args,
            kwargs,
            workflow_id,
            now,
            seed=seeds.getrandbits(63),
        )
        if workflow_id is None and workflow.run_id_template is not None:
            check_id(
                run.id,
                f"run id made by the workflow_id of workflow {workflow.name!r}",
                hint="make the workflow_id give at most "
                f"{MAX_ID_LENGTH} printable characters for this input, or pass "
                "an explicit id (workflow_id=... / wfkit run --id)",
            )
    except Exception:
        # Starting an existing run again needs no input (`wfkit run --id ID` resumes it):
        # looked up only here, so the common start costs one statement less.
        existing = None if workflow_id is None else rt.store.get_run(workflow_id)
        if existing is None:
            raise
        return existing, False
    # The input is stored once, in the run; its history line does not repeat it.
    history = [
        he.run_entry(
            run.id,
            now,
            "run_started",
            workflow=workflow.name,
            version=workflow.version,
            seed=run.seed,
        )
    ]
    if entry is None:
        stored, created = rt.store.create_run(run, history)
    else:
        run.status = RunStatus.QUEUED
        try:
            stored, created = rt.store.create_run(run, history, queue=entry)
        except DuplicateQueued as dup:
            raise QueueDeduplicated(dup.queue, dup.dedup_key, dup.run_id) from None
    return (run, True) if created else (stored, False)
