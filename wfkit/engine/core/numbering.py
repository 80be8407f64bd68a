"""How a run's operations are numbered, and how those numbers are shown.

The workflow body numbers its durable operations 1, 2, 3, ... in the order it makes them; a
replay makes them again in the same order, which is how recorded results find their calls.
Compensations are numbered from :data:`COMPENSATION_SEQ_BASE` up, in the order they are first
recorded, so they can never take a number the body may use: a compensation written while a
body step was in flight must not sit in that step's slot when the body is replayed. The body's
numbers stay below the base (a run that reached it would have recorded ten million
operations); stores hold numbers up to 2**24 - 1 (the SQLite store keys operations by run and
number).
"""

from __future__ import annotations

from collections.abc import Iterable

from wfkit.engine.status import OpKind

COMPENSATION_SEQ_BASE = 10_000_000


def next_compensation_seq(kinds: Iterable[OpKind]) -> int:
    """The number for a compensation about to be recorded for the first time, given the kinds
    of the run's recorded operations."""
    return COMPENSATION_SEQ_BASE + 1 + sum(1 for kind in kinds if kind == OpKind.COMPENSATION)


def seq_label(seq: int) -> str:
    """``#3`` for the body's third operation, ``#c1`` for the first compensation recorded."""
    if seq > COMPENSATION_SEQ_BASE:
        return f"#c{seq - COMPENSATION_SEQ_BASE}"
    return f"#{seq}"
