"""The memory store's queue entries (:mod:`wfkit.engine.queues`): the reference for what the
SQL stores do, kept beside the memory store's runs and used under its lock."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import count

from wfkit.engine.queues import (
    DEQUEUED,
    DONE,
    QUEUED,
    DuplicateQueued,
    Queue,
    QueueEntry,
    free_slots,
    pick,
)
from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import RunRecord


class MemoryQueues:
    """Entries by run id, with their creation order (FIFO within a priority)."""

    def __init__(self) -> None:
        self.entries: dict[str, QueueEntry] = {}
        self._order: dict[str, int] = {}
        self._counter = count()

    def check_dedup(self, entry: QueueEntry, runs: dict[str, RunRecord]) -> None:
        if entry.dedup_key is None:
            return
        for run_id, held in self.entries.items():
            if held.queue == entry.queue and held.dedup_key == entry.dedup_key:
                if not runs[run_id].status.terminal:
                    raise DuplicateQueued(entry.queue, entry.dedup_key, run_id)
                self.entries[run_id] = replace(held, dedup_key=None, state=DONE)

    def add(self, run_id: str, entry: QueueEntry, now: datetime) -> None:
        self.entries[run_id] = replace(entry, state=QUEUED, enqueued_at=now)
        self._order[run_id] = next(self._counter)

    def forget(self, run_ids: Sequence[str]) -> None:
        for run_id in run_ids:
            self.entries.pop(run_id, None)
            self._order.pop(run_id, None)

    def dequeue(
        self,
        queues: Sequence[Queue],
        runs: dict[str, RunRecord],
        now: datetime,
        held: Collection[str] = (),
    ) -> None:
        """Turn the QUEUED runs each queue's limits allow now PENDING (``runs`` is changed);
        paused runs and runs of the ``held`` (paused) workflows wait their turn."""
        for queue in queues:
            mine = {k: e for k, e in self.entries.items() if e.queue == queue.name}
            if not any(e.state == QUEUED for e in mine.values()):
                continue
            for run_id, e in mine.items():
                if e.state == DEQUEUED and runs[run_id].status.terminal:
                    mine[run_id] = self.entries[run_id] = replace(e, state=DONE, dedup_key=None)
            running = [e for e in mine.values() if e.state == DEQUEUED]
            by_key: dict[str | None, int] = {}
            for e in running:
                if e.key is not None:
                    by_key[e.key] = by_key.get(e.key, 0) + 1
            recent = 0
            if queue.rate is not None:
                since = now - timedelta(seconds=queue.rate[1])
                recent = sum(
                    1 for e in mine.values() if e.dequeued_at is not None and e.dequeued_at > since
                )
            waiting = sorted(
                (
                    (e.priority, self._order[run_id], run_id, e.key)
                    for run_id, e in mine.items()
                    if e.state == QUEUED
                    and runs[run_id].status == RunStatus.QUEUED
                    and not runs[run_id].paused
                    and runs[run_id].workflow not in held
                ),
            )
            free = free_slots(queue, len(running), recent)
            chosen = pick(queue, ((run_id, key) for _, _, run_id, key in waiting), free, by_key)
            for run_id in chosen:
                self.entries[run_id] = replace(mine[run_id], state=DEQUEUED, dequeued_at=now)
                runs[run_id] = replace(runs[run_id], status=RunStatus.PENDING, updated_at=now)

    def queued_ids(self, names: Sequence[str]) -> set[str]:
        wanted = set(names)
        return {run_id for run_id, e in self.entries.items() if e.queue in wanted}
