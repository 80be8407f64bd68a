"""Version drift: which code the runs in flight were started on.

A run keeps the code version it started under (``@workflow(version=N)``) and the version
gates it passed (``ctx.patched("id")`` markers) until it ends. Before removing an old code
path, a team needs to see, per workflow, how many runs in flight are still on each version and
set of markers, and how old the oldest is: ``wfkit versions`` / ``engine.versions()``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from wfkit.engine.status import ACTIVE, PARKED, RunStatus
from wfkit.engine.store.base import PatchMark, RunRecord, Store

__all__ = ["VersionGroup", "version_groups"]

# A QUEUED run is in flight too: it will run on the version it was started on.
_LIVE = sorted(ACTIVE | PARKED | {RunStatus.QUEUED}, key=lambda s: s.value)


@dataclass(frozen=True)
class VersionGroup:
    """Runs in flight of one workflow on one code version with one set of gate markers."""

    workflow: str
    version: int
    patches: tuple[str, ...]  # the markers these runs recorded, sorted
    runs: int
    oldest_started: datetime
    oldest_run_id: str
    statuses: dict[str, int]  # how many of them are in each live status


def version_groups(store: Store, workflow: str | None = None) -> list[VersionGroup]:
    """The groups, by workflow, then oldest first."""
    runs = [r for status in _LIVE for r in store.list_runs(status=status, workflow=workflow)]
    return _group(runs, store.patch_marks())


def _group(runs: Iterable[RunRecord], marks: Iterable[PatchMark]) -> list[VersionGroup]:
    marked: dict[str, set[str]] = defaultdict(set)
    for mark in marks:
        marked[mark.run_id].add(mark.patch_id)
    groups: dict[tuple[str, int, tuple[str, ...]], list[RunRecord]] = defaultdict(list)
    for run in runs:
        groups[(run.workflow, run.version, tuple(sorted(marked.get(run.id, ()))))].append(run)
    out = []
    for (name, version, patches), members in groups.items():
        oldest = min(members, key=lambda r: (r.created_at, r.id))
        counts: dict[str, int] = defaultdict(int)
        for run in members:
            counts[RunStatus(run.status).value] += 1
        out.append(
            VersionGroup(
                name, version, patches, len(members), oldest.created_at, oldest.id, dict(counts)
            )
        )
    return sorted(out, key=lambda g: (g.workflow, g.oldest_started, g.version, g.patches))
