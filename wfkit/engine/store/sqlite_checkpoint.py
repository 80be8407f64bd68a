"""The SQLite store's one write path: a checkpoint, from prepared rows to its fenced writes.

:meth:`SqliteStore.commit` is the engine's hot path (one call per successful step), so the
work is split where it can fail. :func:`prepare` does everything that can fail on bad input
before any transaction begins, and turns the checkpoint into rows and parameters. Then, inside
the store's ``BEGIN IMMEDIATE`` transaction (run by its thin methods, holding its lock),
:func:`fence` applies the run's changes with the lease fence folded into the run's
``UPDATE`` (its row count says whether the lease is still held) and :func:`write_rows` writes
the checkpoint's rows with ``executemany``: no reads beyond the fence, statements reused from
sqlite3's statement cache. :func:`commit_batch` writes several runs' checkpoints in one
transaction (see :mod:`group_commit`).

The functions take the store's cursor, as :mod:`sqlite_queues` does; the store keeps the
connection, its lock and the cache of fence statements.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import CancelRequested, Checkpoint, LeaseLost
from wfkit.engine.store.sql_shared import (
    RUN_DATETIMES,
    STOP_FLAG,
    fence_refusal,
    fenced_run_statement,
    result_lines,
)
from wfkit.engine.store.sqlite_rows import (
    HISTORY_OP_COLUMNS,
    OP_COLUMNS,
    RUN_COLUMNS,
    SPAN,
    history_rows,
    op_row,
    op_upsert_row,
    to_us,
)
from wfkit.errors import StoreError

# UPDATE ... RETURNING (SQLite 3.35+) reads the cancel flag in the fence statement itself.
_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)
# Values a checkpoint's ``run`` dict may change, each with its conversion to a column value.
_RUN_CONVERTERS: dict[str, Callable[[Any], Any] | None] = {
    name: (to_us if name in RUN_DATETIMES else str if name == "seed" else None)
    for name in RUN_COLUMNS
    if name != "id"
}
# An operation's result is kept once, by the history line that recorded it: the row holds
# result NULL and that line's key (result_key); a row with no such line keeps it inline.
_OP_UPSERT = (
    f"INSERT OR REPLACE INTO operations (key, {', '.join(OP_COLUMNS)}, result_key) "
    f"VALUES ({', '.join('?' * (len(OP_COLUMNS) + 2))})"
)
# The next index is found inside the INSERT (a seek to the end of the run's range), so appending
# history costs no extra round trip. The caller checks the key it got (``lastrowid``) against
# the end of the range: a full run is a clear error, never a line in the next run's range.
_HISTORY_INSERT = (
    f"INSERT INTO history (key, at, type, seq, name, data, {', '.join(HISTORY_OP_COLUMNS)}) "
    "VALUES ((SELECT COALESCE(MAX(key) + 1, ?1) FROM history WHERE key BETWEEN ?1 AND ?2), "
    f"{', '.join(f'?{i}' for i in range(3, 8 + len(HISTORY_OP_COLUMNS)))})"
)
# What the lease fence reads: the stop flag for the engine (a cancel requested, the run or its
# workflow paused), the run key for the rows.
_FENCE_COLUMNS = f"{STOP_FLAG}, pk"
_FENCE_READ = f"SELECT {_FENCE_COLUMNS} FROM runs WHERE id = ?"
# A run parking for events must not sleep through one that arrived while it was running.
_WAKE_ON_EVENTS = (
    "UPDATE runs SET wake_at = ? WHERE id = ? AND EXISTS (SELECT 1 FROM events "
    "WHERE run_id = ? AND consumed_seq IS NULL AND name IN ({names}))"
)

# The fence statements built so far, by shape of checkpoint (see _run_update); one per store.
FenceStatements = dict[tuple[Any, ...], tuple[str, tuple[Any, ...], bool]]


@dataclass(slots=True)
class Prepared:
    """A checkpoint turned into rows and parameters, ready to be written by any transaction."""

    run_id: str
    checkpoint: Checkpoint
    lease_owner: str | None
    now: datetime | None
    sql: str
    params: list[Any]
    reads: bool
    new_input: str | None
    ops: list[tuple[Any, ...]]
    entries: list[tuple[Any, ...]]
    owners: list[int | None]


def prepare(
    statements: FenceStatements,
    run_id: str,
    checkpoint: Checkpoint,
    lease_owner: str | None,
    now: datetime | None,
) -> Prepared:
    """Everything that can fail on bad input, done before any transaction begins."""
    changes = checkpoint.run
    new_input = None
    if "input" in changes:  # kept in run_inputs, not in the run's row
        changes = dict(changes)
        new_input = changes.pop("input")
    shape = (
        tuple(changes),
        checkpoint.release_lease,
        lease_owner is not None,
        now is not None,
        checkpoint.unless_cancelled,
    )
    built = statements.get(shape)
    if built is None:
        built = statements[shape] = _run_update(*shape)
    sql, converters, reads = built
    params = [
        value if convert is None else convert(value)
        for convert, value in zip(converters, changes.values())
    ]
    params.append(run_id)
    if lease_owner is not None:
        params.append(lease_owner)
        if now is not None:
            params.append(to_us(now))
    ops = [op_row(op) for op in checkpoint.operations]
    if checkpoint.send_events and now is None:
        raise TypeError("Checkpoint.send_events needs now")
    return Prepared(
        run_id,
        checkpoint,
        lease_owner,
        now,
        sql,
        params,
        reads,
        new_input,
        ops,
        history_rows(checkpoint.history, checkpoint.operations, ops),
        result_lines(checkpoint.operations, checkpoint.history),
    )


def _run_update(
    keys: tuple[str, ...],
    release: bool,
    fenced: bool,
    expiry: bool,
    unless_cancelled: bool,
) -> tuple[str, tuple[Any, ...], bool]:
    """The fenced ``UPDATE runs`` for this shape of checkpoint, built once per store and
    cached (by :func:`prepare`).

    Column names come only from :class:`RunRecord`'s fields, so the SQL is never built
    from caller text. The statement's row count is the existence check and the lease
    fence. With nothing to change, a ``SELECT`` does the same check without dirtying the
    run's page (one WAL page less per commit); it is as safe as the ``UPDATE`` because
    ``BEGIN IMMEDIATE`` already holds the write lock when it runs. Returns (sql,
    converters, whether the statement is a read).
    """
    sql, reads = fenced_run_statement(
        keys,
        _RUN_CONVERTERS,
        release=release,
        fenced=fenced,
        expiry=expiry,
        unless_cancelled=unless_cancelled,
        placeholder="?",
        read_tail="",
        columns=_FENCE_COLUMNS,
        write_tail=f" RETURNING {_FENCE_COLUMNS}" if _RETURNING else "",
    )
    return sql, tuple(_RUN_CONVERTERS[k] for k in keys), reads


def apply(cur: sqlite3.Cursor, p: Prepared) -> bool:
    """Write one prepared checkpoint inside the caller's transaction; the run's cancel
    flag. A refused fence raises before anything of this checkpoint is written."""
    return write_rows(cur, p, fence(cur, p))


def fence(cur: sqlite3.Cursor, p: Prepared) -> Any:
    """The run's row through its fence (and its changes, when it has some); a refusal
    raises, and then nothing was written."""
    run_id = p.run_id
    cur.execute(p.sql, p.params)
    if p.reads or _RETURNING:
        row = cur.fetchone()
    else:  # an old SQLite without RETURNING: read what it would return
        row = cur.execute(_FENCE_READ, (run_id,)).fetchone() if cur.rowcount == 1 else None
    if row is None:
        found = cur.execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        raise fence_refusal(run_id, found, p.checkpoint.unless_cancelled, p.lease_owner)
    return row


def write_rows(cur: sqlite3.Cursor, p: Prepared, row: Any) -> bool:
    """The checkpoint's rows, after its fence let it through; the run's cancel flag."""
    run_id, checkpoint = p.run_id, p.checkpoint
    base = row[1] * SPAN
    if p.new_input is not None:
        cur.execute("UPDATE run_inputs SET input = ? WHERE pk = ?", (p.new_input, row[1]))
    consume = checkpoint.consume_event
    if consume is not None:
        cur.execute("UPDATE events SET consumed_seq = ? WHERE id = ?", (consume[1], consume[0]))
    if checkpoint.discard_operations:
        cur.executemany(
            "DELETE FROM operations WHERE key = ?",
            [(base + seq,) for seq in checkpoint.discard_operations],
        )
    # History first: an operation's row refers to the line holding its result.
    keys = append_history(cur, run_id, row[1], p.entries) if p.entries else []
    ops, owners = p.ops, p.owners
    # The common step checkpoint has one of each: execute() is cheaper then.
    if len(ops) == 1:
        cur.execute(_OP_UPSERT, op_upsert_row(base, ops[0], owners[0], keys))
    elif ops:
        cur.executemany(
            _OP_UPSERT,
            [op_upsert_row(base, op, owner, keys) for op, owner in zip(ops, owners)],
        )
    if checkpoint.wake_on_events:
        names = sorted(set(checkpoint.wake_on_events))
        cur.execute(
            _WAKE_ON_EVENTS.format(names=", ".join("?" * len(names))),
            (to_us(p.now), run_id, run_id, *names),
        )
    for target, name, payload in checkpoint.send_events:
        insert_event(cur, target, name, payload, to_us(p.now))
    return bool(row[0])


def append_history(
    cur: sqlite3.Cursor | sqlite3.Connection,
    run_id: str,
    run_key: int,
    entries: list[tuple[Any, ...]],
) -> list[int]:
    """Append entries at the end of the run's history range (in the caller's transaction);
    return their keys."""
    low = run_key * SPAN
    high = low + SPAN - 1
    keys = []
    for entry in entries:
        try:
            key = cur.execute(_HISTORY_INSERT, (low, high, *entry)).lastrowid
        except sqlite3.IntegrityError:  # the key after a full range is the next run's
            key = None
        if key is None or key > high:
            raise StoreError(
                f"run {run_id!r} has reached the limit of {SPAN} history entries",
                hint="split the work into child workflows",
            )
        keys.append(key)
    return keys


def insert_event(
    cur: sqlite3.Cursor, run_id: str, name: str, payload: str, when: int | None
) -> int:
    """Append to a run's inbox and wake it if it waits (inside the caller's transaction)."""
    cur.execute(
        "INSERT INTO events (run_id, name, payload, sent_at) VALUES (?, ?, ?, ?)",
        (run_id, name, payload, when),
    )
    event_id = cur.lastrowid or 0
    cur.execute(
        "UPDATE runs SET wake_at = ? WHERE id = ? AND status = ?",
        (when, run_id, RunStatus.WAITING.value),
    )
    return event_id


def commit_batch(
    cur: sqlite3.Cursor, batch: Sequence[Prepared], error: Callable[[sqlite3.Error], StoreError]
) -> list[tuple[bool, Any]]:
    """Several runs' checkpoints in one transaction (see :mod:`group_commit`); called holding
    the connection's lock, ``error`` maps an SQLite failure to the store's error. A
    checkpoint refused by its fence raises alone (the fence writes nothing when it refuses);
    the others are written. A checkpoint that fails half-way (a history range full, a
    constraint) sends the batch to :func:`_commit_batch_undoing`, where each checkpoint has a
    savepoint to fall back to. An error of the transaction fails them all."""
    outcomes: list[tuple[bool, Any]] = []
    try:
        cur.execute("BEGIN IMMEDIATE")
        try:
            for prepared in batch:
                try:
                    row = fence(cur, prepared)
                except (KeyError, LeaseLost, CancelRequested) as refused:
                    outcomes.append((False, refused))
                    continue
                try:
                    outcomes.append((True, write_rows(cur, prepared, row)))
                except (KeyError, StoreError, sqlite3.IntegrityError):
                    cur.execute("ROLLBACK")
                    break
            else:
                cur.execute("COMMIT")
                return outcomes
        except BaseException:
            if cur.connection.in_transaction:
                cur.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        return [(False, error(exc))] * len(batch)
    return _commit_batch_undoing(cur, batch, error)


def _commit_batch_undoing(
    cur: sqlite3.Cursor, batch: Sequence[Prepared], error: Callable[[sqlite3.Error], StoreError]
) -> list[tuple[bool, Any]]:
    """The batch again, each checkpoint behind a savepoint (a statement more on each side,
    so only after a checkpoint failed half-way): that one is undone alone and raises, the
    others are written. Called holding the connection's lock."""
    outcomes: list[tuple[bool, Any]] = []
    try:
        cur.execute("BEGIN IMMEDIATE")
        try:
            for prepared in batch:
                cur.execute("SAVEPOINT checkpoint")
                try:
                    outcomes.append((True, apply(cur, prepared)))
                except (
                    KeyError,
                    LeaseLost,
                    CancelRequested,
                    StoreError,
                    sqlite3.IntegrityError,
                ) as refused:
                    cur.execute("ROLLBACK TO checkpoint")
                    if isinstance(refused, sqlite3.Error):
                        refused = error(refused)
                    outcomes.append((False, refused))
                cur.execute("RELEASE checkpoint")
            cur.execute("COMMIT")
        except BaseException:
            if cur.connection.in_transaction:
                cur.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        return [(False, error(exc))] * len(batch)
    return outcomes
