"""Retention: delete finished runs older than a cutoff, with their operations, history and
events (``Engine.prune``, ``wfkit prune``).

Kept apart from :mod:`wfkit.engine.engine`, whose ``prune`` calls :func:`prune_runs`; what is
kept and why (FAILED runs by default, runs whose parent or child is still live) is decided here
and in the stores' ``prunable_runs``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from wfkit.engine.clock import Clock
from wfkit.engine.core.waits import to_seconds
from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import Store, finished_statuses
from wfkit.errors import UsageError

# What `prune` deletes unless told otherwise: FAILED runs wait for a person (retry, skip-step).
PRUNED_BY_DEFAULT = frozenset({RunStatus.COMPLETED, RunStatus.COMPENSATED, RunStatus.CANCELLED})


def prune_runs(
    store: Store,
    clock: Clock,
    older_than: timedelta | float,
    *,
    statuses: Collection[RunStatus | str],
    dry_run: bool,
    batch: int,
) -> list[str]:
    """The ids of the runs deleted (or, with ``dry_run``, that would be), oldest finish first;
    see :meth:`wfkit.engine.engine.Engine.prune`."""
    seconds = to_seconds(older_than, "older_than")
    if seconds < 0:
        raise UsageError(
            f"older_than must not be negative, got {older_than!r}",
            hint="pass how long ago runs must have finished, e.g. 30 days",
        )
    try:
        wanted = finished_statuses(statuses)
    except ValueError as exc:
        raise UsageError(str(exc), hint="use COMPLETED, COMPENSATED, CANCELLED or FAILED") from None
    cutoff = prune_cutoff(clock.now(), seconds, older_than)
    candidates = store.prunable_runs(cutoff, wanted)
    if dry_run:
        return candidates
    deleted: list[str] = []
    for start in range(0, len(candidates), max(batch, 1)):
        deleted += store.delete_runs(candidates[start : start + max(batch, 1)], cutoff, wanted)
    return deleted


def prune_cutoff(now: datetime, seconds: float, shown: Any) -> datetime:
    """``now - seconds``, or a UsageError when that is before the year 1 (an OverflowError)."""
    try:
        return now - timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise UsageError(
            f"older_than {shown!r} reaches back before the year 1",
            hint="pass how long ago runs must have finished, e.g. 30 days",
        ) from None
