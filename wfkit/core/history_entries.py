"""Builders for history log entries, so every writer uses one shape.

Operation entries carry a full snapshot of the operation record: replaying a history (``wfkit
replay``, ``wfkit.testing.replay``) folds the latest snapshot per sequence number back into
operation records, with no database needed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wfkit.status import OpKind, OpStatus
from wfkit.store.base import HistoryEntry, OperationRecord


def op_entry(type_: str, op: OperationRecord) -> HistoryEntry:
    at = op.finished_at or op.started_at
    assert at is not None
    return HistoryEntry(run_id=op.run_id, at=at, type=type_, seq=op.seq, name=op.name,
                        data=op_snapshot(op))


def run_entry(run_id: str, at: datetime, type_: str, **data: Any) -> HistoryEntry:
    return HistoryEntry(run_id=run_id, at=at, type=type_, data=data)


def op_snapshot(op: OperationRecord) -> dict[str, Any]:
    """The operation as JSON data; fields that are unset are left out (this is per step).

    Written out field by field (no getattr loop, the enums' ``_value_`` slot rather than the
    ``value`` property): it runs once per checkpoint.
    """
    data: dict[str, Any] = {"kind": op.kind._value_, "status": op.status._value_,
                            "attempt": op.attempt}
    if op.started_at is not None:
        data["started_at"] = op.started_at.isoformat()
    if op.finished_at is not None:
        data["finished_at"] = op.finished_at.isoformat()
    if op.result is not None:
        data["result"] = op.result
    if op.error is not None:
        data["error"] = op.error
    if op.source is not None:
        data["source"] = op.source
    if op.compensates is not None:
        data["compensates"] = op.compensates
    if op.wake_at is not None:
        data["wake_at"] = op.wake_at.isoformat()
    return data


def op_from_snapshot(run_id: str, seq: int, name: str, data: dict[str, Any]) -> OperationRecord:
    return OperationRecord(
        run_id=run_id, seq=seq, kind=OpKind(data["kind"]), name=name,
        status=OpStatus(data["status"]), attempt=int(data.get("attempt", 0)),
        started_at=_dt(data.get("started_at")), finished_at=_dt(data.get("finished_at")),
        result=data.get("result"), error=data.get("error"), wake_at=_dt(data.get("wake_at")),
        source=data.get("source"), compensates=data.get("compensates"))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
