"""Group commit: checkpoints of runs that are ready at the same moment share one transaction.

Every checkpoint at ``synchronous=FULL`` waits for an fsync, and one SQLite file has one
writer, so runs executing concurrently in one worker would otherwise queue for the disk one
fsync each. Here the first caller to arrive while the writer is free becomes the *leader*: it
commits what is queued (its own checkpoint, and any that arrived meanwhile) as one
transaction, and each caller returns only after that transaction is durable, with its own
answer. Callers that arrive while a batch is being written wait and go in the next one: a
batch is written as soon as the writer is free, never held back waiting for more, so one run
alone pays what it paid before and many runs share each fsync.

A worker's event loop (:mod:`wfkit.engine.task_lane`) submits with :meth:`GroupCommit.
submit_async`: its runs are tasks, so no thread may block for a batch. Its first checkpoint
to find the writer free leads from the loop, one iteration later (``call_soon``), so that the
checkpoints of every run ready in this iteration go in the same batch; the batch is written on
the loop (the loop has nothing else to do until its runs' checkpoints are durable) and each
waiting task is woken with its answer. Threads and the loop share one queue: whoever leads
writes everyone's checkpoints, and hands the writer to the next caller in line (a thread's
gate, or its loop's ``call_soon_threadsafe``).

The batcher knows nothing of SQL: ``write`` takes the queued items and returns one outcome per
item (a value, or the exception that item must raise); an exception out of ``write`` itself
fails every item of that batch.
"""

from __future__ import annotations

import asyncio
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

    __slots__ = ("item", "gate", "lead", "outcome", "future")

    def __init__(self, item: T, future: asyncio.Future[Outcome] | None = None) -> None:
        self.item = item
        self.future = future  # a task's checkpoint: woken through its loop, no gate
        self.gate = threading.Lock()
        if future is None:
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
        """Write ``item`` in the next batch; its value once the batch is durable.

        From a thread that runs an event loop (a worker's loop writing a rarer checkpoint
        synchronously) it is written on its own at once: that thread must never wait for a
        leader, since the leader may be a callback queued on its own loop."""
        # (asyncio's own low-level query: None where get_running_loop would raise, so a
        # thread's every checkpoint pays no exception for asking)
        if asyncio._get_running_loop() is not None:
            ok, value = self._write([item])[0]
            if ok:
                return value
            raise value
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

    async def submit_async(self, item: T) -> Any:
        """:meth:`submit` for a task on an event loop: the loop is never blocked waiting for
        another caller's batch (see the module docstring)."""
        loop = asyncio.get_running_loop()
        slot = _Slot(item, loop.create_future())
        with self._mutex:
            self._queue.append(slot)
            lead = not self._writing
            if lead:
                self._writing = True
        if lead:
            loop.call_soon(self._lead)
        assert slot.future is not None
        ok, value = await slot.future
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
        self._hand_over()
        _wake(batch)

    def _hand_over(self) -> None:
        """Give the writer to the first caller in line, or free it."""
        while True:
            with self._mutex:
                if not self._queue:
                    self._writing = False
                    return
                successor = self._queue[0]
            future = successor.future
            if future is None:
                successor.lead = True
                successor.gate.release()
                return
            try:
                future.get_loop().call_soon_threadsafe(self._lead)
                return
            except RuntimeError:  # its loop is closed: that task is gone, nobody waits
                with self._mutex:
                    self._queue.remove(successor)


def _wake(batch: Sequence[_Slot[Any]]) -> None:
    """Each caller's answer: a thread's gate opens; a task's future is set on its own loop
    (directly when that is this thread's loop, else in one call per loop)."""
    here = asyncio._get_running_loop()
    elsewhere: dict[asyncio.AbstractEventLoop, list[_Slot[Any]]] = {}
    for slot in batch:
        future = slot.future
        if future is None:
            slot.gate.release()
        elif future.get_loop() is here:
            _settle([slot])
        else:
            elsewhere.setdefault(future.get_loop(), []).append(slot)
    for loop, slots in elsewhere.items():
        try:
            loop.call_soon_threadsafe(_settle, slots)
        except RuntimeError:  # a closed loop: its tasks are gone
            pass


def _settle(slots: list[_Slot[Any]]) -> None:
    for slot in slots:
        future = slot.future
        if future is not None and not future.done():  # a task cancelled meanwhile
            future.set_result(slot.outcome)
