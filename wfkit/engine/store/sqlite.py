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

Threads share one connection behind a lock. SQLite serialises writers anyway; a Python lock
hands the connection over at once where per-thread connections would wait in SQLite's
sleeping busy handler, and ``:memory:`` needs a single connection regardless.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any, overload
from urllib.parse import parse_qsl

from wfkit.engine.queues import Queue, QueueEntry
from wfkit.engine.status import ACTIVE, PARKED, OpKind, OpStatus, RunStatus
from wfkit.engine.store import sqlite_claim, sqlite_queues, sqlite_schema
from wfkit.engine.store.base import (
    CancelRequested,
    Checkpoint,
    EventRecord,
    HistoryEntry,
    LeaseLost,
    OperationRecord,
    PatchMark,
    RunRecord,
    ScheduleState,
    op_snapshot,
    sort_marks,
)
from wfkit.engine.store.group_commit import GroupCommit
from wfkit.engine.store.sql_shared import (
    check_access,
    check_access_mode,
    fenced_run_statement,
    prunable_where,
    result_lines,
    run_filters,
)
from wfkit.errors import NoStore, StoreError

# One encoder built once: json.dumps with options builds a new encoder on every call.
_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_SYNCHRONOUS = ("FULL", "NORMAL")
_DEFAULT_TIMEOUT = 5.0
# UPDATE ... RETURNING (SQLite 3.35+) reads the cancel flag in the fence statement itself.
_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)


def _op_record(run_id: str, seq: int, cols: Sequence[Any]) -> OperationRecord:
    """An operation from its columns after the sequence number, in _OP_COLUMNS order (kind,
    name, status, attempt, started_at, finished_at, result, error, wake_at, source,
    compensates), as the operations table and a history line's operation columns hold them."""
    kind, name, status, attempt, started, finished, result, error, wake, source, comp = cols
    return OperationRecord(
        run_id,
        seq,
        OpKind(kind),
        name,
        OpStatus(status),
        attempt,
        _dt(started),
        _dt(finished),
        result,
        error,
        _dt(wake),
        source,
        comp,
    )


@overload
def _us(value: datetime) -> int: ...
@overload
def _us(value: datetime | None) -> int | None: ...
def _us(value: datetime | None) -> int | None:
    """Aware datetime -> integer microseconds since the epoch (naive datetimes raise)."""
    return None if value is None else (value - _EPOCH) // _MICROSECOND


