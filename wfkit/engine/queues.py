"""Named queues with flow control: how many runs of a queue may run at once, per key and per
period, in which order they start, and which starts are duplicates.

A run started on a queue is created as usual (id, input, history) but with status QUEUED: no
worker claims it until a worker *dequeues* it, which turns it PENDING. Dequeuing happens in
the store, inside the same write transaction as a claim (SQLite's ``BEGIN IMMEDIATE``,
PostgreSQL's per-queue advisory transaction lock, the memory store's lock), so the limits hold
across threads, processes and machines without any lock held in Python memory.

This module holds the declaration (:class:`Queue`), what a store keeps per queued run
(:class:`QueueEntry`) and the one choice every store makes the same way (:func:`pick`). It
imports no store: the stores import it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wfkit.engine.ids import check_id
from wfkit.errors import UsageError

# A queue entry's states. QUEUED: waiting; DEQUEUED: counts against the limits until its run
# finishes; DONE: its run finished (found and marked by the next dequeue pass of its queue).
QUEUED = "queued"
DEQUEUED = "dequeued"
DONE = "done"
# How many waiting entries one dequeue pass looks at, in order: ``room`` without a per-key
# limit (each one is taken); with one, runs of keys already at their limit are passed over
# in the query, and of the rest SCAN_PER_SLOT per free slot, at most SCAN_LIMIT, are looked at
# (several waiting runs of one key fill one slot between them). Bounds a pass's cost
# whatever the backlog.
SCAN_LIMIT = 1000
SCAN_PER_SLOT = 10
MAX_PRIORITY = 2**31 - 1


@dataclass(frozen=True)
class Queue:
    """A named queue and its limits (all optional; a queue without any is plain FIFO).

    ``concurrency``: runs of the queue dequeued and not finished, across all workers (a run
    counts from its dequeue until it ends, while it sleeps or waits too). ``per_key``: the same,
    per ``queue_key`` given at start (runs started without a key are not limited by it).
    ``rate``: ``(limit, period_s)``, at most ``limit`` dequeues in any trailing ``period_s``
    seconds. Every worker must declare a queue with the same limits: the store enforces the
    limits the dequeuing worker passes.
    """

    name: str
    concurrency: int | None = None
    per_key: int | None = None
    rate: tuple[int, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise UsageError(f"a queue's name must be a string, got {self.name!r}")
        check_id(self.name, "queue name", hint="name the queue with printable characters")
        for what in ("concurrency", "per_key"):
            value = getattr(self, what)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise UsageError(
                    f"queue {self.name!r}: {what} must be a positive int or None, got {value!r}"
                )
        if self.rate is not None:
            rate = self.rate
            ok = isinstance(rate, (tuple, list)) and len(rate) == 2
            limit, period = rate if ok else (None, None)
            ok = ok and isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1
            ok = ok and isinstance(period, (int, float)) and not isinstance(period, bool)
            if not ok or not (math.isfinite(float(period)) and float(period) > 0):  # type: ignore[arg-type]
                raise UsageError(
                    f"queue {self.name!r}: rate must be (limit, period_s) with a positive int "
                    f"limit and a positive number of seconds, got {rate!r}",
                    hint="e.g. rate=(10, 60.0): at most 10 starts a minute",
                )
            object.__setattr__(self, "rate", (int(limit), float(period)))  # type: ignore[arg-type]

    @property
    def limited(self) -> bool:
        return self.concurrency is not None or self.per_key is not None or self.rate is not None


@dataclass(frozen=True)
class QueueEntry:
    """What a store keeps of a run on a queue, beside the run itself."""

    queue: str
    key: str | None = None
    priority: int = 0  # smaller first; FIFO within a priority
    dedup_key: str | None = None
    state: str = QUEUED
    enqueued_at: datetime | None = None
    dequeued_at: datetime | None = None


class DuplicateQueued(Exception):
    """A store's refusal of a start whose dedup key a live run of the queue already holds."""

    def __init__(self, queue: str, dedup_key: str, run_id: str) -> None:
        super().__init__(f"{queue}/{dedup_key}: held by run {run_id}")
        self.queue = queue
        self.dedup_key = dedup_key
        self.run_id = run_id


