"""SQL both database stores build the same way (SQLite and PostgreSQL differ in placeholders
and locking clauses, not in what a checkpoint means), and the few values and decisions they
share: column lists, the stop flag a fenced commit reads, the JSON encoder, what a refused
fence means.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from wfkit.engine.status import TERMINAL
from wfkit.engine.store.base import (
    CancelRequested,
    HistoryEntry,
    LeaseLost,
    OperationRecord,
    finished_statuses,
)
from wfkit.errors import NoStore, StoreError

# How a store may treat the database it opens (see check_access).
ACCESS_MODES = ("create", "existing", "read")


def fenced_run_statement(
    keys: Sequence[str],
    known: Collection[str],
    *,
    release: bool,
    fenced: bool,
    expiry: bool,
    placeholder: str,
    read_tail: str,
    write_tail: str,
    columns: str = "cancel_requested",
    unless_cancelled: bool = False,
    lease_now: str | None = None,
) -> tuple[str, bool]:
    """The statement that applies a checkpoint's run changes, checks the lease and reads the
    run's ``cancel_requested`` flag; returns (sql, whether it only reads).

    Column names come only from RunRecord's fields (``known``), never from caller text; an
    unknown one is refused before any SQL runs. With nothing to change a ``SELECT`` does the
    same existence check and fence without writing the run's row; it reads ``columns``, which
    ``write_tail`` should return as well. ``unless_cancelled`` matches no row once the run's
    cancel is requested (the caller tells that apart from a lost lease). ``lease_now`` is the
    SQL the lease's expiry is compared with (the server's clock) instead of the caller's
    ``now`` placeholder.
    """
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise TypeError(f"Checkpoint.run has unknown RunRecord field(s): {unknown}")
    sets = [f"{k} = {placeholder}" for k in keys]
    if release:
        sets += ["lease_owner = NULL", "lease_expires_at = NULL"]
    reads = not sets
    sql = (
        f"SELECT {columns} FROM runs" if reads else f"UPDATE runs SET {', '.join(sets)}"
    ) + f" WHERE id = {placeholder}"
    if fenced:
        sql += f" AND lease_owner = {placeholder}"
        if expiry:
            sql += (
                f" AND (lease_expires_at IS NULL OR lease_expires_at >= {lease_now or placeholder})"
            )
    if unless_cancelled:
        sql += " AND NOT cancel_requested"
    return sql + (read_tail if reads else write_tail), reads


def stored_schema_version(
    tables: Sequence[str],
    schema_table: str,
    read_version: Callable[[], int],
    foreign: Callable[[str], StoreError],
) -> int:
    """The wfkit schema version of a database from its table names: 0 when it is empty; a
    database holding other tables and no wfkit schema table is another application's."""
    if schema_table in tables:
        return read_version()
    if tables:
        raise foreign(", ".join(tables[:5]) + (", ..." if len(tables) > 5 else ""))
    return 0


def check_not_newer(version: int, latest: int, where: str) -> None:
    if version > latest:
        raise StoreError(
            f"{where} was created by a newer wfkit (schema version {version}; this wfkit knows "
            f"up to {latest})",
            hint="upgrade wfkit (pip install -U wfkit)",
        )


def check_access_mode(access: str) -> None:
    if access not in ACCESS_MODES:
        raise ValueError(f"access must be one of {', '.join(ACCESS_MODES)}, got {access!r}")


def check_access(version: int, latest: int, where: str, access: str) -> None:
    """Whether a store opened with ``access`` may use a database at schema ``version``.

    ``create`` (running workflows) sets up an empty database and upgrades an older one;
    ``existing`` (repairing runs) upgrades but never creates; ``read`` (listing, showing,
    exporting) does neither, so looking never changes a database.
    """
    check_access_mode(access)
    check_not_newer(version, latest, where)
    if version == 0 and access != "create":
        raise NoStore(where, "it holds no wfkit tables")
    if version < latest and access == "read":
        raise StoreError(
            f"{where} was written by an older wfkit (schema version {version}; this wfkit "
            f"uses {latest}), and this command only reads",
            hint="upgrade it once with a command that writes (`wfkit worker`, `wfkit run`); "
            "keep a copy first if an older wfkit must still read it",
        )


