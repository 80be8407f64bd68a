"""What an operation's flow yields to the driver that runs it (see :mod:`wfkit.engine.core.drivers`).

Operations are written as generators (:data:`Flow`) that *yield* what they need done, run an
attempt, write a checkpoint, pause, so one implementation serves sync and async workflows:
the sync driver runs the requests inline or in threads, the async driver awaits them.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wfkit.engine.core.spec import StepSpec
from wfkit.engine.status import OpKind
from wfkit.engine.store.base import HistoryEntry, OperationRecord


@dataclass
class Attempt:
    spec: StepSpec
    kind: OpKind
    seq: int
    number: int
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass
class Pause:
    seconds: float


@dataclass
class Checkpointing:
    """A flow's request to write a step's checkpoint: the driver writes it (blocking, or
    awaited in a worker's event loop, where many runs' checkpoints share one commit) and sends
    nothing back; a refused write is thrown into the flow."""

    ops: list[OperationRecord]
    history: list[HistoryEntry]
    at: datetime | None = None
    extra: dict[str, Any] | None = None  # more Checkpoint fields (an event consumed)


Flow = Generator[Any, Any, Any]
