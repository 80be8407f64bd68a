"""Is an exported history whole? Structural checks made before anything is replayed.

A history file is data people copy, commit, trim and sometimes edit by hand. Replaying a
damaged one used to say "ok": with an operation deleted, the replay stopped at the gap as if
the run were still in flight; with its lines reversed, the fold kept the oldest snapshot of
each operation. So a document is checked first, against what the engine always writes: lines
numbered 0, 1, 2... in order, ``run_started`` first, integer operation numbers, and a run
status that agrees with the log (a COMPLETED run ends with ``run_completed``, has a result,
and its operations are numbered 1..N with none missing or unfinished). Anything else is a
:class:`~wfkit.errors.DamagedHistory` naming the first problem found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.errors import DamagedHistory

if TYPE_CHECKING:
    from wfkit.engine.store.base import HistoryEntry, OperationRecord, RunRecord


class HistoryDocument(Protocol):
    """What the checks read of a history (:class:`wfkit.engine.history.History` is one): kept a
    protocol so this module and the one it checks for do not import each other."""

    @property
    def run(self) -> RunRecord: ...
    @property
    def entries(self) -> Sequence[HistoryEntry]: ...
    def operations(self) -> list[OperationRecord]: ...


# Run-level lines that end a run, and the status each one leaves it in.
_ENDINGS = {
    "run_completed": RunStatus.COMPLETED,
    "run_failed": RunStatus.FAILED,
    "run_compensated": RunStatus.COMPENSATED,
    "run_cancelled": RunStatus.CANCELLED,
}
# Lines that reopen a finished (FAILED) run: `wfkit retry` and `wfkit skip-step`.
_REOPENINGS = frozenset({"run_retried", "run_repaired"})
_FINAL_OP_STATUSES = frozenset({OpStatus.COMPLETED, OpStatus.FAILED, OpStatus.SKIPPED})


def check_raw_entry(position: int, raw: Any, source: str) -> None:
    """The types of one line of the document, before it is turned into a HistoryEntry."""
    if not isinstance(raw, dict):
        raise DamagedHistory(source, f"line {position} of its log is not an object")
    index = raw.get("index")
    if not _is_int(index):
        raise DamagedHistory(
            source, f"line {position} of its log has index {index!r}, not an integer"
        )
    seq = raw.get("seq")
    if seq is not None and not (_is_int(seq) and seq >= 1):
        raise DamagedHistory(
            source,
            f"line {position} of its log ({raw.get('type')!r}) has "
            f"operation number {seq!r}, not an integer >= 1",
        )
    if not isinstance(raw.get("type"), str):
        raise DamagedHistory(source, f"line {position} of its log has no type")


def check_history(history: HistoryDocument, source: str) -> None:
    """Raise DamagedHistory unless the log is whole and agrees with the run's status."""
    entries = history.entries
    for position, entry in enumerate(entries):
        if entry.index != position:
            raise DamagedHistory(
                source,
                f"line {position} of its log has index {entry.index} (lines missing, "
                "added or out of order)",
            )
    if not entries or entries[0].type != "run_started":
        first = entries[0].type if entries else "nothing"
        raise DamagedHistory(source, f"its log starts with {first}, not run_started")
    _check_endings(history, source)
    try:
        ops = history.operations()
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedHistory(
            source, f"an operation's record is unreadable ({type(exc).__name__}: {exc})"
        ) from None
    if history.run.status == RunStatus.COMPLETED:
        _check_completed(history, ops, source)


def _check_endings(history: HistoryDocument, source: str) -> None:
    """The last line that ended (or reopened) the run must agree with the run's status."""
    status = history.run.status
    ended: str | None = None
    for entry in history.entries[1:]:
        if entry.type == "run_started":
            raise DamagedHistory(source, f"line {entry.index} starts the run a second time")
        if entry.type in _ENDINGS:
            ended = entry.type
        elif entry.type in _REOPENINGS:
            ended = None
        elif (
            ended is not None
            and entry.seq is not None
            and not (ended == "run_failed" and entry.type == "step_skipped")
        ):
            raise DamagedHistory(
                source,
                f"line {entry.index} ({entry.type} of operation #{entry.seq}) comes after {ended}",
            )
    if status.terminal and (ended is None or _ENDINGS[ended] != status):
        raise DamagedHistory(
            source,
            f"the run is {status.value} but its log "
            + (f"ends with {ended}" if ended else "never ends it"),
        )
    if not status.terminal and ended is not None:
        raise DamagedHistory(source, f"the run is {status.value} but its log ends it with {ended}")


def _check_completed(history: HistoryDocument, ops: list[Any], source: str) -> None:
    if history.run.result is None:
        raise DamagedHistory(source, "the run is COMPLETED but has no result")
    body = [op for op in ops if op.kind != OpKind.COMPENSATION]
    for expected, op in enumerate(body, start=1):
        if op.seq != expected:
            raise DamagedHistory(
                source,
                f"the run is COMPLETED but its log has no operation "
                f"#{expected} (the next one is #{op.seq})",
            )
        if op.status not in _FINAL_OP_STATUSES:
            raise DamagedHistory(
                source,
                f"the run is COMPLETED but operation #{op.seq} "
                f"({op.kind.value} {op.name!r}) is {op.status.value}",
            )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
