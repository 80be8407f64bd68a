"""The PostgreSQL store's read-only queries, which
:class:`~wfkit.engine.store.postgres.PostgresStore` inherits: listing, counting and showing
runs, their operations and history, schedules, paused workflows, pending events, the next wake
time and what ``prune`` may delete.

Each borrows a pooled connection for its statement only (see the store's ``_cursor``) and,
queue entries aside, turns rows into records after handing it back. Nothing here writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from wfkit.engine.queues import QueueEntry
from wfkit.engine.status import ACTIVE, PARKED, OpKind, OpStatus, RunStatus
from wfkit.engine.store import postgres_queues
from wfkit.engine.store.base import (
    EventRecord,
    HistoryEntry,
    OperationRecord,
    PatchMark,
    RunRecord,
    ScheduleState,
    sort_marks,
)
from wfkit.engine.store.postgres_rows import (
    OP_COLUMNS,
    RUN_SELECT,
    as_text,
    aware,
    one_row,
    run_from_row,
    with_result,
)
from wfkit.engine.store.sql_shared import (
    EVENT_COLUMNS,
    NOT_PAUSED,
    SCHEDULE_COLUMNS,
    prunable_where,
    run_filters,
)

if TYPE_CHECKING:
    import psycopg

_OP_SELECT = (
    "SELECT "
    + ", ".join("COALESCE(o.result, h.result)" if c == "result" else f"o.{c}" for c in OP_COLUMNS)
    + " FROM operations o LEFT JOIN history h ON h.run_id = o.run_id AND h.idx = o.result_idx"
    " WHERE o.run_id = %s ORDER BY o.seq"
)
_ON_QUEUE = "id IN (SELECT run_id FROM queue_entries WHERE queue = %s)"  # list_runs(queue=)
_LIVE = sorted(s.value for s in ACTIVE | PARKED)
_DONE_STEP = (OpStatus.COMPLETED.value, OpStatus.SKIPPED.value)  # steps that count as done


class PostgresReads:
    """The read-only half of :class:`~wfkit.engine.store.postgres.PostgresStore` (see module
    docstring)."""

    # The store's: a cursor on a pooled connection, handed back when the block ends.
    _cursor: Callable[[], AbstractContextManager[psycopg.Cursor[Any]]]

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._cursor() as cur:
            row = cur.execute(f"{RUN_SELECT} WHERE id = %s", (run_id,)).fetchone()
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
            "%s",
            None if status is None else as_text(status),
            workflow,
            parent_id,
            before,
            None if queue is None else (_ON_QUEUE, queue),
        )
        sql = RUN_SELECT + condition + " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(max(limit, 0))
        with self._cursor() as cur:
            rows = cur.execute(sql, params).fetchall()
        return [run_from_row(row) for row in rows]

    def count_runs(self, *, workflow: str | None = None) -> dict[RunStatus, int]:
        sql = "SELECT status, count(*) FROM runs"
        params: list[Any] = []
        if workflow is not None:
            sql += " WHERE workflow = %s"
            params.append(workflow)
        with self._cursor() as cur:
            rows = cur.execute(sql + " GROUP BY status", params).fetchall()
        return {RunStatus(status): count for status, count in rows}

    def steps_done(self, run_ids: Sequence[str]) -> dict[str, int]:
        done = dict.fromkeys(run_ids, 0)
        if done:
            with self._cursor() as cur:
                rows = cur.execute(
                    "SELECT run_id, count(*) FROM operations WHERE run_id = ANY(%s) "
                    "AND kind = %s AND status IN (%s, %s) GROUP BY run_id",
                    (list(done), OpKind.STEP.value, *_DONE_STEP),
                ).fetchall()
            done.update(rows)
        return done

    def operations(self, run_id: str) -> list[OperationRecord]:
        with self._cursor() as cur:
            rows = cur.execute(_OP_SELECT, (run_id,)).fetchall()
        return [
            OperationRecord(
                r[0],
                r[1],
                OpKind(r[2]),
                r[3],
                OpStatus(r[4]),
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                r[10],
                r[11],
                r[12],
            )
            for r in rows
        ]

    def history(self, run_id: str) -> list[HistoryEntry]:
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT run_id, at, type, seq, name, data, idx, result FROM history "
                "WHERE run_id = %s ORDER BY idx",
                (run_id,),
            ).fetchall()
        return [
            HistoryEntry(r[0], r[1], r[2], r[3], r[4], with_result(json.loads(r[5]), r[7]), r[6])
            for r in rows
        ]

    def patch_marks(self) -> list[PatchMark]:
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT r.workflow, o.name, r.id, r.status, r.created_at, o.started_at "
                "FROM operations o JOIN runs r ON r.id = o.run_id WHERE o.kind = %s",
                (OpKind.PATCH.value,),
            ).fetchall()
        return sort_marks(PatchMark(r[0], r[1], r[2], RunStatus(r[3]), r[4], r[5]) for r in rows)

    # -- schedules --------------------------------------------------------------------------------
    def schedule_states(self) -> list[ScheduleState]:
        with self._cursor() as cur:
            rows = cur.execute(f"SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY name").fetchall()
        return [ScheduleState(*row) for row in rows]

    # -- paused workflows ---------------------------------------------------------------------------
    def paused_workflows(self) -> dict[str, datetime]:
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT workflow, paused_at FROM paused_workflows ORDER BY workflow"
            ).fetchall()
        return {name: at for name, at in rows}

    # -- events -----------------------------------------------------------------------------------
    def pending_events(self, run_id: str, name: str) -> list[EventRecord]:
        with self._cursor() as cur:
            rows = cur.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE run_id = %s AND name = %s "
                "AND consumed_seq IS NULL ORDER BY id",
                (run_id, name),
            ).fetchall()
        return [EventRecord(*row) for row in rows]

    def queue_entries(self, run_ids: Sequence[str]) -> dict[str, QueueEntry]:
        if not run_ids:
            return {}
        with self._cursor() as cur:
            return postgres_queues.entries(cur, run_ids)

    # -- leases -----------------------------------------------------------------------------------
    def next_wake(self) -> datetime | None:
        """The earliest wake_at of any live run: active runs can wait out a retry delay too."""
        with self._cursor() as cur:
            row = cur.execute(
                f"SELECT MIN(wake_at) FROM runs WHERE status = ANY(%s) {NOT_PAUSED}", (_LIVE,)
            ).fetchone()
        wake_at: datetime | None = one_row(row)[0]
        return wake_at

    # -- retention --------------------------------------------------------------------------------
    def prunable_runs(
        self, finished_before: datetime, statuses: Collection[RunStatus]
    ) -> list[str]:
        sql = (
            f"SELECT r.id FROM runs r WHERE {prunable_where(statuses, '%s')} "
            "ORDER BY r.finished_at, r.id"
        )
        with self._cursor() as cur:
            rows = cur.execute(sql, (aware(finished_before),)).fetchall()
        return [row[0] for row in rows]
