"""Record builders and a fixed clock for the store tests: short, readable, explicit about time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import HistoryEntry, OperationRecord, RunRecord

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    """A point on the test clock, ``seconds`` after T0 (the store never reads real time)."""
    return T0 + timedelta(seconds=seconds)


def run(run_id: str = "r1", *, created: float = 0, **fields: Any) -> RunRecord:
    values: dict[str, Any] = dict(
        workflow="wf",
        version=1,
        status=RunStatus.PENDING,
        input='{"args":[],"kwargs":{}}',
        seed=7,
        created_at=at(created),
        updated_at=at(created),
    )
    values.update(fields)
    return RunRecord(id=run_id, **values)


def op(seq: int, run_id: str = "r1", **fields: Any) -> OperationRecord:
    values: dict[str, Any] = dict(
        kind=OpKind.STEP, name=f"step{seq}", status=OpStatus.COMPLETED, attempt=1
    )
    values.update(fields)
    return OperationRecord(run_id=run_id, seq=seq, **values)


def entry(type_: str, run_id: str = "r1", *, when: float = 0, **fields: Any) -> HistoryEntry:
    return HistoryEntry(run_id=run_id, at=at(when), type=type_, **fields)
