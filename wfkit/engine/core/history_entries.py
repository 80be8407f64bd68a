"""Builders for history log entries, so every writer uses one shape.

Operation entries carry the operation record, which stores persist as a full snapshot
(``op_snapshot``): replaying a history (``wfkit replay``, ``wfkit.testing.replay``) folds the latest snapshot per sequence number back into
operation records, with no database needed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from wfkit.engine.status import OpKind, OpStatus
from wfkit.engine.store.base import HistoryEntry, OperationRecord, op_snapshot

__all__ = ["op_entry", "run_entry", "op_snapshot", "op_from_snapshot"]


def op_entry(type_: str, op: OperationRecord) -> HistoryEntry:
    at = op.finished_at or op.started_at
    assert at is not None
    return HistoryEntry(run_id=op.run_id, at=at, type=type_, seq=op.seq, name=op.name, op=op)


def run_entry(run_id: str, at: datetime, type_: str, **data: Any) -> HistoryEntry:
    return HistoryEntry(run_id=run_id, at=at, type=type_, data=data)


def op_from_snapshot(run_id: str, seq: int, name: str, data: dict[str, Any]) -> OperationRecord:
    return OperationRecord(
        run_id=run_id,
        seq=seq,
        kind=OpKind(data["kind"]),
        name=name,
        status=OpStatus(data["status"]),
        attempt=int(data.get("attempt", 0)),
        started_at=_dt(data.get("started_at")),
        finished_at=_dt(data.get("finished_at")),
        result=data.get("result"),
        error=data.get("error"),
        wake_at=_dt(data.get("wake_at")),
        source=data.get("source"),
        compensates=data.get("compensates"),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def parsed(text: str | None) -> Any:
    """A stored payload (input, result, error) as a value for a report (text that is not JSON comes back as it is)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
