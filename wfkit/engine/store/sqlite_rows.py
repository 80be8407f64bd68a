"""How the SQLite store lays records out in rows, and reads them back.

Timestamps are integer microseconds since the Unix epoch (see :mod:`sqlite_schema`), so every
record field that is a datetime goes through :func:`to_us` on its way in and :func:`from_us`
or :func:`at_us` on its way out. A run's input lives in its own table, and operations and
history lines are keyed by one integer built from the run's key (migrations 2 and 3): the
column layouts below, and the statements of other modules that read them, follow from that.
Everything here is pure: no connection, no transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from typing import Any, overload

from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store import sqlite_schema
from wfkit.engine.store.base import HistoryEntry, OperationRecord, RunRecord
from wfkit.engine.store.sql_shared import encode_json

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


@overload
def to_us(value: datetime) -> int: ...
@overload
def to_us(value: datetime | None) -> int | None: ...
def to_us(value: datetime | None) -> int | None:
    """Aware datetime -> integer microseconds since the epoch (naive datetimes raise)."""
    return None if value is None else (value - _EPOCH) // _MICROSECOND


def from_us(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def at_us(value: int) -> datetime:
    """For NOT NULL timestamp columns."""
    return _EPOCH + timedelta(microseconds=value)


RUN_COLUMNS = tuple(f.name for f in fields(RunRecord))
# A run's input lives in run_inputs (migration 3): its row in runs is rewritten by every
# status change, claim and heartbeat, and must stay small whatever the input's size.
INPUT_AT = RUN_COLUMNS.index("input")
RUN_TABLE_COLUMNS = tuple(c for c in RUN_COLUMNS if c != "input")
RUN_SELECT = (
    "SELECT "
    + ", ".join("i.input" if c == "input" else f"r.{c}" for c in RUN_COLUMNS)
    + " FROM runs r JOIN run_inputs i ON i.pk = r.pk"
)
# Operations and history are keyed by one integer, run key * KEY_SPAN + n (see migration 2 in
# sqlite_schema): a run's rows are one rowid range, and a live run appends at the right edge.
SPAN = sqlite_schema.KEY_SPAN
OP_COLUMNS = (
    "kind",
    "name",
    "status",
    "attempt",
    "started_at",
    "finished_at",
    "result",
    "error",
    "wake_at",
    "source",
    "compensates",
)
# An operation's history line holds the record's columns (all but seq and name, which the line
# has anyway); other lines hold JSON data.
HISTORY_OP_COLUMNS = (
    "kind",
    "status",
    "attempt",
    "started_at",
    "finished_at",
    "result",
    "error",
    "wake_at",
    "source",
    "compensates",
)
_NO_OP_COLUMNS = (None,) * len(HISTORY_OP_COLUMNS)


def op_record(run_id: str, seq: int, cols: Sequence[Any]) -> OperationRecord:
    """An operation from its columns after the sequence number, in OP_COLUMNS order (kind,
    name, status, attempt, started_at, finished_at, result, error, wake_at, source,
    compensates), as the operations table and a history line's operation columns hold them."""
    kind, name, status, attempt, started, finished, result, error, wake, source, comp = cols
    return OperationRecord(
        run_id,
        seq,
        OpKind(kind),
        name,
        OpStatus(status),
        attempt,
        from_us(started),
        from_us(finished),
        result,
        error,
        from_us(wake),
        source,
        comp,
    )


def run_row(run: RunRecord) -> tuple[Any, ...]:
    return (
        run.id,
        run.workflow,
        run.version,
        run.status,
        run.input,
        str(run.seed),
        to_us(run.created_at),
        to_us(run.updated_at),
        run.result,
        run.error,
        run.parent_id,
        run.parent_seq,
        to_us(run.wake_at),
        run.lease_owner,
        to_us(run.lease_expires_at),
        run.recoveries,
        bool(run.cancel_requested),
        bool(run.compensate_on_cancel),
        to_us(run.finished_at),
        bool(run.paused),
    )


def run_from_row(r: Sequence[Any]) -> RunRecord:
    return RunRecord(
        r[0],
        r[1],
        r[2],
        RunStatus(r[3]),
        r[4],
        int(r[5]),
        at_us(r[6]),
        at_us(r[7]),
        r[8],
        r[9],
        r[10],
        r[11],
        from_us(r[12]),
        r[13],
        from_us(r[14]),
        r[15],
        bool(r[16]),
        bool(r[17]),
        from_us(r[18]),
        bool(r[19]),
    )


def op_row(op: OperationRecord) -> tuple[Any, ...]:
    """The row without its run's key offset (added inside the transaction)."""
    if not 0 <= op.seq < SPAN:
        raise ValueError(f"operation sequence number {op.seq} is outside 0..{SPAN - 1}")
    return (
        op.seq,
        op.kind,
        op.name,
        op.status,
        op.attempt,
        to_us(op.started_at),
        to_us(op.finished_at),
        op.result,
        op.error,
        to_us(op.wake_at),
        op.source,
        op.compensates,
    )


def op_upsert_row(
    base: int, row: tuple[Any, ...], owner: int | None, keys: list[int]
) -> tuple[Any, ...]:
    """The operation's row with its run's key offset; a result some history line holds is
    replaced by that line's key."""
    if owner is None:
        return (base + row[0], *row[1:], None)
    return (base + row[0], *row[1:7], None, *row[8:], keys[owner])


def history_rows(
    entries: Sequence[HistoryEntry], ops: Sequence[OperationRecord], op_rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """History rows; an operation entry reuses its record's row when the checkpoint has it."""
    rows = []
    for e in entries:
        if e.op is None:
            rows.append((to_us(e.at), e.type, e.seq, e.name, encode_json(e.data), *_NO_OP_COLUMNS))
            continue
        op = e.op
        # The common checkpoint: one operation and its own entry (no search, no new row).
        if len(ops) == 1 and ops[0] is op:
            row = op_rows[0]
        else:
            row = next((r for o, r in zip(ops, op_rows) if o is op), ()) or op_row(op)
        # An entry's time is its operation's finish (or start): already converted in the row.
        at = row[6] if e.at is op.finished_at else row[5] if e.at is op.started_at else to_us(e.at)
        rows.append((at, e.type, e.seq, e.name, None, row[1], *row[3:]))
    return rows
