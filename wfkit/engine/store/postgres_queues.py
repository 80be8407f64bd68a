"""The PostgreSQL store's queue statements (:mod:`wfkit.engine.queues`), run on the cursor of
one of its transactions.

Every dequeue pass of a queue, and every start that holds a dedup key, first takes the queue's
transaction-level advisory lock (``pg_advisory_xact_lock`` on a hash of its name): passes of
one queue run one at a time across every worker and machine, so counting its running runs and
dequeuing within the limits is atomic, and the lock goes with the transaction (a worker that
dies holds nothing). Queues are locked in name order, so two passes never wait on each other
in a circle.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
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

_TERMINAL = sorted(s.value for s in TERMINAL)
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('wfkit.queue:' || %s, 0))"
_ANY_WAITING = f"SELECT 1 FROM queue_entries WHERE queue = %s AND state = '{QUEUED}' LIMIT 1"
_SWEEP = (
    f"UPDATE queue_entries q SET state = '{DONE}', dedup_key = NULL FROM runs r "
    f"WHERE r.id = q.run_id AND q.queue = %s AND q.state = '{DEQUEUED}' "
    "AND r.status = ANY(%s)"
)
_RUNNING = f"SELECT count(*) FROM queue_entries WHERE queue = %s AND state = '{DEQUEUED}'"
_RUNNING_BY_KEY = (
    f"SELECT queue_key, count(*) FROM queue_entries WHERE queue = %s AND state = '{DEQUEUED}' "
    "AND queue_key IS NOT NULL GROUP BY queue_key"
)
_RECENT = "SELECT count(*) FROM queue_entries WHERE queue = %s AND dequeued_at > %s"
_WAITING = (
    "SELECT q.run_id, q.queue_key FROM queue_entries q JOIN runs r ON r.id = q.run_id "
    f"WHERE q.queue = %s AND q.state = '{QUEUED}' AND r.status = '{RunStatus.QUEUED.value}' "
    f"ORDER BY q.priority, q.seq LIMIT {SCAN_LIMIT}"
)
_MARK_DEQUEUED = (
    f"UPDATE queue_entries SET state = '{DEQUEUED}', dequeued_at = %s WHERE run_id = ANY(%s)"
)
_RUN_DEQUEUED = (
    f"UPDATE runs SET status = '{RunStatus.PENDING.value}', updated_at = %s "
    f"WHERE id = ANY(%s) AND status = '{RunStatus.QUEUED.value}'"
)
_HOLDER = (
    "SELECT r.id, r.status FROM queue_entries q JOIN runs r ON r.id = q.run_id "
    "WHERE q.queue = %s AND q.dedup_key = %s"
)
_INSERT = (
    "INSERT INTO queue_entries (run_id, queue, queue_key, priority, dedup_key, state, "
    "enqueued_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
_ENTRIES = (
    "SELECT run_id, queue, queue_key, priority, dedup_key, state, enqueued_at, dequeued_at "
    "FROM queue_entries WHERE run_id = ANY(%s)"
)


def enqueue(cur: Any, run_id: str, entry: QueueEntry, now: datetime) -> None:
    """Add the run's entry; a dedup key held by a live run raises :class:`DuplicateQueued`."""
    if entry.dedup_key is not None:
        cur.execute(_LOCK, (entry.queue,))
        holder = cur.execute(_HOLDER, (entry.queue, entry.dedup_key)).fetchone()
        if holder is not None:
            if RunStatus(holder[1]) not in TERMINAL:
                raise DuplicateQueued(entry.queue, entry.dedup_key, holder[0])
            cur.execute(
                f"UPDATE queue_entries SET dedup_key = NULL, state = '{DONE}' WHERE run_id = %s",
                (holder[0],),
            )
    cur.execute(
        _INSERT,
        (run_id, entry.queue, entry.key, entry.priority, entry.dedup_key, QUEUED, now),
    )


def dequeue(cur: Any, queues: Sequence[Queue], now: datetime) -> int:
    """Dequeue what each queue's limits allow now (QUEUED runs become PENDING); the number."""
    total = 0
    for queue in sorted(queues, key=lambda q: q.name):
        name = queue.name
        if cur.execute(_ANY_WAITING, (name,)).fetchone() is None:
            continue  # nothing waits: no lock taken
        cur.execute(_LOCK, (name,))
        running = recent = 0
        by_key: dict[str | None, int] = {}
        if queue.concurrency is not None or queue.per_key is not None:
            cur.execute(_SWEEP, (name, _TERMINAL))
            if queue.concurrency is not None:
                running = cur.execute(_RUNNING, (name,)).fetchone()[0]
            if queue.per_key is not None:
                by_key = dict(cur.execute(_RUNNING_BY_KEY, (name,)).fetchall())
        if queue.rate is not None:
            since = now - timedelta(seconds=queue.rate[1])
            recent = cur.execute(_RECENT, (name, since)).fetchone()[0]
        free = free_slots(queue, running, recent)
        if free <= 0:
            continue
        waiting = cur.execute(_WAITING, (name,)).fetchall()
        chosen = pick(queue, waiting, free, by_key)
        if chosen:
            cur.execute(_MARK_DEQUEUED, (now, chosen))
            cur.execute(_RUN_DEQUEUED, (now, chosen))
            total += len(chosen)
    return total


def entries(cur: Any, run_ids: Sequence[str]) -> dict[str, QueueEntry]:
    rows = cur.execute(_ENTRIES, (list(dict.fromkeys(run_ids)),)).fetchall()
    return {row[0]: QueueEntry(*row[1:]) for row in rows}


def only_queues_clause(names: Sequence[str], params: dict[str, Any]) -> str:
    """The claim's condition for a worker that runs only these queues' runs."""
    params["only_queues"] = sorted(set(names))
    return " AND id IN (SELECT run_id FROM queue_entries WHERE queue = ANY(%(only_queues)s))"
