"""Which runs a claim takes on SQLite: the first runnable runs of the claimer's workflows.

Runnable: active with no wake time (ready since created), or live with a wake time that has
passed (a parked run, or an active one waiting out a retry delay); no live lease; not paused,
nor of a paused workflow. Claim order: the wake time, else the creation time.

The two kinds of runnable runs are kept in two indexes keyed by workflow first (migration 8),
and a claim reads, for each of its workflows, the first ``limit`` entries of each, then merges
them: it reads a few entries per workflow however long any backlog is. Before, the indexes
were in claim order across all workflows, so a worker stepped over every older run it could
not take: another workflow's backlog (one served by other workers, or paused), a paused
run's. A worker claiming one workflow behind 50,000 runs of another spent 10 ms a claim,
holding the file's write lock (docs/performance.md). Paused runs are not in the indexes at
all; a paused workflow is left out of the claim's workflows.

The statements are run by :meth:`SqliteStore.claim` inside its ``BEGIN IMMEDIATE``
transaction, which holds the write lock: the paused workflows read first cannot change
before the runs are leased.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from wfkit.engine.status import ACTIVE, PARKED

_ACTIVE = ", ".join(f"'{s.value}'" for s in sorted(ACTIVE))
_LIVE = ", ".join(f"'{s.value}'" for s in sorted(ACTIVE | PARKED))
_PARKED = ", ".join(f"'{s.value}'" for s in sorted(PARKED))
_FREE = "AND (r.lease_owner IS NULL OR r.lease_expires_at IS NULL OR r.lease_expires_at < :now)"
# The indexes' own predicates (migration 8), repeated so that the planner may use them.
_READY = f"r.wake_at IS NULL AND r.status IN ({_ACTIVE}) AND NOT r.paused"
_WOKEN = f"r.wake_at IS NOT NULL AND r.status IN ({_LIVE}) AND NOT r.paused"
# SQLite allows 500 terms in a compound SELECT; two per workflow, so a claim for more
# workflows than this reads them in several statements and merges in Python.
_WORKFLOWS_PER_STATEMENT = 100
# The claim order, as three columns appended to every row the statements return.
_KEY = ", COALESCE(r.wake_at, r.created_at) AS claim_at, r.created_at AS claim_created, r.id AS claim_id"
_SORT = "claim_at, claim_created, claim_id"


def claimable(
    c: sqlite3.Connection,
    run_select: str,
    params: dict[str, Any],
    *,
    limit: int,
    workflows: Sequence[str] | None,
    only: str,
) -> list[tuple[Any, ...]]:
    """The rows (``run_select``'s columns) of at most ``limit`` runs to claim, in claim
    order. ``params`` holds ``now`` and ``limit`` and the parameters ``only`` names."""
    paused = {row[0] for row in c.execute("SELECT workflow FROM paused_workflows")}
    names = sorted(set(workflows) if workflows is not None else _live_workflows(c))
    names = [name for name in names if name not in paused]
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(names), _WORKFLOWS_PER_STATEMENT):
        chunk = names[start : start + _WORKFLOWS_PER_STATEMENT]
        bound = dict(params, **{f"w{i}": name for i, name in enumerate(chunk)})
        rows.extend(c.execute(_statement(run_select, len(chunk), only), bound).fetchall())
    if len(names) > _WORKFLOWS_PER_STATEMENT:
        rows.sort(key=lambda row: row[-3:])
    return [row[:-3] for row in rows[:limit]]


def claim_one(
    c: sqlite3.Connection,
    run_select: str,
    params: dict[str, Any],
    *,
    workflows: Sequence[str] | None,
    only: str,
) -> list[tuple[Any, ...]]:
    """The run ``params["run_id"]`` names, when it is runnable (and of one of
    ``workflows``): one seek by its id."""
    if workflows is not None:
        names = sorted(set(workflows))
        params = dict(params, **{f"w{i}": name for i, name in enumerate(names)})
        only += f" AND r.workflow IN ({', '.join(f':w{i}' for i in range(len(names)))})"
    return list(c.execute(_one_statement(run_select, only), params).fetchall())


def _one_statement(run_select: str, only: str) -> str:
    return (
        f"{run_select} WHERE r.id = :run_id AND (r.status IN ({_ACTIVE}) "
        f"AND (r.wake_at IS NULL OR r.wake_at <= :now) "
        f"OR r.status IN ({_PARKED}) AND r.wake_at <= :now) AND NOT r.paused {_FREE} "
        f"AND r.workflow NOT IN (SELECT workflow FROM paused_workflows) {only}"
    )


def _statement(run_select: str, count: int, only: str) -> str:
    """For ``count`` workflows (``:w0``...): each one's first ready and first woken runs,
    merged in claim order. Each row ends with its sort key (_KEY)."""
    keyed = run_select.replace(" FROM runs r", f"{_KEY} FROM runs r", 1)
    ready = keyed.replace("FROM runs r", "FROM runs r INDEXED BY runs_ready")
    woken = keyed.replace("FROM runs r", "FROM runs r INDEXED BY runs_wake")
    parts = []
    for i in range(count):
        parts.append(
            f"SELECT * FROM ({ready} WHERE r.workflow = :w{i} AND {_READY} {_FREE} {only} "
            "ORDER BY r.created_at, r.id LIMIT :limit)"
        )
        parts.append(
            f"SELECT * FROM ({woken} WHERE r.workflow = :w{i} AND {_WOKEN} "
            f"AND r.wake_at <= :now {_FREE} {only} "
            "ORDER BY r.wake_at, r.created_at, r.id LIMIT :limit)"
        )
    return f"SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY {_SORT} LIMIT :limit"


def _live_workflows(c: sqlite3.Connection) -> list[str]:
    """Every workflow with a runnable-looking run (a claim for any workflow): each index's
    distinct leading names, one seek each (a loose index scan), whatever the backlog."""
    names: set[str] = set()
    for index, where in (("runs_ready", _READY), ("runs_wake", _WOKEN)):
        first = f"SELECT MIN(r.workflow) FROM runs r INDEXED BY {index} WHERE {where}"
        sql = (
            f"WITH RECURSIVE names(name) AS (SELECT ({first}) UNION ALL "
            f"SELECT ({first} AND r.workflow > names.name) FROM names "
            "WHERE names.name IS NOT NULL) SELECT name FROM names WHERE name IS NOT NULL"
        )
        names.update(row[0] for row in c.execute(sql))
    return sorted(names)
