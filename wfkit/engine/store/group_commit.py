"""Group commit: checkpoints of runs that are ready at the same moment share one transaction.

Every checkpoint at ``synchronous=FULL`` waits for an fsync, and one SQLite file has one
writer, so runs executing concurrently in one worker would otherwise queue for the disk one
fsync each. Here the first caller to arrive while the writer is free becomes the *leader*: it
commits what is queued (its own checkpoint, and any that arrived meanwhile) as one
transaction, and each caller returns only after that transaction is durable, with its own
answer. Callers that arrive while a batch is being written wait and go in the next one: a
batch is written as soon as the writer is free, never held back waiting for more, so one run
alone pays what it paid before and many runs share each fsync.

The batcher knows nothing of SQL: ``write`` takes the queued items and returns one outcome per
item (a value, or the exception that item must raise); an exception out of ``write`` itself
fails every item of that batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")

Outcome = tuple[bool, Any]  # (ok, value or exception)


class _Slot(Generic[T]):
    """One caller's checkpoint. ``gate`` is a raw lock, taken at birth and released by the
    leader when the outcome is set (or to hand the caller the writer): a waiting caller blocks
    in ``acquire``. A raw lock, not an Event: an Event's Condition costs several times as much
    Python per wake, and with many runs in flight the wakes are a fifth of the worker's time."""

    __slots__ = ("item", "gate", "lead", "outcome")

    def __init__(self, item: T) -> None:
        self.item = item
        self.gate = threading.Lock()
        self.gate.acquire()
        self.lead = False
        self.outcome: Outcome = (False, None)


class GroupCommit(Generic[T]):
    def __init__(self, write: Callable[[Sequence[T]], list[Outcome]], max_batch: int = 256) -> None:
        self._write = write
        self._max = max_batch
        self._mutex = threading.Lock()
        self._queue: list[_Slot[T]] = []
        self._writing = False

    def submit(self, item: T) -> Any:
        """Write ``item`` in the next batch; its value once the batch is durable."""
        slot = _Slot(item)
        with self._mutex:
            self._queue.append(slot)
            lead = not self._writing
            if lead:
                self._writing = True
        if not lead:
            slot.gate.acquire()
            if slot.lead:  # handed the writer: our item heads the queue, so the batch we
                self._lead()  # lead holds it and sets its outcome
        else:
            self._lead()
        ok, value = slot.outcome
        if ok:
            return value
        raise value

    def _lead(self) -> None:
        with self._mutex:
            batch, self._queue = self._queue[: self._max], self._queue[self._max :]
        try:
            outcomes = self._write([slot.item for slot in batch])
        except BaseException as error:
            outcomes = [(False, error)] * len(batch)
        for slot, outcome in zip(batch, outcomes):
            slot.outcome = outcome
        with self._mutex:
            if self._queue:  # the next batch is led by its first caller
                successor = self._queue[0]
                successor.lead = True
                successor.gate.release()
            else:
                self._writing = False
        for slot in batch:
            slot.gate.release()
