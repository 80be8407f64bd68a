"""The SQLite store's queue statements (:mod:`wfkit.engine.queues`), run by its methods inside
their ``BEGIN IMMEDIATE`` transactions: SQLite's one write lock serialises every dequeue on
the file, so counting a queue's running runs and dequeuing within its limits is atomic across
threads and processes.

Entries live in ``queue_entries`` (migration 6), keyed by the run's integer key, so a queue's
waiting runs come out in priority order and, within one, in creation order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from wfkit.engine.queues import (
    DEQUEUED,
    DONE,
    QUEUED,
    SCAN_LIMIT,
    DuplicateQueued,
    Queue,
    QueueEntry,
    free_slots,
    pick,
)
from wfkit.engine.status import TERMINAL, RunStatus
from wfkit.engine.store.sqlite_rows import from_us, to_us

_TERMINAL_SQL = ", ".join(f"'{s.value}'" for s in sorted(TERMINAL))
_QUEUED_STATUS = RunStatus.QUEUED.value
_PENDING_STATUS = RunStatus.PENDING.value

_ANY_WAITING = f"SELECT 1 FROM queue_entries WHERE queue = ? AND state = '{QUEUED}' LIMIT 1"
# Entries dequeued whose run has finished stop counting (and free their dedup key).
_SWEEP = (
    f"UPDATE queue_entries SET state = '{DONE}', dedup_key = NULL "
    f"WHERE queue = ? AND state = '{DEQUEUED}' "
    f"AND (SELECT status FROM runs WHERE pk = run_pk) IN ({_TERMINAL_SQL})"
)
_RUNNING = f"SELECT count(*) FROM queue_entries WHERE queue = ? AND state = '{DEQUEUED}'"
_RUNNING_BY_KEY = (
    f"SELECT queue_key, count(*) FROM queue_entries WHERE queue = ? AND state = '{DEQUEUED}' "
    "AND queue_key IS NOT NULL GROUP BY queue_key"
)
_RECENT = (
    "SELECT count(*) FROM queue_entries WHERE queue = ? AND dequeued_at IS NOT NULL "
    "AND dequeued_at > ?"
)
# A waiting entry whose run is no longer QUEUED (cancelled while waiting) is passed over, and
# so is one that is paused, or whose workflow is: dequeued, it would hold a slot it cannot use
# while the runs behind it wait (it is dequeued in its turn once resumed).
_WAITING = (
    "SELECT q.run_pk, q.queue_key FROM queue_entries q JOIN runs r ON r.pk = q.run_pk "
    f"WHERE q.queue = ? AND q.state = '{QUEUED}' AND r.status = '{_QUEUED_STATUS}' "
    "AND NOT r.paused AND r.workflow NOT IN (SELECT workflow FROM paused_workflows) "
    f"ORDER BY q.priority, q.run_pk LIMIT {SCAN_LIMIT}"
)
_MARK_DEQUEUED = f"UPDATE queue_entries SET state = '{DEQUEUED}', dequeued_at = ? WHERE run_pk = ?"
_RUN_DEQUEUED = (
    f"UPDATE runs SET status = '{_PENDING_STATUS}', updated_at = ? "
    f"WHERE pk = ? AND status = '{_QUEUED_STATUS}'"
)
_HOLDER = (
    "SELECT r.id, r.status, q.run_pk FROM queue_entries q JOIN runs r ON r.pk = q.run_pk "
    "WHERE q.queue = ? AND q.dedup_key = ?"
)
_INSERT = (
    "INSERT INTO queue_entries (run_pk, queue, queue_key, priority, dedup_key, state, "
    "enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_ENTRY_COLUMNS = (
    "q.queue, q.queue_key, q.priority, q.dedup_key, q.state, q.enqueued_at, q.dequeued_at"
)


def check_dedup(c: sqlite3.Connection, entry: QueueEntry) -> None:
    """Raise :class:`DuplicateQueued` when a live run holds the entry's dedup key; a finished
    holder gives it up."""
    if entry.dedup_key is None:
        return
    row = c.execute(_HOLDER, (entry.queue, entry.dedup_key)).fetchone()
    if row is None:
        return
    run_id, status, pk = row
    if RunStatus(status) not in TERMINAL:
        raise DuplicateQueued(entry.queue, entry.dedup_key, run_id)
    c.execute(
        f"UPDATE queue_entries SET dedup_key = NULL, state = '{DONE}' WHERE run_pk = ?", (pk,)
    )


def insert_entry(c: sqlite3.Connection, run_pk: int, entry: QueueEntry, now: datetime) -> None:
    c.execute(
        _INSERT,
        (run_pk, entry.queue, entry.key, entry.priority, entry.dedup_key, QUEUED, to_us(now)),
    )


def dequeue(c: sqlite3.Connection, queues: Sequence[Queue], now: datetime) -> int:
    """Dequeue what each queue's limits allow now (QUEUED runs become PENDING); the number."""
    at = to_us(now)
    total = 0
    for queue in queues:
        name = queue.name
        if c.execute(_ANY_WAITING, (name,)).fetchone() is None:
            continue
        running = recent = 0
        by_key: dict[str | None, int] = {}
        if queue.concurrency is not None or queue.per_key is not None:
            c.execute(_SWEEP, (name,))
            if queue.concurrency is not None:
                running = c.execute(_RUNNING, (name,)).fetchone()[0]
            if queue.per_key is not None:
                by_key = dict(c.execute(_RUNNING_BY_KEY, (name,)).fetchall())
        if queue.rate is not None:
            since = at - round(queue.rate[1] * 1_000_000)
            recent = c.execute(_RECENT, (name, since)).fetchone()[0]
        free = free_slots(queue, running, recent)
        if free <= 0:
            continue
        chosen = pick(queue, c.execute(_WAITING, (name,)), free, by_key)
        if chosen:
            c.executemany(_MARK_DEQUEUED, [(at, pk) for pk in chosen])
            c.executemany(_RUN_DEQUEUED, [(at, pk) for pk in chosen])
            total += len(chosen)
    return total


def entries(c: sqlite3.Connection, run_ids: Sequence[str]) -> dict[str, QueueEntry]:
    """The queue entries of those runs that have one."""
    found: dict[str, QueueEntry] = {}
    ids = list(dict.fromkeys(run_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = c.execute(
            f"SELECT r.id, {_ENTRY_COLUMNS} FROM runs r JOIN queue_entries q ON q.run_pk = r.pk "
            f"WHERE r.id IN ({', '.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
        for row in rows:
            found[row[0]] = _entry(row[1:])
    return found


def only_queues_clause(names: Sequence[str], params: dict[str, Any]) -> str:
    """The claim's condition for a worker that runs only these queues' runs."""
    names = sorted(set(names))
    params.update((f"q{i}", name) for i, name in enumerate(names))
    marks = ", ".join(f":q{i}" for i in range(len(names)))
    return f" AND r.pk IN (SELECT run_pk FROM queue_entries WHERE queue IN ({marks}))"


def _entry(row: Sequence[Any]) -> QueueEntry:
    return QueueEntry(row[0], row[1], row[2], row[3], row[4], from_us(row[5]), from_us(row[6]))