class QueueDeduplicated(UsageError):
    """``start(..., queue_dedup_key=K)`` while a run of that queue with key K has not finished:
    nothing was created; ``run_id`` names the run that holds the key."""

    def __init__(self, queue: str, dedup_key: str, run_id: str) -> None:
        super().__init__(
            f"queue {queue!r} already has run {run_id!r} with dedup key {dedup_key!r}, "
            "not finished",
            hint=f"wait for run {run_id!r} to finish, or use another dedup key",
        )
        self.queue = queue
        self.dedup_key = dedup_key
        self.run_id = run_id


def check_enqueue(
    queues: Mapping[str, Queue],
    queue: Queue | str | None,
    key: Any,
    priority: Any,
    dedup_key: Any,
) -> QueueEntry | None:
    """The entry a start asks for, checked before anything is stored (None: no queue)."""
    if queue is None:
        if key is not None or priority != 0 or dedup_key is not None:
            raise UsageError(
                "queue_key, queue_priority and queue_dedup_key need a queue",
                hint="pass queue=NAME too",
            )
        return None
    name = queue.name if isinstance(queue, Queue) else queue
    known = queues.get(name) if isinstance(name, str) else None
    if known is None:
        raise UsageError(
            f"unknown queue {name!r}"
            + (f" (known: {', '.join(sorted(queues))})" if queues else " (none declared)"),
            hint="declare it: Engine(..., queues=[Queue(NAME, ...)])",
        )
    if isinstance(queue, Queue) and queue != known:
        raise UsageError(
            f"queue {name!r} is declared with other limits on this engine",
            hint="declare each queue once, with the same limits everywhere",
        )
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise UsageError(f"queue_priority must be an int, got {priority!r}")
    if not 0 <= priority <= MAX_PRIORITY:
        raise UsageError(
            f"queue_priority must be between 0 and {MAX_PRIORITY}, got {priority}",
            hint="0 (the default) starts first; larger numbers wait",
        )
    for what, value in (("queue_key", key), ("queue_dedup_key", dedup_key)):
        if value is not None:
            if not isinstance(value, str):
                raise UsageError(f"{what} must be a string, got {value!r}")
            check_id(value, what)
    return QueueEntry(name, key, priority, dedup_key)


def free_slots(queue: Queue, running: int, recent: int) -> int:
    """How many runs one pass may dequeue: ``running`` dequeued and not finished, ``recent``
    dequeued in the trailing rate period. Without limits: as many as are waiting."""
    free = math.inf
    if queue.concurrency is not None:
        free = queue.concurrency - running
    if queue.rate is not None:
        free = min(free, queue.rate[0] - recent)
    return SCAN_LIMIT if free == math.inf else max(int(free), 0)


def scan_limit(queue: Queue, free: int) -> int:
    """How many waiting entries (of keys with room) a pass with ``free`` slots looks at."""
    return free if queue.per_key is None else min(SCAN_LIMIT, free * SCAN_PER_SLOT)


def pick(
    queue: Queue,
    waiting: Iterable[tuple[Any, str | None]],
    free: int,
    running_by_key: Mapping[str | None, int],
) -> list[Any]:
    """Which of ``waiting`` (run ids or keys with their queue key, in dequeue order) to
    dequeue now: at most ``free``, skipping a key that has ``per_key`` runs dequeued; of the
    entries whose key had room when the pass began, :func:`scan_limit` are looked at."""
    chosen: list[Any] = []
    if free <= 0:
        return chosen
    taken = dict(running_by_key)
    limit = queue.per_key
    looked, scan = 0, scan_limit(queue, free)
    for ref, key in waiting:
        if limit is not None and key is not None:
            if running_by_key.get(key, 0) >= limit:
                continue  # full before the pass: not looked at (the SQL stores filter these)
            looked += 1
            if looked > scan:
                break
            if taken.get(key, 0) >= limit:
                continue
            taken[key] = taken.get(key, 0) + 1
        else:
            looked += 1
            if looked > scan:
                break
        chosen.append(ref)
        if len(chosen) >= free:
            break
    return chosen
