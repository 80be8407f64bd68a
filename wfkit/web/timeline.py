"""A run's timeline for the run page: one row per durable operation, in the order recorded,
with each retried attempt under the operation it belongs to and compensations marked with the
step they undo (the same reading as ``wfkit show``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from wfkit.engine.core.numbering import seq_label
from wfkit.engine.progress import duration, when
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import OperationRecord, RunRecord
from wfkit.web.service import RunDetail


@dataclass(frozen=True)
class Attempt:
    attempt: int
    started: str
    error: str


@dataclass(frozen=True)
class Row:
    seq: str
    kind: str
    name: str
    attempt: str
    status: str
    started: str
    duration: str
    error: str
    child_id: str | None = None
    compensation: bool = False
    retried: list[Attempt] = field(default_factory=list)


def rows(detail: RunDetail) -> list[Row]:
    by_seq = {op.seq: op for op in detail.operations}
    out = []
    for op in detail.operations:
        name = op.name
        compensation = op.kind == OpKind.COMPENSATION
        if compensation and op.compensates is not None:
            undone = by_seq.get(op.compensates)
            name = f"{op.name} (undoes {seq_label(op.compensates)}" + (
                f" {undone.name})" if undone is not None and undone.name != op.name else ")"
            )
        out.append(
            Row(
                seq=seq_label(op.seq),
                kind="↩ compensation" if compensation else op.kind.value,
                name=name,
                attempt=str(op.attempt) if op.attempt else "",
                status=op.status.value,
                started=when(op.started_at),
                duration=duration(op.started_at, op.finished_at),
                error=error_line(op.error),
                child_id=detail.children.get(op.seq),
                compensation=compensation,
                retried=[
                    Attempt(a.attempt, when(a.started_at), error_line(a.error))
                    for a in detail.retried.get(op.seq, [])
                    if a.attempt < op.attempt
                ],
            )
        )
    return out


def error_line(error: str | None) -> str:
    """``Type: first line of the message`` of a stored error ('' for none)."""
    if not error:
        return ""
    try:
        data = json.loads(error)
    except ValueError:
        return error.splitlines()[0] if error.strip() else ""
    if not isinstance(data, dict):
        return str(data).splitlines()[0] if str(data).strip() else ""
    lines = str(data.get("message", "")).strip().splitlines()
    text = f"{data.get('type', 'Error')}: {lines[0] if lines else ''}".rstrip(": ")
    during = data.get("during")
    return f"{text} (during {during})" if during else text


def failed_steps(operations: list[OperationRecord]) -> list[str]:
    """Names skip-step accepts for this run (its failed steps and compensations)."""
    return sorted({op.name for op in operations if op.status == OpStatus.FAILED})


def awaited_event(run: RunRecord, operations: list[OperationRecord]) -> str | None:
    """The event a WAITING run waits for (its newest open wait), for the page to name."""
    if run.status != RunStatus.WAITING:
        return None
    waits = [op for op in operations if op.kind == OpKind.EVENT and op.status == OpStatus.STARTED]
    return waits[-1].name if waits else None
