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
    SCAN_PER_SLOT,
    DuplicateQueued,
    Queue,
    QueueEntry,
)
from wfkit.engine.status import TERMINAL, RunStatus

_TERMINAL = sorted(s.value for s in TERMINAL)
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('wfkit.queue:' || %s, 0))"
# The lock only when a run waits: a pass of an idle queue takes no lock and writes nothing.
_LOCK_IF_WAITING = (
    "SELECT pg_advisory_xact_lock(hashtextextended('wfkit.queue:' || %(queue)s, 0)) "
    f"FROM (SELECT 1 FROM queue_entries WHERE queue = %(queue)s AND state = '{QUEUED}' "
    "LIMIT 1) waiting"
)
# One statement per queue (after its lock, in a later statement: READ COMMITTED takes each
# statement's snapshot at its start, so this one sees every dequeue committed before the lock
# was granted). It is wfkit.engine.queues.pick in SQL: of the first waiting runs in order, a
# run is taken when its key has room (the ones going plus its rank among the key's waiting
# runs), up to the room left by concurrency and rate; runs of keys at their limit are not
# scanned (see wfkit.engine.queues.scan_limit). Entries whose run finished are marked done on
# the way (a data-modifying CTE always runs; its rows are not the ones counted). An entry whose
# run is no longer QUEUED (cancelled while it waited), or is paused or of a paused workflow
# (dequeued, it would hold a slot it cannot use), is passed over, by a lookup of the run's key
# per entry scanned (a subquery, so no plan can turn it into a scan of every QUEUED run).
_DEQUEUE = f"""
WITH live AS (
    SELECT q.queue_key FROM queue_entries q JOIN runs r ON r.id = q.run_id
    WHERE q.queue = %(queue)s AND q.state = '{DEQUEUED}' AND NOT r.status = ANY(%(terminal)s)
), swept AS (
    UPDATE queue_entries q SET state = '{DONE}', dedup_key = NULL FROM runs r
    WHERE r.id = q.run_id AND q.queue = %(queue)s AND q.state = '{DEQUEUED}'
    AND r.status = ANY(%(terminal)s) RETURNING 1
), busy AS (
    SELECT queue_key, count(*) AS n FROM live WHERE queue_key IS NOT NULL GROUP BY queue_key
), room AS (
    SELECT LEAST(
        COALESCE(%(concurrency)s - (SELECT count(*) FROM live), {SCAN_LIMIT}),
        COALESCE(%(rate)s - (SELECT count(*) FROM queue_entries
                             WHERE queue = %(queue)s AND dequeued_at > %(since)s), {SCAN_LIMIT})
    ) AS free
), waiting AS (
    SELECT q.run_id, q.queue_key, q.priority, q.seq FROM queue_entries q
    WHERE q.queue = %(queue)s AND q.state = '{QUEUED}'
    AND EXISTS (SELECT 1 FROM runs r WHERE r.id = q.run_id
                AND r.status = '{RunStatus.QUEUED.value}' AND NOT r.paused
                AND r.workflow NOT IN (SELECT workflow FROM paused_workflows))
    AND (%(per_key)s::integer IS NULL OR q.queue_key IS NULL OR q.queue_key NOT IN (
        SELECT queue_key FROM busy WHERE n >= %(per_key)s::integer))
    ORDER BY q.priority, q.seq
    LIMIT (SELECT CASE WHEN %(per_key)s::integer IS NULL THEN GREATEST(free, 0)
                  ELSE LEAST({SCAN_LIMIT}, GREATEST(free, 0) * {SCAN_PER_SLOT}) END FROM room)
), ranked AS (
    SELECT w.*, row_number() OVER (PARTITION BY w.queue_key ORDER BY w.priority, w.seq) AS nth
    FROM waiting w
), chosen AS (
    SELECT k.run_id FROM ranked k LEFT JOIN busy b ON b.queue_key = k.queue_key
    WHERE k.queue_key IS NULL OR %(per_key)s::integer IS NULL
       OR COALESCE(b.n, 0) + k.nth <= %(per_key)s::integer
    ORDER BY k.priority, k.seq
    LIMIT (SELECT GREATEST(free, 0) FROM room)
), marked AS (
    UPDATE queue_entries SET state = '{DEQUEUED}', dequeued_at = %(now)s
    WHERE run_id IN (SELECT run_id FROM chosen) RETURNING run_id
)
UPDATE runs SET status = '{RunStatus.PENDING.value}', updated_at = %(now)s
WHERE id IN (SELECT run_id FROM marked) AND status = '{RunStatus.QUEUED.value}'
"""
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


def with_entry(
    insert_run: str, row: Sequence[Any], entry: QueueEntry, now: datetime
) -> tuple[str, list[Any]]:
    """``insert_run`` (an ``INSERT INTO runs ... RETURNING``) adding the run's queue entry
    too, when a run is created: one statement instead of two (an entry without a dedup key
    needs no lock)."""
    sql = (
        f"WITH created AS ({insert_run}), queued AS (INSERT INTO queue_entries (run_id, queue, "
        "queue_key, priority, dedup_key, state, enqueued_at) SELECT id, %s, %s, %s, %s, %s, %s "
        "FROM created) SELECT * FROM created"
    )
    return sql, [*row, entry.queue, entry.key, entry.priority, None, QUEUED, now]


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


def dequeue(cur: Any, queues: Sequence[Queue], now: datetime) -> None:
    """Dequeue what each queue's limits allow now (QUEUED runs become PENDING), queues in name
    order. Two statements a queue and no result read back: the caller may pipeline them with
    its claim (one round trip)."""
    for queue in sorted(queues, key=lambda q: q.name):
        cur.execute(_LOCK_IF_WAITING, {"queue": queue.name})
        rate, period = queue.rate if queue.rate is not None else (None, 0.0)
        cur.execute(
            _DEQUEUE,
            {
                "queue": queue.name,
                "terminal": _TERMINAL,
                "concurrency": queue.concurrency,
                "per_key": queue.per_key,
                "rate": rate,
                "since": now - timedelta(seconds=period),
                "now": now,
            },
        )


def entries(cur: Any, run_ids: Sequence[str]) -> dict[str, QueueEntry]:
    rows = cur.execute(_ENTRIES, (list(dict.fromkeys(run_ids)),)).fetchall()
    return {row[0]: QueueEntry(*row[1:]) for row in rows}


def only_queues_clause(names: Sequence[str], params: dict[str, Any]) -> str:
    """The claim's condition for a worker that runs only these queues' runs."""
    params["only_queues"] = sorted(set(names))
    return " AND id IN (SELECT run_id FROM queue_entries WHERE queue = ANY(%(only_queues)s))"