def prunable_where(statuses: Collection[Any], cutoff: str) -> str:
    """Which runs ``prune`` may delete (alias ``r``), for both database stores.

    A run with one of ``statuses`` (all must be terminal: ValueError otherwise) that finished
    before ``cutoff`` (a placeholder); not while its parent is still live (the parent reads
    the child's result when it resumes) nor while a child of its own is (that child reports
    to it when it ends). The values come from RunStatus members, never from caller text.
    """
    wanted = ", ".join(f"'{s.value}'" for s in sorted(finished_statuses(statuses)))
    live = ", ".join(f"'{s.value}'" for s in sorted(TERMINAL))
    return (
        f"r.status IN ({wanted}) AND r.finished_at < {cutoff} "
        f"AND (r.parent_id IS NULL OR NOT EXISTS (SELECT 1 FROM runs p "
        f"WHERE p.id = r.parent_id AND p.status NOT IN ({live}))) "
        f"AND NOT EXISTS (SELECT 1 FROM runs c WHERE c.parent_id = r.id "
        f"AND c.status NOT IN ({live}))"
    )


def result_lines(
    ops: Sequence[OperationRecord], entries: Sequence[HistoryEntry]
) -> list[int | None]:
    """For each operation with a result, the index of the history entry recording it (which
    then holds the result alone, so the payload is stored once), else None (the operation's
    row keeps its result inline)."""
    if len(ops) == 1 and len(entries) == 1:  # the common step checkpoint
        return [0 if ops[0].result is not None and entries[0].op is ops[0] else None]
    owners: list[int | None] = []
    for op in ops:
        found = None
        if op.result is not None:
            for index, entry in enumerate(entries):
                if entry.op is op:
                    found = index
        owners.append(found)
    return owners


def run_filters(
    placeholder: str,
    status: Any,
    workflow: str | None,
    parent_id: str | None,
    before: tuple[Any, str] | None,
    queue: tuple[str, str] | None = None,
) -> tuple[str, list[Any]]:
    """The ``WHERE`` of ``list_runs`` (empty when nothing filters) and its parameters; the
    caller converts ``before``'s time to its column type first. A keyset cursor compares
    (created_at, id), which the runs_created index seeks to. ``queue`` is the store's
    condition for "started on this queue" (its queue table differs) and the queue's name."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("status", status), ("workflow", workflow), ("parent_id", parent_id)):
        if value is not None:
            where.append(f"{column} = {placeholder}")
            params.append(value)
    if before is not None:
        where.append(f"(created_at, id) < ({placeholder}, {placeholder})")
        params.extend(before)
    if queue is not None:
        where.append(queue[0])
        params.append(queue[1])
    return (" WHERE " + " AND ".join(where) if where else ""), params


# One encoder built once: json.dumps with options builds a new encoder on every call.
encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

# The run's timestamp columns (the others are text, numbers and flags).
RUN_DATETIMES = frozenset(
    {"created_at", "updated_at", "wake_at", "lease_expires_at", "finished_at"}
)
SCHEDULE_COLUMNS = (
    "name, workflow, revision, handled_until, buffered_tick, last_run_id, paused, updated_at"
)
EVENT_COLUMNS = "id, run_id, name, payload, sent_at, consumed_seq"
# Pause (wfkit.engine.pausing): a paused run's or workflow's wake time wakes no worker (the
# claims leave them out by their own means).
NOT_PAUSED = "AND NOT paused AND workflow NOT IN (SELECT workflow FROM paused_workflows)"
# What a fenced commit reads for the engine: the stop flag (a cancel requested, the run or its
# workflow paused).
STOP_FLAG = (
    "(cancel_requested OR paused OR EXISTS (SELECT 1 FROM paused_workflows w "
    "WHERE w.workflow = runs.workflow))"
)


def fence_refusal(
    run_id: str, found: Sequence[Any] | None, unless_cancelled: bool, lease_owner: str | None
) -> Exception:
    """Why a checkpoint's fence matched no row, from the run's ``cancel_requested`` column read
    afterwards (``found``, None when the run does not exist): the exception to raise."""
    if found is None:
        return KeyError(run_id)
    if unless_cancelled and found[0]:
        return CancelRequested(run_id)
    return LeaseLost(run_id, lease_owner)
