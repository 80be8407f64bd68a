"""The lifecycle of version gates: which branches of ``ctx.patched()`` runs in flight still need.

A gate ``if ctx.patched("id"):`` is added so runs recorded before a change keep replaying the
old code. It can go in two steps, each safe only once the store says so:

- **delete the old branch** (keep ``if ctx.patched("id"):`` and its new branch) once no run in
  flight may still replay the old branch. ``ctx.patched`` returns False only to a run that has
  another operation recorded where the gate now stands, that is a run recorded past that point
  by code without the gate; it records nothing then. So such runs are recognised by what they
  lack: a run of the workflow in flight, without the gate's marker, started before the gate
  existed. The gate's deploy time is not in the store; the first marker any run recorded for
  it stands in (finished runs count, until pruned). Until some run has recorded the marker,
  every unmarked run in flight may need the old branch. Some of these runs have not reached
  the gate yet and will take the new branch when they do: the count is an upper bound.
- **remove the gate** (the call itself) once no run in flight recorded its marker, since the
  marker is an operation of the run's history that code without the call no longer meets
  (a non-determinism error), and no run in flight could still record one: a run of the
  workflow in flight that has not passed the gate yet records the marker when it does,
  possibly before the deploy that removes the call lands. A gate on a workflow that always
  has runs in flight is removed after draining them (or never: a gate costs one row per run).

Runs in flight are the runs not finished (``RunStatus.terminal``). Finished runs are never
replayed by the engine; ``wfkit replay`` of exported histories is up to whoever keeps them.
The engine knows gates only from the store (markers recorded); gates in code that no run has
reached yet come from the caller (``wfkit patches`` reads them from the code, statically).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from wfkit.engine.status import TERMINAL, RunStatus
from wfkit.engine.store.base import PatchMark, RunRecord, Store

__all__ = ["GateReport", "GateVerdict", "gate_reports"]


class GateVerdict(str, Enum):
    """What may be done with a gate now, strictest first."""

    OLD_BRANCH_NEEDED = "old-branch-needed"
    DELETE_OLD_BRANCH = "delete-old-branch"
    REMOVE_GATE = "remove-gate"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class GateReport:
    """One gate of one workflow, as the store sees it.

    ``marked``: runs in flight that recorded the marker (they need the call kept).
    ``needs_old_branch``: runs in flight without the marker, started before ``first_marked_at``
    (all unmarked runs in flight when no run recorded it yet): they may replay the old branch.
    ``may_reach``: the other runs of the workflow in flight (started after the first marker,
    not past the gate yet): they record the marker when they pass it.
    """

    workflow: str
    patch_id: str
    marked: int
    needs_old_branch: int
    may_reach: int
    oldest_needing: datetime | None  # when the oldest run that may need the old branch started
    first_marked_at: datetime | None  # the first marker in the store (any run, finished too)

    @property
    def verdict(self) -> GateVerdict:
        if self.needs_old_branch:
            return GateVerdict.OLD_BRANCH_NEEDED
        if self.marked or self.may_reach:
            return GateVerdict.DELETE_OLD_BRANCH
        return GateVerdict.REMOVE_GATE

    @property
    def summary(self) -> str:
        """The verdict in words, with the numbers behind it."""
        verdict = self.verdict
        if verdict is GateVerdict.OLD_BRANCH_NEEDED:
            assert self.oldest_needing is not None
            return (
                f"old branch still needed ({_runs(self.needs_old_branch)}, oldest started "
                f"{self.oldest_needing.isoformat(timespec='seconds')})"
            )
        if verdict is GateVerdict.DELETE_OLD_BRANCH:
            waiting = []
            if self.marked:
                waiting.append(f"{_runs(self.marked)} recorded the marker")
            if self.may_reach:
                waiting.append(f"{_runs(self.may_reach)} may still pass it")
            return f"safe to delete the old branch; keep the gate ({'; '.join(waiting)})"
        return "safe to remove the gate"


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def gate_reports(
    store: Store,
    gates: Iterable[tuple[str, str]] = (),
    *,
    workflows: Collection[str] | None = None,
) -> list[GateReport]:
    """A report per gate, sorted by workflow and id: the ``(workflow, patch id)`` pairs given
    (the gates in the code) and every gate some run recorded a marker for. ``workflows``, when
    given, keeps only the gates of those workflows (the code read covers only them)."""
    wanted = set(gates)
    marks = store.patch_marks()
    wanted.update((mark.workflow, mark.patch_id) for mark in marks)
    if workflows is not None:
        wanted = {gate for gate in wanted if gate[0] in workflows}
    live = _live_runs(store, {workflow for workflow, _ in wanted})
    return [_report(workflow, patch_id, marks, live) for workflow, patch_id in sorted(wanted)]


def _live_runs(store: Store, workflows: set[str]) -> dict[str, list[RunRecord]]:
    """The runs in flight of these workflows, oldest first."""
    live: dict[str, list[RunRecord]] = {workflow: [] for workflow in workflows}
    for status in sorted(set(RunStatus) - TERMINAL, key=lambda s: s.value):
        for workflow in sorted(workflows):
            live[workflow] += store.list_runs(status=status, workflow=workflow)
    for runs in live.values():
        runs.sort(key=lambda r: (r.created_at, r.id))
    return live


def _report(
    workflow: str, patch_id: str, marks: list[PatchMark], live: dict[str, list[RunRecord]]
) -> GateReport:
    mine = [m for m in marks if m.workflow == workflow and m.patch_id == patch_id]
    times = [m.marked_at or m.created_at for m in mine]
    first = min(times) if times else None
    marked_runs = {m.run_id for m in mine if not m.status.terminal}
    unmarked = [r for r in live.get(workflow, []) if r.id not in marked_runs]
    needing = [r for r in unmarked if first is None or r.created_at < first]
    return GateReport(
        workflow=workflow,
        patch_id=patch_id,
        marked=len(marked_runs),
        needs_old_branch=len(needing),
        may_reach=len(unmarked) - len(needing),
        oldest_needing=needing[0].created_at if needing else None,
        first_marked_at=first,
    )
