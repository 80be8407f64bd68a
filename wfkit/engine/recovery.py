"""Recovery after a crash: wake parents whose child's wake-up note was lost, and advance every
runnable run now, taking over runs whose worker's lease expired (``wfkit recover``).

Kept apart from :mod:`wfkit.engine.engine`, whose ``wake_orphaned_parents`` and ``recover``
call these; a worker does the same work continuously through its claims.
"""

from __future__ import annotations

import json
from datetime import timedelta

from wfkit.engine.claimed import ClaimedRuns
from wfkit.engine.core.runtime import Runtime
from wfkit.engine.core.waits import CHILD_EVENT
from wfkit.engine.status import OpKind, OpStatus, RunStatus


def wake_orphaned_parents(rt: Runtime) -> list[str]:
    """Wake parents whose child finished while its wake-up note was lost in a crash."""
    store = rt.store
    woken = []
    for parent in store.list_runs(status=RunStatus.WAITING):
        for op in store.operations(parent.id):
            if op.kind != OpKind.CHILD or op.status != OpStatus.STARTED:
                continue
            child = store.get_run(json.loads(op.result or "null"))
            if child is not None and child.status.terminal:
                store.add_event(parent.id, CHILD_EVENT.format(seq=op.seq), "null", rt.clock.now())
                woken.append(parent.id)
    return sorted(set(woken))


def recover(rt: Runtime, claimed_runs: ClaimedRuns, workflows: list[str]) -> list[str]:
    """Advance every runnable run of ``workflows`` now, one at a time, taking over runs whose
    worker's lease expired; the ids of the runs advanced, in order."""
    wake_orphaned_parents(rt)
    done: list[str] = []
    while True:
        now = rt.clock.now()
        claimed = rt.store.claim(
            rt.owner,
            now,
            now + timedelta(seconds=rt.lease_seconds),
            workflows=workflows,
        )
        if not claimed:
            return done
        claimed_runs.process(claimed[0], now)
        done.append(claimed[0].id)