def _dt(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def _at(value: int) -> datetime:
    """For NOT NULL timestamp columns."""
    return _EPOCH + timedelta(microseconds=value)


_RUN_COLUMNS = tuple(f.name for f in fields(RunRecord))
# A run's input lives in run_inputs (migration 3): its row in runs is rewritten by every
# status change, claim and heartbeat, and must stay small whatever the input's size.
_INPUT_AT = _RUN_COLUMNS.index("input")
_RUN_TABLE_COLUMNS = tuple(c for c in _RUN_COLUMNS if c != "input")
_RUN_SELECT = (
    "SELECT "
    + ", ".join("i.input" if c == "input" else f"r.{c}" for c in _RUN_COLUMNS)
    + " FROM runs r JOIN run_inputs i ON i.pk = r.pk"
)
# list_runs(queue=...): by id, the one column both of list_runs' selects name unambiguously.
_ON_QUEUE = (
    "id IN (SELECT q_r.id FROM queue_entries q JOIN runs q_r ON q_r.pk = q.run_pk "
    "WHERE q.queue = ?)"
)
_RUN_SELECT_NEWEST = _RUN_SELECT.replace("FROM runs r", "FROM runs r INDEXED BY runs_created")
# list_runs by status: a status with at least this many runs is looked for newest first.
_COMMON_STATUS = 2000
_STATUS_SAMPLE = "SELECT count(*) FROM (SELECT 1 FROM runs WHERE status = ? LIMIT ?)"
_RUN_DATETIMES = frozenset(
    {"created_at", "updated_at", "wake_at", "lease_expires_at", "finished_at"}
)
# Values a checkpoint's ``run`` dict may change, each with its conversion to a column value.
_RUN_CONVERTERS: dict[str, Callable[[Any], Any] | None] = {
    name: (_us if name in _RUN_DATETIMES else str if name == "seed" else None)
    for name in _RUN_COLUMNS
    if name != "id"
}
# Operations and history are keyed by one integer, run key * KEY_SPAN + n (see migration 2 in
# sqlite_schema): a run's rows are one rowid range, and a live run appends at the right edge.
_SPAN = sqlite_schema.KEY_SPAN
_OP_COLUMNS = (
    "kind",
    "name",
    "status",
    "attempt",
    "started_at",
    "finished_at",
    "result",
    "error",
    "wake_at",
    "source",
    "compensates",
)
# An operation's result is kept once, by the history line that recorded it: the row holds
# result NULL and that line's key (result_key); a row with no such line keeps it inline.
_OP_UPSERT = (
    f"INSERT OR REPLACE INTO operations (key, {', '.join(_OP_COLUMNS)}, result_key) "
    f"VALUES ({', '.join('?' * (len(_OP_COLUMNS) + 2))})"
)
# A run's range of keys, found from its id: one unique-index seek, then a rowid range scan.
_RUN_RANGE = (
    f"FROM runs r JOIN {{table}} t ON t.key BETWEEN r.pk * {_SPAN} "
    f"AND r.pk * {_SPAN} + {_SPAN - 1} WHERE r.id = ? ORDER BY t.key"
)
_OP_SELECT = (
    f"SELECT t.key - r.pk * {_SPAN}, "
    + ", ".join("COALESCE(t.result, h.result)" if c == "result" else "t." + c for c in _OP_COLUMNS)
    + f" FROM runs r JOIN operations t ON t.key BETWEEN r.pk * {_SPAN} "
    f"AND r.pk * {_SPAN} + {_SPAN - 1} LEFT JOIN history h ON h.key = t.result_key "
    "WHERE r.id = ? ORDER BY t.key"
)
# An operation's history line holds the record's columns (all but seq and name, which the line
# has anyway); other lines hold JSON data.
# The completed or skipped steps of the runs named (`wfkit list`'s STEPS DONE), in one read.
_STEPS_DONE = (
    f"SELECT r.id, count(*) FROM runs r JOIN operations t ON t.key BETWEEN r.pk * {_SPAN} "
    f"AND r.pk * {_SPAN} + {_SPAN - 1} WHERE r.id IN ({{marks}}) AND t.kind = '{OpKind.STEP.value}' "
    f"AND t.status IN ('{OpStatus.COMPLETED.value}', '{OpStatus.SKIPPED.value}') GROUP BY r.id"
)
_SCHEDULE_COLUMNS = (
    "name, workflow, revision, handled_until, buffered_tick, last_run_id, paused, updated_at"
)
_IDS_PER_QUERY = 500  # bound parameters per statement: under every SQLite build's limit
_HISTORY_OP_COLUMNS = (
    "kind",
    "status",
    "attempt",
    "started_at",
    "finished_at",
    "result",
    "error",
    "wake_at",
    "source",
    "compensates",
)
_HISTORY_SELECT = (
    f"SELECT t.key - r.pk * {_SPAN}, t.at, t.type, t.seq, t.name, t.data, "
    f"{', '.join('t.' + c for c in _HISTORY_OP_COLUMNS)} " + _RUN_RANGE.format(table="history")
)
_NO_OP_COLUMNS = (None,) * len(_HISTORY_OP_COLUMNS)
# The next index is found inside the INSERT (a seek to the end of the run's range), so appending
# history costs no extra round trip. The caller checks the key it got (``lastrowid``) against
# the end of the range: a full run is a clear error, never a line in the next run's range.
_HISTORY_INSERT = (
    f"INSERT INTO history (key, at, type, seq, name, data, {', '.join(_HISTORY_OP_COLUMNS)}) "
    "VALUES ((SELECT COALESCE(MAX(key) + 1, ?1) FROM history WHERE key BETWEEN ?1 AND ?2), "
    f"{', '.join(f'?{i}' for i in range(3, 8 + len(_HISTORY_OP_COLUMNS)))})"
)
# What the lease fence reads: the stop flag for the engine (a cancel requested, the run or its
# workflow paused), the run key for the rows.
_FENCE_COLUMNS = (
    "(cancel_requested OR paused OR EXISTS (SELECT 1 FROM paused_workflows w "
    "WHERE w.workflow = runs.workflow)), pk"
)
_FENCE_READ = f"SELECT {_FENCE_COLUMNS} FROM runs WHERE id = ?"
_EVENT_COLUMNS = "id, run_id, name, payload, sent_at, consumed_seq"
_LIVE_SQL = ", ".join(f"'{s.value}'" for s in sorted(ACTIVE | PARKED))
# Pause (wfkit.engine.pausing): a paused run's or workflow's wake time wakes no worker (the
# claim leaves them out by its own means: sqlite_claim).
_NOT_PAUSED = "AND NOT paused AND workflow NOT IN (SELECT workflow FROM paused_workflows)"
# A run parking for events must not sleep through one that arrived while it was running.
_WAKE_ON_EVENTS = (
    "UPDATE runs SET wake_at = ? WHERE id = ? AND EXISTS (SELECT 1 FROM events "
    "WHERE run_id = ? AND consumed_seq IS NULL AND name IN ({names}))"
)


@dataclass(slots=True)
class _Prepared:
    """A checkpoint turned into rows and parameters, ready to be written by any transaction."""

    run_id: str
    checkpoint: Checkpoint
    lease_owner: str | None
    now: datetime | None
    sql: str
    params: list[Any]
    reads: bool
    new_input: str | None
    ops: list[tuple[Any, ...]]
    entries: list[tuple[Any, ...]]
    owners: list[int | None]


class SqliteStore:
    """The :class:`~wfkit.engine.store.base.Store` protocol on one SQLite file (see module
    docstring)."""

    def __init__(self, url: str, *, access: str = "create") -> None:
        """``access``: ``create`` makes or upgrades the file; ``existing`` upgrades an older
        wfkit file but refuses a missing or empty one; ``read`` changes nothing at all."""
        check_access_mode(access)
        self.url = url
        self.path, self.synchronous, self.timeout, grouped = parse_url(url)
        self._lock = threading.Lock()
        self._group: GroupCommit[_Prepared] | None = (
            GroupCommit(self._commit_batch) if grouped else None
        )
        self._update_sql: dict[tuple[Any, ...], tuple[str, tuple[Any, ...], bool]] = {}
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
        row = _run_row(run)
        table_row = row[:_INPUT_AT] + row[_INPUT_AT + 1 :]
        entries = _history_rows(history, (), [])
        sql = (
            f"INSERT OR IGNORE INTO runs ({', '.join(_RUN_TABLE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_RUN_TABLE_COLUMNS))})"
        )

        def write(c: sqlite3.Connection) -> tuple[RunRecord, bool]:
            cursor = c.execute(sql, table_row)
            if cursor.rowcount == 0:
                existing = c.execute(f"{_RUN_SELECT} WHERE id = ?", (run.id,)).fetchone()
                return _run_from_row(existing), False
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
                self._append_history(c, run.id, key, entries)
            return _run_from_row(row), True

        return self._write(write)

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            row = self._read(
                lambda c: c.execute(f"{_RUN_SELECT} WHERE id = ?", (run_id,)).fetchone()
            )
        return None if row is None else _run_from_row(row)

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
            None if before is None else (_us(before[0]), before[1]),
            None if queue is None else (_ON_QUEUE, queue),
        )
        order = " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            order += " LIMIT ?"
            params.append(max(limit, 0))

        def read(c: sqlite3.Connection) -> list[Any]:
            sql = _RUN_SELECT + condition + order
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
                        _RUN_SELECT
                        + " WHERE r.pk IN (SELECT pk FROM runs"
                        + condition
                        + order
                        + ") ORDER BY r.created_at DESC, r.id DESC"
                    )
            return c.execute(sql, params).fetchall()

        with self._lock:
            rows = self._read(read)
        return [_run_from_row(row) for row in rows]

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
        return [_op_record(run_id, r[0], r[1:]) for r in rows]

    def history(self, run_id: str) -> list[HistoryEntry]:
        with self._lock:
            rows = self._read(lambda c: c.execute(_HISTORY_SELECT, (run_id,)).fetchall())
        return [
            HistoryEntry(
                run_id,
                _at(r[1]),
                r[2],
                r[3],
                r[4],
                json.loads(r[5])
                if r[5] is not None
                else op_snapshot(_op_record(run_id, r[3], (r[6], r[4], *r[7:16]))),
                r[0],
            )
            for r in rows
        ]

    def patch_marks(self) -> list[PatchMark]:
        # One pass over the operations (no index on kind: markers are rare and this is an
        # admin query); each marker finds its run by the key's upper bits, the run's pk.
        sql = (
            "SELECT r.workflow, t.name, r.id, r.status, r.created_at, t.started_at "
            f"FROM operations t JOIN runs r ON r.pk = t.key / {_SPAN} WHERE t.kind = ?"
        )
        with self._lock:
            rows = self._read(lambda c: c.execute(sql, (OpKind.PATCH.value,)).fetchall())
        return sort_marks(
            PatchMark(r[0], r[1], r[2], RunStatus(r[3]), _at(r[4]), _dt(r[5])) for r in rows
        )

    # -- schedules --------------------------------------------------------------------------------
    def schedule_states(self) -> list[ScheduleState]:
        sql = f"SELECT {_SCHEDULE_COLUMNS} FROM schedules ORDER BY name"
        with self._lock:
            rows = self._read(lambda c: c.execute(sql).fetchall())
        return [
            ScheduleState(r[0], r[1], r[2], _dt(r[3]), _dt(r[4]), r[5], bool(r[6]), _dt(r[7]))
            for r in rows
        ]

    def save_schedule(self, state: ScheduleState) -> bool:
        values = (
            state.workflow,
            state.revision + 1,
            _us(state.handled_until),
            _us(state.buffered_tick),
            state.last_run_id,
            int(state.paused),
            _us(state.updated_at),
        )

        def write(c: sqlite3.Connection) -> bool:
            if state.revision == 0:
                cursor = c.execute(
                    f"INSERT OR IGNORE INTO schedules ({_SCHEDULE_COLUMNS}) "
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
                f"INSERT INTO schedules ({_SCHEDULE_COLUMNS}) VALUES (?, ?, 1, NULL, NULL, NULL, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, "
                "revision = revision + 1, updated_at = excluded.updated_at",
                (name, workflow, int(paused), _us(now)),
            )

        self._write(write)

    # -- paused workflows ---------------------------------------------------------------------------
    def paused_workflows(self) -> dict[str, datetime]:
        with self._lock:
            rows = self._read(
                lambda c: c.execute(
                    "SELECT workflow, paused_at FROM paused_workflows ORDER BY workflow"
                ).fetchall()
            )
        return {name: _at(at) for name, at in rows}

    def set_workflow_paused(self, workflow: str, paused: bool, now: datetime) -> bool:
        def write(c: sqlite3.Connection) -> bool:
            if paused:
                sql = "INSERT INTO paused_workflows VALUES (?, ?) ON CONFLICT DO NOTHING"
                return c.execute(sql, (workflow, _us(now))).rowcount == 1
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

    def _commit_batch(self, batch: Sequence[_Prepared]) -> list[tuple[bool, Any]]:
        """Several runs' checkpoints in one transaction (see :mod:`group_commit`). A
        checkpoint refused by its fence raises alone (the fence writes nothing when it
        refuses); the others are written. A checkpoint that fails half-way (a history range
        full, a constraint) sends the batch to :meth:`_commit_batch_undoing`, where each
        checkpoint has a savepoint to fall back to. An error of the transaction fails them
        all."""
        if len(batch) == 1:  # one run in flight: exactly the single-checkpoint path
            try:
                return [(True, self._commit_one(batch[0]))]
            except Exception as error:
                return [(False, error)]
        outcomes: list[tuple[bool, Any]] = []
        with self._lock:
            cur = self._cursor
            try:
                cur.execute("BEGIN IMMEDIATE")
                try:
                    for prepared in batch:
                        try:
                            row = self._fence(cur, prepared)
                        except (KeyError, LeaseLost, CancelRequested) as refused:
                            outcomes.append((False, refused))
                            continue
                        try:
                            outcomes.append((True, self._write_rows(cur, prepared, row)))
                        except (KeyError, StoreError, sqlite3.IntegrityError):
                            cur.execute("ROLLBACK")
                            break
                    else:
                        cur.execute("COMMIT")
                        return outcomes
                except BaseException:
                    if self._conn.in_transaction:
                        cur.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                return [(False, self._error(exc))] * len(batch)
            return self._commit_batch_undoing(cur, batch)

    def _commit_batch_undoing(
        self, cur: sqlite3.Cursor, batch: Sequence[_Prepared]
    ) -> list[tuple[bool, Any]]:
        """The batch again, each checkpoint behind a savepoint (a statement more on each side,
        so only after a checkpoint failed half-way): that one is undone alone and raises, the
        others are written. Called holding the connection's lock."""
        outcomes: list[tuple[bool, Any]] = []
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                for prepared in batch:
                    cur.execute("SAVEPOINT checkpoint")
                    try:
                        outcomes.append((True, self._apply(cur, prepared)))
                    except (
                        KeyError,
                        LeaseLost,
                        CancelRequested,
                        StoreError,
                        sqlite3.IntegrityError,
                    ) as refused:
                        cur.execute("ROLLBACK TO checkpoint")
                        if isinstance(refused, sqlite3.Error):
                            refused = self._error(refused)
                        outcomes.append((False, refused))
                    cur.execute("RELEASE checkpoint")
                cur.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            return [(False, self._error(exc))] * len(batch)
        return outcomes

    def _commit_one(self, prepared: _Prepared) -> bool:
        with self._lock:
            cur = self._cursor  # one reused cursor: no cursor object per statement
            try:
                cur.execute("BEGIN IMMEDIATE")
                try:
                    flag = self._apply(cur, prepared)
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
    ) -> _Prepared:
        """Everything that can fail on bad input, done before any transaction begins."""
        changes = checkpoint.run
        new_input = None
        if "input" in changes:  # kept in run_inputs, not in the run's row
            changes = dict(changes)
            new_input = changes.pop("input")
        sql, converters, reads = self._run_update(
            tuple(changes),
            checkpoint.release_lease,
            lease_owner is not None,
            now is not None,
            checkpoint.unless_cancelled,
        )
        params = [
            value if convert is None else convert(value)
            for convert, value in zip(converters, changes.values())
        ]
        params.append(run_id)
        if lease_owner is not None:
            params.append(lease_owner)
            if now is not None:
                params.append(_us(now))
        ops = [_op_row(op) for op in checkpoint.operations]
        if checkpoint.send_events and now is None:
            raise TypeError("Checkpoint.send_events needs now")
        return _Prepared(
            run_id,
            checkpoint,
            lease_owner,
            now,
            sql,
            params,
            reads,
            new_input,
            ops,
            _history_rows(checkpoint.history, checkpoint.operations, ops),
            result_lines(checkpoint.operations, checkpoint.history),
        )

    def _apply(self, cur: sqlite3.Cursor, p: _Prepared) -> bool:
        """Write one prepared checkpoint inside the caller's transaction; the run's cancel
        flag. A refused fence raises before anything of this checkpoint is written."""
        return self._write_rows(cur, p, self._fence(cur, p))

    def _fence(self, cur: sqlite3.Cursor, p: _Prepared) -> Any:
        """The run's row through its fence (and its changes, when it has some); a refusal
        raises, and then nothing was written."""
        run_id, checkpoint = p.run_id, p.checkpoint
        cur.execute(p.sql, p.params)
        if p.reads or _RETURNING:
            row = cur.fetchone()
        else:  # an old SQLite without RETURNING: read what it would return
            row = cur.execute(_FENCE_READ, (run_id,)).fetchone() if cur.rowcount == 1 else None
        if row is None:
            found = cur.execute(
                "SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            if found is None:
                raise KeyError(run_id)
            if checkpoint.unless_cancelled and found[0]:
                raise CancelRequested(run_id)
            raise LeaseLost(run_id, p.lease_owner)
        return row

    def _write_rows(self, cur: sqlite3.Cursor, p: _Prepared, row: Any) -> bool:
        """The checkpoint's rows, after its fence let it through; the run's cancel flag."""
        run_id, checkpoint = p.run_id, p.checkpoint
        base = row[1] * _SPAN
        if p.new_input is not None:
            cur.execute("UPDATE run_inputs SET input = ? WHERE pk = ?", (p.new_input, row[1]))
        consume = checkpoint.consume_event
        if consume is not None:
            cur.execute("UPDATE events SET consumed_seq = ? WHERE id = ?", (consume[1], consume[0]))
        if checkpoint.discard_operations:
            cur.executemany(
                "DELETE FROM operations WHERE key = ?",
                [(base + seq,) for seq in checkpoint.discard_operations],
            )
        # History first: an operation's row refers to the line holding its result.
        keys = self._append_history(cur, run_id, row[1], p.entries) if p.entries else []
        ops, owners = p.ops, p.owners
        # The common step checkpoint has one of each: execute() is cheaper then.
        if len(ops) == 1:
            cur.execute(_OP_UPSERT, _op_upsert_row(base, ops[0], owners[0], keys))
        elif ops:
            cur.executemany(
                _OP_UPSERT,
                [_op_upsert_row(base, op, owner, keys) for op, owner in zip(ops, owners)],
            )
        if checkpoint.wake_on_events:
            names = sorted(set(checkpoint.wake_on_events))
            cur.execute(
                _WAKE_ON_EVENTS.format(names=", ".join("?" * len(names))),
                (_us(p.now), run_id, run_id, *names),
            )
        for target, name, payload in checkpoint.send_events:
            _insert_event(cur, target, name, payload, _us(p.now))
        return bool(row[0])

    def _run_update(
        self,
        keys: tuple[str, ...],
        release: bool,
        fenced: bool,
        expiry: bool,
        unless_cancelled: bool,
    ) -> tuple[str, tuple[Any, ...], bool]:
        """The fenced ``UPDATE runs`` for this shape of checkpoint, built once and cached.

        Column names come only from :class:`RunRecord`'s fields, so the SQL is never built
        from caller text. The statement's row count is the existence check and the lease
        fence. With nothing to change, a ``SELECT`` does the same check without dirtying the
        run's page (one WAL page less per commit); it is as safe as the ``UPDATE`` because
        ``BEGIN IMMEDIATE`` already holds the write lock when it runs. Returns (sql,
        converters, whether the statement is a read).
        """
        cache_key = (keys, release, fenced, expiry, unless_cancelled)
        cached = self._update_sql.get(cache_key)
        if cached is not None:
            return cached
        sql, reads = fenced_run_statement(
            keys,
            _RUN_CONVERTERS,
            release=release,
            fenced=fenced,
            expiry=expiry,
            unless_cancelled=unless_cancelled,
            placeholder="?",
            read_tail="",
            columns=_FENCE_COLUMNS,
            write_tail=f" RETURNING {_FENCE_COLUMNS}" if _RETURNING else "",
        )
        built = (sql, tuple(_RUN_CONVERTERS[k] for k in keys), reads)
        self._update_sql[cache_key] = built
        return built

    def _append_history(
        self,
        cur: sqlite3.Cursor | sqlite3.Connection,
        run_id: str,
        run_key: int,
        entries: list[tuple[Any, ...]],
    ) -> list[int]:
        """Append entries at the end of the run's history range (in the caller's transaction);
        return their keys."""
        low = run_key * _SPAN
        high = low + _SPAN - 1
        keys = []
        for entry in entries:
            try:
                key = cur.execute(_HISTORY_INSERT, (low, high, *entry)).lastrowid
            except sqlite3.IntegrityError:  # the key after a full range is the next run's
                key = None
            if key is None or key > high:
                raise StoreError(
                    f"run {run_id!r} has reached the limit of {_SPAN} history entries",
                    hint="split the work into child workflows",
                )
            keys.append(key)
        return keys

    # -- events -----------------------------------------------------------------------------------
    def add_event(self, run_id: str, name: str, payload: str, at: datetime) -> EventRecord:
        when = _us(at)

        def write(c: sqlite3.Connection) -> EventRecord:
            event_id = _insert_event(c.cursor(), run_id, name, payload, when)
            return EventRecord(event_id, run_id, name, payload, _at(when))

        return self._write(write)

    def pending_events(self, run_id: str, name: str) -> list[EventRecord]:
        with self._lock:
            rows = self._read(
                lambda c: c.execute(
                    f"SELECT {_EVENT_COLUMNS} FROM events WHERE run_id = ? AND name = ? "
                    "AND consumed_seq IS NULL ORDER BY id",
                    (run_id, name),
                ).fetchall()
            )
        return [EventRecord(r[0], r[1], r[2], r[3], _at(r[4]), r[5]) for r in rows]

    def queue_entries(self, run_ids: Sequence[str]) -> dict[str, QueueEntry]:
        with self._lock:
            return dict(self._read(lambda c: sqlite_queues.entries(c, run_ids)))

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
        params: dict[str, Any] = {"now": _us(now), "limit": limit, "run_id": run_id}
        only = ""
        if only_queues is not None:
            only += sqlite_queues.only_queues_clause(only_queues, params)
        until = _us(lease_until)

        def write(c: sqlite3.Connection) -> list[RunRecord]:
            if queues:  # queues: dequeue within their limits first, under the same write lock
                sqlite_queues.dequeue(c, queues, now)
            if run_id is None:
                rows = sqlite_claim.claimable(
                    c, _RUN_SELECT, params, limit=limit, workflows=workflows, only=only
                )
            else:
                rows = sqlite_claim.claim_one(
                    c, _RUN_SELECT, params, workflows=workflows, only=only
                )
            if rows:
                c.executemany(
                    "UPDATE runs SET lease_owner = ?, lease_expires_at = ? WHERE id = ?",
                    [(owner, until, row[0]) for row in rows],
                )
            return [_run_from_row(row) for row in rows]

        return self._write(write, lease_only=True)

    def heartbeat(
        self, owner: str, run_ids: Sequence[str], lease_until: datetime, now: datetime
    ) -> set[str]:
        until, at = _us(lease_until), _us(now)

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

    def next_wake(self) -> datetime | None:
        """The earliest wake_at of any live run: active runs can wait out a retry delay too."""
        with self._lock:
            row = self._read(
                lambda c: c.execute(
                    f"SELECT MIN(wake_at) FROM runs WHERE status IN ({_LIVE_SQL}) {_NOT_PAUSED}"
                ).fetchone()
            )
        return _dt(row[0])

    # -- retention --------------------------------------------------------------------------------
    def prunable_runs(
        self, finished_before: datetime, statuses: Collection[RunStatus]
    ) -> list[str]:
        sql = (
            f"SELECT r.id FROM runs r WHERE {prunable_where(statuses, '?')} "
            "ORDER BY r.finished_at, r.id"
        )
        with self._lock:
            rows = self._read(lambda c: c.execute(sql, (_us(finished_before),)).fetchall())
        return [row[0] for row in rows]

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
            rows = c.execute(sql, (*ids, _us(finished_before))).fetchall()
            ranges = [(pk * _SPAN, pk * _SPAN + _SPAN - 1) for _, pk in rows]
            c.executemany("DELETE FROM operations WHERE key BETWEEN ? AND ?", ranges)
            c.executemany("DELETE FROM history WHERE key BETWEEN ? AND ?", ranges)
            c.executemany("DELETE FROM events WHERE run_id = ?", [(rid,) for rid, _ in rows])
            c.executemany("DELETE FROM run_inputs WHERE pk = ?", [(pk,) for _, pk in rows])
            c.executemany("DELETE FROM queue_entries WHERE run_pk = ?", [(pk,) for _, pk in rows])
            c.executemany("DELETE FROM runs WHERE pk = ?", [(pk,) for _, pk in rows])
            return [rid for rid, _ in rows]

        return self._write(write)

    # -- plumbing ---------------------------------------------------------------------------------
    def _read(self, query: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run a read (the caller holds the lock); map SQLite failures to StoreError."""
        try:
            return query(self._conn)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

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

    def _error(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreError(
                f"database is locked by another process: {self._where} (waited {self.timeout:g}s)",
                hint="retry, or raise ?timeout=SECONDS in the store URL",
            )
        if isinstance(exc, sqlite3.ProgrammingError) and "closed" in text:
            return StoreError(f"the store on {self._where} is closed", hint="open a new store")
        code = _primary_code(exc)
        if code == _SQLITE_NOTADB or "not a database" in text:
            return StoreError(
                f"{self._where} is not an SQLite database (not a wfkit store)",
                hint="point the store URL at a wfkit database or at a new file",
            )
        if code == _SQLITE_CORRUPT or "malformed" in text:
            return StoreError(
                f"{self._where} is a damaged database ({text})",
                hint="restore it from a backup; `sqlite3 FILE .recover` may save what is left",
            )
        if code == _SQLITE_FULL or "disk is full" in text:
            return StoreError(
                f"disk full: cannot write to {self._where} ({text})",
                hint="free space on its disk, then retry; nothing was half-written",
            )
        if code in (_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_AUTH):
            return StoreError(
                f"cannot write or open {self._where}: {text}",
                hint="check that the file and its directory exist and that this "
                "user may write to them",
            )
        return StoreError(
            f"SQLite error on {self._where}: {text}",
            hint="check the file, its directory and the disk",
        )


# SQLite's primary result codes (https://sqlite.org/rescode.html), to tell failures apart.
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_FULL = 3, 8, 11, 13
_SQLITE_CANTOPEN, _SQLITE_AUTH, _SQLITE_NOTADB = 14, 23, 26


def _primary_code(exc: sqlite3.Error) -> int | None:
    """The error's primary result code (Python 3.11+ exposes it; before, None)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _insert_event(
    cur: sqlite3.Cursor, run_id: str, name: str, payload: str, when: int | None
) -> int:
    """Append to a run's inbox and wake it if it waits (inside the caller's transaction)."""
    cur.execute(
        "INSERT INTO events (run_id, name, payload, sent_at) VALUES (?, ?, ?, ?)",
        (run_id, name, payload, when),
    )
    event_id = cur.lastrowid or 0
    cur.execute(
        "UPDATE runs SET wake_at = ? WHERE id = ? AND status = ?",
        (when, run_id, RunStatus.WAITING.value),
    )
    return event_id


def parse_url(url: str) -> tuple[str, str, float, bool]:
    """``sqlite:///rel.db``, ``sqlite:////abs.db``, ``sqlite:///:memory:`` -> (path,
    synchronous, timeout, group commit); anything else is a StoreError naming the accepted
    forms."""
    prefix = "sqlite://"
    if not url.startswith(prefix) or not url[len(prefix) :].startswith("/"):
        raise StoreError(
            f"invalid SQLite store URL {url!r}",
            hint="use sqlite:///relative/path.db or sqlite:////absolute/path.db",
        )
    location, _, query = url[len(prefix) + 1 :].partition("?")
    if not location:
        raise StoreError(f"SQLite store URL {url!r} names no file", hint="use sqlite:///wfkit.db")
    synchronous, timeout, grouped = "FULL", _DEFAULT_TIMEOUT, True
    try:
        options = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise StoreError(
            f"malformed options in store URL {url!r}",
            hint="use ?synchronous=FULL|NORMAL&timeout=SECONDS",
        ) from exc
    for key, value in options:
        if key == "synchronous" and value.upper() in _SYNCHRONOUS:
            synchronous = value.upper()
        elif key == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                timeout = -1.0
            if not timeout >= 0:
                raise StoreError(
                    f"invalid timeout {value!r} in store URL {url!r}",
                    hint="use ?timeout=SECONDS, a number >= 0",
                )
        elif key == "synchronous":
            raise StoreError(
                f"invalid synchronous={value!r} in store URL {url!r}",
                hint="use ?synchronous=FULL (durable, default) or NORMAL (faster)",
            )
        elif key == "group_commit" and value.lower() in ("on", "off"):
            grouped = value.lower() == "on"
        elif key == "group_commit":
            raise StoreError(
                f"invalid group_commit={value!r} in store URL {url!r}",
                hint="use ?group_commit=on (default) or off",
            )
        else:
            raise StoreError(
                f"unknown option {key!r} in store URL {url!r}",
                hint="supported options: synchronous=FULL|NORMAL, timeout=SECONDS, "
                "group_commit=on|off",
            )
    path = location if location == ":memory:" else os.path.abspath(location)
    return path, synchronous, timeout, grouped


# -- record <-> row -------------------------------------------------------------------------------
def _run_row(run: RunRecord) -> tuple[Any, ...]:
    return (
        run.id,
        run.workflow,
        run.version,
        run.status,
        run.input,
        str(run.seed),
        _us(run.created_at),
        _us(run.updated_at),
        run.result,
        run.error,
        run.parent_id,
        run.parent_seq,
        _us(run.wake_at),
        run.lease_owner,
        _us(run.lease_expires_at),
        run.recoveries,
        bool(run.cancel_requested),
        bool(run.compensate_on_cancel),
        _us(run.finished_at),
        bool(run.paused),
    )


def _run_from_row(r: Sequence[Any]) -> RunRecord:
    return RunRecord(
        r[0],
        r[1],
        r[2],
        RunStatus(r[3]),
        r[4],
        int(r[5]),
        _at(r[6]),
        _at(r[7]),
        r[8],
        r[9],
        r[10],
        r[11],
        _dt(r[12]),
        r[13],
        _dt(r[14]),
        r[15],
        bool(r[16]),
        bool(r[17]),
        _dt(r[18]),
        bool(r[19]),
    )


def _op_row(op: OperationRecord) -> tuple[Any, ...]:
    """The row without its run's key offset (added inside the transaction)."""
    if not 0 <= op.seq < _SPAN:
        raise ValueError(f"operation sequence number {op.seq} is outside 0..{_SPAN - 1}")
    return (
        op.seq,
        op.kind,
        op.name,
        op.status,
        op.attempt,
        _us(op.started_at),
        _us(op.finished_at),
        op.result,
        op.error,
        _us(op.wake_at),
        op.source,
        op.compensates,
    )


def _op_upsert_row(
    base: int, row: tuple[Any, ...], owner: int | None, keys: list[int]
) -> tuple[Any, ...]:
    """The operation's row with its run's key offset; a result some history line holds is
    replaced by that line's key."""
    if owner is None:
        return (base + row[0], *row[1:], None)
    return (base + row[0], *row[1:7], None, *row[8:], keys[owner])


def _history_rows(
    entries: Sequence[HistoryEntry], ops: Sequence[OperationRecord], op_rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """History rows; an operation entry reuses its record's row when the checkpoint has it."""
    rows = []
    for e in entries:
        if e.op is None:
            rows.append((_us(e.at), e.type, e.seq, e.name, _encode_json(e.data), *_NO_OP_COLUMNS))
            continue
        op = e.op
        # The common checkpoint: one operation and its own entry (no search, no new row).
        if len(ops) == 1 and ops[0] is op:
            row = op_rows[0]
        else:
            row = next((r for o, r in zip(ops, op_rows) if o is op), ()) or _op_row(op)
        # An entry's time is its operation's finish (or start): already converted in the row.
        at = row[6] if e.at is op.finished_at else row[5] if e.at is op.started_at else _us(e.at)
        rows.append((at, e.type, e.seq, e.name, None, row[1], *row[3:]))
    return rows
