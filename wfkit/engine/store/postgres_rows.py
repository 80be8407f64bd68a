"""How the PostgreSQL store lays records out in rows, and reads them back.

Timestamps are ``timestamptz`` and come back as aware UTC datetimes (sessions run in UTC), so
they pass through unconverted, but a naive one is refused on the way in (:func:`aware`): it
would silently be read in the session's time zone. Enums go in as their value. An operation's
result is kept once, in the history line that recorded it (see :func:`op_upsert_row` and
:func:`with_result`). Everything here is pure: no connection, no transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from enum import Enum
from typing import Any

from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import HistoryEntry, OperationRecord, RunRecord, entry_data
from wfkit.engine.store.sql_shared import encode_json
from wfkit.errors import StoreError


def one_row(found: Any | None) -> Any:
    """The row of a statement that always returns one (INSERT ... RETURNING, an aggregate, a
    row seen in the same transaction)."""
    if found is None:
        raise StoreError("PostgreSQL returned no row where the statement always returns one")
    return found


def aware(value: datetime | None) -> datetime | None:
    """Aware datetimes only: a naive one would silently be read in the session's time zone."""
    if value is not None and value.utcoffset() is None:
        raise TypeError(f"naive datetime {value!r}: the store needs aware (UTC) datetimes")
    return value


def as_text(value: Any) -> Any:
    """Enums as their value (psycopg would send a Python enum's *name*)."""
    return value.value if isinstance(value, Enum) else value


RUN_COLUMNS = tuple(f.name for f in fields(RunRecord))
RUN_SELECT = "SELECT " + ", ".join(RUN_COLUMNS) + " FROM runs"
OP_COLUMNS = (
    "run_id",
    "seq",
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
RESULT_AT = OP_COLUMNS.index("result")


def run_row(run: RunRecord) -> tuple[Any, ...]:
    return (
        run.id,
        run.workflow,
        run.version,
        as_text(run.status),
        run.input,
        str(run.seed),
        aware(run.created_at),
        aware(run.updated_at),
        run.result,
        run.error,
        run.parent_id,
        run.parent_seq,
        aware(run.wake_at),
        run.lease_owner,
        aware(run.lease_expires_at),
        run.recoveries,
        bool(run.cancel_requested),
        bool(run.compensate_on_cancel),
        aware(run.finished_at),
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
        r[6],
        r[7],
        r[8],
        r[9],
        r[10],
        r[11],
        r[12],
        r[13],
        r[14],
        r[15],
        r[16],
        r[17],
        r[18],
        bool(r[19]),
    )


def op_row(run_id: str, op: OperationRecord) -> tuple[Any, ...]:
    return (
        run_id,
        op.seq,
        as_text(op.kind),
        op.name,
        as_text(op.status),
        op.attempt,
        aware(op.started_at),
        aware(op.finished_at),
        op.result,
        op.error,
        aware(op.wake_at),
        op.source,
        op.compensates,
    )


def history_rows(run_id: str, entries: Sequence[HistoryEntry]) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        data = entry_data(e)
        result = data.pop("result", None) if e.op is not None else None
        rows.append(
            {
                "run": run_id,
                "at": aware(e.at),
                "type": e.type,
                "seq": e.seq,
                "name": e.name,
                "data": encode_json(data),
                "result": result,
            }
        )
    return rows


_AFTER_RESULT = frozenset({"error", "source", "compensates", "wake_at"})


def with_result(data: dict[str, Any], result: str | None) -> dict[str, Any]:
    """An operation line's data with its result back in the snapshot's place (after the
    finish time, where :func:`~wfkit.engine.store.base.op_snapshot` puts it)."""
    if result is None:
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _AFTER_RESULT and "result" not in out:
            out["result"] = result
        out[key] = value
    out.setdefault("result", result)
    return out


def op_upsert_row(row: tuple[Any, ...], owner: int | None, indexes: list[int]) -> tuple[Any, ...]:
    if owner is None:
        return (*row, None)
    return (*row[:RESULT_AT], None, *row[RESULT_AT + 1 :], indexes[owner])
