"""The embedded store: one SQLite file in WAL mode, zero setup, safe across processes.

``SqliteStore("sqlite:///wfkit.db?synchronous=FULL&timeout=5")``

- ``synchronous=FULL`` (default) fsyncs every commit, so a checkpoint survives power loss;
  ``NORMAL`` in WAL mode survives a crashed *process* but may lose the last commits on power
  loss, for about 10x cheaper commits. The durable choice is the default; the fast one is opt-in.
- ``timeout`` is how long (seconds) a write waits for another process's lock before a clear
  :class:`StoreError`.

Every write is one ``BEGIN IMMEDIATE`` transaction: it takes SQLite's single write lock up
front, so a transaction never fails half-way on a lock upgrade and claims are atomic across
processes. :meth:`SqliteStore.commit` is the engine's hot path (one call per successful step):
the lease fence is folded into the run's ``UPDATE`` (its row count says whether the lease is
still held), statements are reused from sqlite3's statement cache, and rows go in with
``executemany`` — no reads beyond the fence. Lease-only writes (claim, heartbeat, release) are
not fsynced even at FULL: a lost lease only sends a run back to the pool (see ``_write``).
Leases are measured with the times the engine passes (its clock): every process on the one
machine that can open the file reads the same system clock.

The store is split by job: its URL (:mod:`sqlite_url`), rows (:mod:`sqlite_rows`), read-only
queries (:mod:`sqlite_reads`), checkpoint writes (:mod:`sqlite_checkpoint`), claims
(:mod:`sqlite_claim`), queues (:mod:`sqlite_queues`), schema (:mod:`sqlite_schema`) and errors
(:mod:`sqlite_errors`); this module holds the connection, its lock and the other writes.

Threads share one connection behind a lock. SQLite serialises writers anyway; a Python lock
hands the connection over at once where per-thread connections would wait in SQLite's
sleeping busy handler, and ``:memory:`` needs a single connection regardless.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from wfkit.engine.queues import Queue, QueueEntry
from wfkit.engine.status import RunStatus
from wfkit.engine.store import sqlite_claim, sqlite_queues, sqlite_schema
from wfkit.engine.store.base import Checkpoint, EventRecord, HistoryEntry, RunRecord, ScheduleState
from wfkit.engine.store.group_commit import GroupCommit
from wfkit.engine.store.sql_shared import (
    SCHEDULE_COLUMNS,
    check_access,
    check_access_mode,
    prunable_where,
)
from wfkit.engine.store.sqlite_checkpoint import (
    FenceStatements,
    Prepared,
    append_history,
    apply,
    commit_batch,
    insert_event,
    prepare,
)
from wfkit.engine.store.sqlite_reads import SqliteReads
from wfkit.engine.store.sqlite_rows import (
    INPUT_AT,
    RUN_SELECT,
    RUN_TABLE_COLUMNS,
    SPAN,
    at_us,
    history_rows,
    run_from_row,
    run_row,
    to_us,
)
from wfkit.engine.store.sqlite_url import parse_url
from wfkit.errors import NoStore, StoreError


class SqliteStore(SqliteReads):
    """The :class:`~wfkit.engine.store.base.Store` protocol on one SQLite file (see module
    docstring). It inherits its read-only queries from :class:`SqliteReads`; its checkpoints
    are written by :mod:`sqlite_checkpoint`'s functions, on its connection and under its lock."""

    def __init__(self, url: str, *, access: str = "create") -> None:
        """``access``: ``create`` makes or upgrades the file; ``existing`` upgrades an older
        wfkit file but refuses a missing or empty one; ``read`` changes nothing at all."""
        check_access_mode(access)
        self.url = url
        self.path, self.synchronous, self.timeout, grouped = parse_url(url)
        self._lock = threading.Lock()
        self._group: GroupCommit[Prepared] | None = (
            GroupCommit(self._commit_batch) if grouped else None
        )
        self._update_sql: FenceStatements = {}
        memory = self.path == ":memory:"
        where = "the in-memory database" if memory else self.path
        self._where = where
        if not memory:
            sqlite_schema.check_file_header(self.path)
            if access != "create" and not os.path.exists(self.path):
                raise NoStore(self.path, "the file does not exist")
            if access != "create" and os.path.getsize(self.path) == 0:
                raise NoStore(self.path, "the file is empty")
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.timeout,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=256,
            )
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            version = sqlite_schema.schema_version(conn, where)
            check_access(version, sqlite_schema.LATEST_VERSION, where, access)
            if not memory:
                sqlite_schema.enable_wal(conn, self.timeout)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            if version < sqlite_schema.LATEST_VERSION:
                sqlite_schema.migrate(conn, where)
        except sqlite3.Error as exc:
            conn.close()
            raise self._error(exc) from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._cursor = conn.cursor()

    # -- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteStore({self.url!r})"

    def pragmas(self) -> dict[str, Any]:
        """The connection's effective settings, for diagnostics (`wfkit` and tests)."""
        with self._lock:
            return self._read(
                lambda c: {
                    "journal_mode": c.execute("PRAGMA journal_mode").fetchone()[0],
                    "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[
                        c.execute("PRAGMA synchronous").fetchone()[0]
                    ],
                    "busy_timeout_ms": c.execute("PRAGMA busy_timeout").fetchone()[0],
                }
            )

    # -- runs -------------------------------------------------------------------------------------
    def create_run(
        self,
        run: RunRecord,
        history: Sequence[HistoryEntry],
        *,
        queue: QueueEntry | None = None,
    ) -> tuple[RunRecord, bool]:
        row = run_row(run)
        table_row = row[:INPUT_AT] + row[INPUT_AT + 1 :]
        entries = history_rows(history, (), [])
        sql = (
            f"INSERT OR IGNORE INTO runs ({', '.join(RUN_TABLE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(RUN_TABLE_COLUMNS))})"
        )

        def write(c: sqlite3.Connection) -> tuple[RunRecord, bool]:
            cursor = c.execute(sql, table_row)
            if cursor.rowcount == 0:
                existing = c.execute(f"{RUN_SELECT} WHERE id = ?", (run.id,)).fetchone()
                return run_from_row(existing), False
            key = cursor.lastrowid or 0
            if key > sqlite_schema.MAX_RUN_KEY:
                raise StoreError(
                    f"{self._where} has run out of run keys ({sqlite_schema.MAX_RUN_KEY} runs)",
                    hint="start a new store file",
                )
            c.execute("INSERT INTO run_inputs (pk, input) VALUES (?, ?)", (key, run.input))
            if queue is not None:  # a queued run: its entry in the same transaction
                sqlite_queues.check_dedup(c, queue)
                sqlite_queues.insert_entry(c, key, queue, run.created_at)
            if entries:
                append_history(c, run.id, key, entries)
            return run_from_row(row), True

        return self._write(write)

    # -- schedules --------------------------------------------------------------------------------
    def save_schedule(self, state: ScheduleState) -> bool:
        values = (
            state.workflow,
            state.revision + 1,
            to_us(state.handled_until),
            to_us(state.buffered_tick),
            state.last_run_id,
            int(state.paused),
            to_us(state.updated_at),
        )

        def write(c: sqlite3.Connection) -> bool:
            if state.revision == 0:
                cursor = c.execute(
                    f"INSERT OR IGNORE INTO schedules ({SCHEDULE_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (state.name, *values),
                )
            else:
                cursor = c.execute(
                    "UPDATE schedules SET workflow = ?, revision = ?, handled_until = ?, "
                    "buffered_tick = ?, last_run_id = ?, paused = ?, updated_at = ? "
                    "WHERE name = ? AND revision = ?",
                    (*values, state.name, state.revision),
                )
            return cursor.rowcount == 1

        return bool(self._write(write))

    def set_schedule_paused(self, name: str, workflow: str, paused: bool, now: datetime) -> None:
        def write(c: sqlite3.Connection) -> None:
            c.execute(
                f"INSERT INTO schedules ({SCHEDULE_COLUMNS}) VALUES (?, ?, 1, NULL, NULL, NULL, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, "
                "revision = revision + 1, updated_at = excluded.updated_at",
                (name, workflow, int(paused), to_us(now)),
            )

        self._write(write)

    # -- paused workflows ---------------------------------------------------------------------------
    def set_workflow_paused(self, workflow: str, paused: bool, now: datetime) -> bool:
        def write(c: sqlite3.Connection) -> bool:
            if paused:
                sql = "INSERT INTO paused_workflows VALUES (?, ?) ON CONFLICT DO NOTHING"
                return c.execute(sql, (workflow, to_us(now))).rowcount == 1
            sql = "DELETE FROM paused_workflows WHERE workflow = ?"
            return c.execute(sql, (workflow,)).rowcount == 1

        return bool(self._write(write))

    # -- the one write path -----------------------------------------------------------------------
    def commit(
        self,
        run_id: str,
        checkpoint: Checkpoint,
        *,
        lease_owner: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        prepared = self._prepare(run_id, checkpoint, lease_owner, now)
        if self._group is not None:
            return bool(self._group.submit(prepared))
        return self._commit_one(prepared)

    async def commit_async(
        self,
        run_id: str,
        checkpoint: Checkpoint,
        *,
        lease_owner: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """:meth:`commit` for a task on a worker's event loop: it joins the next group commit
        and waits without blocking the loop (see :mod:`group_commit`)."""
        prepared = self._prepare(run_id, checkpoint, lease_owner, now)
        if self._group is not None:
            return bool(await self._group.submit_async(prepared))
        return self._commit_one(prepared)

    def _commit_batch(self, batch: Sequence[Prepared]) -> list[tuple[bool, Any]]:
        """Several runs' checkpoints in one transaction (see :mod:`group_commit` and
        :func:`sqlite_checkpoint.commit_batch`)."""
        if len(batch) == 1:  # one run in flight: exactly the single-checkpoint path
            try:
                return [(True, self._commit_one(batch[0]))]
            except Exception as error:
                return [(False, error)]
        with self._lock:
            return commit_batch(self._cursor, batch, self._error)

    def _commit_one(self, prepared: Prepared) -> bool:
        with self._lock:
            cur = self._cursor  # one reused cursor: no cursor object per statement
            try:
                cur.execute("BEGIN IMMEDIATE")
                try:
                    flag = apply(cur, prepared)
                    cur.execute("COMMIT")
                    return flag
                except BaseException:
                    if self._conn.in_transaction:
                        cur.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

    def _prepare(
        self, run_id: str, checkpoint: Checkpoint, lease_owner: str | None, now: datetime | None
    ) -> Prepared:
        """Everything that can fail on bad input, done before any transaction begins."""
        return prepare(self._update_sql, run_id, checkpoint, lease_owner, now)

    # -- events -----------------------------------------------------------------------------------
    def add_event(self, run_id: str, name: str, payload: str, at: datetime) -> EventRecord:
        when = to_us(at)

        def write(c: sqlite3.Connection) -> EventRecord:
            event_id = insert_event(c.cursor(), run_id, name, payload, when)
            return EventRecord(event_id, run_id, name, payload, at_us(when))

        return self._write(write)

    # -- leases -----------------------------------------------------------------------------------
    def claim(
        self,
        owner: str,
        now: datetime,
        lease_until: datetime,
        *,
        limit: int = 1,
        run_id: str | None = None,
        workflows: Sequence[str] | None = None,
        queues: Sequence[Queue] = (),
        only_queues: Sequence[str] | None = None,
    ) -> list[RunRecord]:
        if limit <= 0 or (workflows is not None and not workflows):
            return []  # (no workflow: nothing it could take)
        params: dict[str, Any] = {"now": to_us(now), "limit": limit, "run_id": run_id}
        only = ""
        if only_queues is not None:
            only += sqlite_queues.only_queues_clause(only_queues, params)
        until = to_us(lease_until)

        def write(c: sqlite3.Connection) -> list[RunRecord]:
            if queues:  # queues: dequeue within their limits first, under the same write lock
                sqlite_queues.dequeue(c, queues, now)
            if run_id is None:
                rows = sqlite_claim.claimable(
                    c, RUN_SELECT, params, limit=limit, workflows=workflows, only=only
                )
            else:
                rows = sqlite_claim.claim_one(c, RUN_SELECT, params, workflows=workflows, only=only)
            if rows:
                c.executemany(
                    "UPDATE runs SET lease_owner = ?, lease_expires_at = ? WHERE id = ?",
                    [(owner, until, row[0]) for row in rows],
                )
            return [run_from_row(row) for row in rows]

        return self._write(write, lease_only=True)

    def heartbeat(
        self, owner: str, run_ids: Sequence[str], lease_until: datetime, now: datetime
    ) -> set[str]:
        until, at = to_us(lease_until), to_us(now)

        def write(c: sqlite3.Connection) -> set[str]:
            return {
                run_id
                for run_id in run_ids
                if c.execute(
                    "UPDATE runs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? "
                    "AND lease_expires_at >= ?",
                    (until, run_id, owner, at),
                ).rowcount
            }

        return self._write(write, lease_only=True) if run_ids else set()

    def release(self, owner: str, run_id: str) -> None:
        self._write(
            lambda c: c.execute(
                "UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL "
                "WHERE id = ? AND lease_owner = ?",
                (run_id, owner),
            ),
            lease_only=True,
        )

    # -- retention --------------------------------------------------------------------------------
    def delete_runs(
        self, run_ids: Sequence[str], finished_before: datetime, statuses: Collection[RunStatus]
    ) -> list[str]:
        # The conditions are checked again under the write lock: a run retried since it was
        # listed is live again and stays.
        where = prunable_where(statuses, "?")
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return []
        sql = (
            f"SELECT r.id, r.pk FROM runs r WHERE r.id IN ({', '.join('?' * len(ids))}) "
            f"AND {where} ORDER BY r.finished_at, r.id"
        )

        def write(c: sqlite3.Connection) -> list[str]:
            rows = c.execute(sql, (*ids, to_us(finished_before))).fetchall()
            ranges = [(pk * SPAN, pk * SPAN + SPAN - 1) for _, pk in rows]
            c.executemany("DELETE FROM operations WHERE key BETWEEN ? AND ?", ranges)
            c.executemany("DELETE FROM history WHERE key BETWEEN ? AND ?", ranges)
            c.executemany("DELETE FROM events WHERE run_id = ?", [(rid,) for rid, _ in rows])
            c.executemany("DELETE FROM run_inputs WHERE pk = ?", [(pk,) for _, pk in rows])
            c.executemany("DELETE FROM queue_entries WHERE run_pk = ?", [(pk,) for _, pk in rows])
            c.executemany("DELETE FROM runs WHERE pk = ?", [(pk,) for _, pk in rows])
            return [rid for rid, _ in rows]

        return self._write(write)

    # -- plumbing ---------------------------------------------------------------------------------
    def _write(self, body: Callable[[sqlite3.Connection], Any], *, lease_only: bool = False) -> Any:
        """Run ``body`` in one ``BEGIN IMMEDIATE`` transaction; roll back on any exception.

        ``lease_only`` writes (claims, heartbeats, releases) skip the fsync at FULL: losing
        one to a power cut only returns a run to the pool, where it is claimed again, just as
        when a worker dies. Nothing a lease covers is durable before the run's next durable
        commit, which fsyncs the WAL and with it every earlier frame.
        """
        relaxed = lease_only and self.synchronous == "FULL"
        with self._lock:
            conn = self._conn
            try:
                if relaxed:
                    conn.execute("PRAGMA synchronous=NORMAL")
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        result = body(conn)
                        conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
                finally:
                    if relaxed:
                        conn.execute("PRAGMA synchronous=FULL")
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            return result
