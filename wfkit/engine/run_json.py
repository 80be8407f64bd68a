"""A run's operations in JSON form, one definition for ``wfkit show --format json`` and the
HTTP API, so a script can move between the two without meeting two shapes.

Stored JSON text (results, errors) is returned parsed; times are ISO 8601. An operation that
was retried lists its earlier failed attempts (from the run's history): a step that failed
twice before it succeeded must not look as if nothing had happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from wfkit.engine.core.history_entries import op_from_snapshot, parsed
from wfkit.engine.store.base import HistoryEntry, OperationRecord


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def retried_attempts(
    run_id: str, history: Iterable[HistoryEntry]
) -> dict[int, list[OperationRecord]]:
    """Each operation's attempts that failed and were retried, oldest first."""
    retried: dict[int, list[OperationRecord]] = {}
    for entry in history:
        if entry.type.endswith("_retrying") and entry.seq is not None:
            retried.setdefault(entry.seq, []).append(
                op_from_snapshot(run_id, entry.seq, entry.name or "", entry.data)
            )
    return retried


def operation_json(
    op: OperationRecord,
    children: Mapping[int, str],
    retried: Mapping[int, list[OperationRecord]],
) -> dict[str, Any]:
    """One operation; ``children`` maps a child operation's seq to the child run's id.

    Only attempts before the operation's current one are listed: a run retried by hand
    (``wfkit retry``) starts a failed step's attempts again, and its old attempts' history
    must not show up under the new ones."""
    return {
        "seq": op.seq,
        "kind": op.kind.value,
        "name": op.name,
        "status": op.status.value,
        "attempt": op.attempt,
        "started_at": iso(op.started_at),
        "finished_at": iso(op.finished_at),
        "wake_at": iso(op.wake_at),
        "result": parsed(op.result),
        "error": parsed(op.error),
        "source": op.source,
        "compensates": op.compensates,
        "child_id": children.get(op.seq),
        "retried_attempts": [
            {
                "attempt": a.attempt,
                "started_at": iso(a.started_at),
                "retry_at": iso(a.wake_at),
                "error": parsed(a.error),
            }
            for a in retried.get(op.seq, [])
            if a.attempt < op.attempt
        ],
    }
