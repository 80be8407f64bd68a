"""The SQLite store's read-only queries, which :class:`~wfkit.engine.store.sqlite.SqliteStore`
inherits: listing, counting and showing runs, their operations and history, schedules, paused
workflows, pending events, the next wake time and what ``prune`` may delete.

Each takes the store's lock around its statements only (one shared connection: see the store's
module docstring) and, queue entries aside, turns rows into records after letting go of it, so
a long history or page of runs holds up no commit while it is converted. Nothing here writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from wfkit.engine.queues import QueueEntry
from wfkit.engine.status import ACTIVE, PARKED, OpKind, OpStatus, RunStatus
from wfkit.engine.store import sqlite_queues
from wfkit.engine.store.base import (
    EventRecord,
    HistoryEntry,
    OperationRecord,
    PatchMark,
    RunRecord,
    ScheduleState,
    op_snapshot,
    sort_marks,
)
from wfkit.engine.store.sql_shared import (
    EVENT_COLUMNS,
    NOT_PAUSED,
    SCHEDULE_COLUMNS,
    prunable_where,
    run_filters,
)
from wfkit.engine.store.sqlite_errors import store_error
from wfkit.engine.store.sqlite_rows import (
    HISTORY_OP_COLUMNS,
    OP_COLUMNS,
    RUN_SELECT,
    SPAN,
    at_us,
    from_us,
    op_record,
    run_from_row,
    to_us,
)
from wfkit.errors import StoreError

# list_runs(queue=...): by id, the one column both of list_runs' selects name unambiguously.
_ON_QUEUE = (
    "id IN (SELECT q_r.id FROM queue_entries q JOIN runs q_r ON q_r.pk = q.run_pk "
    "WHERE q.queue = ?)"
)
_RUN_SELECT_NEWEST = RUN_SELECT.replace("FROM runs r", "FROM runs r INDEXED BY runs_created")
# list_runs by status: a status with at least this many runs is looked for newest first.
_COMMON_STATUS = 2000
_STATUS_SAMPLE = "SELECT count(*) FROM (SELECT 1 FROM runs WHERE status = ? LIMIT ?)"
# A run's range of keys, found from its id: one unique-index seek, then a rowid range scan.
_RUN_RANGE = (
    f"FROM runs r JOIN {{table}} t ON t.key BETWEEN r.pk * {SPAN} "
    f"AND r.pk * {SPAN} + {SPAN - 1} WHERE r.id = ? ORDER BY t.key"
)
_OP_SELECT = (
    f"SELECT t.key - r.pk * {SPAN}, "
    + ", ".join("COALESCE(t.result, h.result)" if c == "result" else "t." + c for c in OP_COLUMNS)
    + f" FROM runs r JOIN operations t ON t.key BETWEEN r.pk * {SPAN} "
    f"AND r.pk * {SPAN} + {SPAN - 1} LEFT JOIN history h ON h.key = t.result_key "
    "WHERE r.id = ? ORDER BY t.key"
)
# The completed or skipped steps of the runs named (`wfkit list`'s STEPS DONE), in one read.
_STEPS_DONE = (
    f"SELECT r.id, count(*) FROM runs r JOIN operations t ON t.key BETWEEN r.pk * {SPAN} "
    f"AND r.pk * {SPAN} + {SPAN - 1} WHERE r.id IN ({{marks}}) AND t.kind = '{OpKind.STEP.value}' "
    f"AND t.status IN ('{OpStatus.COMPLETED.value}', '{OpStatus.SKIPPED.value}') GROUP BY r.id"
)
_IDS_PER_QUERY = 500  # bound parameters per statement: under every SQLite build's limit
_HISTORY_SELECT = (
    f"SELECT t.key - r.pk * {SPAN}, t.at, t.type, t.seq, t.name, t.data, "
    f"{', '.join('t.' + c for c in HISTORY_OP_COLUMNS)} " + _RUN_RANGE.format(table="history")
)
_LIVE_SQL = ", ".join(f"'{s.value}'" for s in sorted(ACTIVE | PARKED))


class SqliteReads:
    """The read-only half of :class:`~wfkit.engine.store.sqlite.SqliteStore` (see module
    docstring), and the error mapping both halves share."""

    # The store's (set by SqliteStore.__init__).
    timeout: float
    _lock: threading.Lock
    _conn: sqlite3.Connection
    _where: str

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            row = self._read(
                lambda c: c.execute(f"{RUN_SELECT} WHERE id = ?", (run_id,)).fetchone()
            )
        return None if row is None else run_from_row(row)

    def list_runs(
        self,
        *,
        status: RunStatus | None = None,
        workflow: str | None = None,
        parent_id: str | None = None,
        limit: int | None = None,
        before: tuple[datetime, str] | None = None,
        queue: str | None = None,
    ) -> list[RunRecord]:
        condition, params = run_filters(
            "?",
            status,
            workflow,
            parent_id,
            None if before is None else (to_us(before[0]), before[1]),
            None if queue is None else (_ON_QUEUE, queue),
        )
        order = " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            order += " LIMIT ?"
            params.append(max(limit, 0))

        def read(c: sqlite3.Connection) -> list[Any]:
            sql = RUN_SELECT + condition + order
            if status is not None and parent_id is None and limit is not None:
                # Without table statistics SQLite fetches every run of the status through
                # runs_claim and sorts them all: 250 ms for 94,000 COMPLETED runs of 100,000.
                # A common status is found sooner walking runs_created newest first; a rare
                # one is still fetched by status, sorting only (created_at, id) keys.
                common = c.execute(_STATUS_SAMPLE, (status, _COMMON_STATUS)).fetchone()[0]
                if common >= _COMMON_STATUS:
                    sql = _RUN_SELECT_NEWEST + condition + order
                else:
                    sql = (
                        RUN_SELECT
                        + " WHERE r.pk IN (SELECT pk FROM runs"
                        + condition
                        + order
                        + ") ORDER BY r.created_at DESC, r.id DESC"
                    )
            return c.execute(sql, params).fetchall()

        with self._lock:
            rows = self._read(read)
        return [run_from_row(row) for row in rows]

    def count_runs(self, *, workflow: str | None = None) -> dict[RunStatus, int]:
        sql = "SELECT status, count(*) FROM runs"
        params: list[Any] = []
        if workflow is not None:
            sql += " WHERE workflow = ?"
            params.append(workflow)
        with self._lock:
            rows = self._read(lambda c: c.execute(sql + " GROUP BY status", params).fetchall())
        return {RunStatus(status): count for status, count in rows}

    def steps_done(self, run_ids: Sequence[str]) -> dict[str, int]:
        done = dict.fromkeys(run_ids, 0)
        ids = list(done)
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            sql = _STEPS_DONE.format(marks=", ".join("?" * len(chunk)))

            def read(c: sqlite3.Connection, sql: str = sql, chunk: list[str] = chunk) -> list[Any]:
                return c.execute(sql, chunk).fetchall()

            with self._lock:
                done.update(self._read(read))
        return done

    def operations(self, run_id: str) -> list[OperationRecord]:
        with self._lock:
            rows = self._read(lambda c: c.execute(_OP_SELECT, (run_id,)).fetchall())
        return [op_record(run_id, r[0], r[1:]) for r in rows]

    def history(self, run_id: str) -> list[HistoryEntry]:
        with self._lock:
            rows = self._read(lambda c: c.execute(_HISTORY_SELECT, (run_id,)).fetchall())
        return [
            HistoryEntry(
                run_id,
                at_us(r[1]),
                r[2],
                r[3],
                r[4],
                json.loads(r[5])
                if r[5] is not None
                else op_snapshot(op_record(run_id, r[3], (r[6], r[4], *r[7:16]))),
                r[0],
            )
            for r in rows
        ]

    def patch_marks(self) -> list[PatchMark]:
        # One pass over the operations (no index on kind: markers are rare and this is an
        # admin query); each marker finds its run by the key's upper bits, the run's pk.
        sql = (
            "SELECT r.workflow, t.name, r.id, r.status, r.created_at, t.started_at "
            f"FROM operations t JOIN runs r ON r.pk = t.key / {SPAN} WHERE t.kind = ?"
        )
        with self._lock:
            rows = self._read(lambda c: c.execute(sql, (OpKind.PATCH.value,)).fetchall())
        return sort_marks(
            PatchMark(r[0], r[1], r[2], RunStatus(r[3]), at_us(r[4]), from_us(r[5])) for r in rows
        )

    # -- schedules --------------------------------------------------------------------------------
    def schedule_states(self) -> list[ScheduleState]:
        sql = f"SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY name"
        with self._lock:
            rows = self._read(lambda c: c.execute(sql).fetchall())
        return [
            ScheduleState(
                r[0], r[1], r[2], from_us(r[3]), from_us(r[4]), r[5], bool(r[6]), from_us(r[7])
            )
            for r in rows
        ]

    # -- paused workflows ---------------------------------------------------------------------------
    def paused_workflows(self) -> dict[str, datetime]:
        with self._lock:
            rows = self._read(
                lambda c: c.execute(
                    "SELECT workflow, paused_at FROM paused_workflows ORDER BY workflow"
                ).fetchall()
            )
        return {name: at_us(at) for name, at in rows}

    # -- events -----------------------------------------------------------------------------------
    def pending_events(self, run_id: str, name: str) -> list[EventRecord]:
        with self._lock:
            rows = self._read(
                lambda c: c.execute(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE run_id = ? AND name = ? "
                    "AND consumed_seq IS NULL ORDER BY id",
                    (run_id, name),
                ).fetchall()
            )
        return [EventRecord(r[0], r[1], r[2], r[3], at_us(r[4]), r[5]) for r in rows]

    def queue_entries(self, run_ids: Sequence[str]) -> dict[str, QueueEntry]:
        with self._lock:
            return dict(self._read(lambda c: sqlite_queues.entries(c, run_ids)))

    # -- leases -----------------------------------------------------------------------------------
    def next_wake(self) -> datetime | None:
        """The earliest wake_at of any live run: active runs can wait out a retry delay too."""
        with self._lock:
            row = self._read(
                lambda c: c.execute(
                    f"SELECT MIN(wake_at) FROM runs WHERE status IN ({_LIVE_SQL}) {NOT_PAUSED}"
                ).fetchone()
            )
        return from_us(row[0])

    # -- retention --------------------------------------------------------------------------------
    def prunable_runs(
        self, finished_before: datetime, statuses: Collection[RunStatus]
    ) -> list[str]:
        sql = (
            f"SELECT r.id FROM runs r WHERE {prunable_where(statuses, '?')} "
            "ORDER BY r.finished_at, r.id"
        )
        with self._lock:
            rows = self._read(lambda c: c.execute(sql, (to_us(finished_before),)).fetchall())
        return [row[0] for row in rows]

    # -- plumbing ---------------------------------------------------------------------------------
    def _read(self, query: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run a read (the caller holds the lock); map SQLite failures to StoreError."""
        try:
            return query(self._conn)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _error(self, exc: sqlite3.Error) -> StoreError:
        return store_error(exc, self._where, self.timeout)
