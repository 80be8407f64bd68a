"""The shared store: PostgreSQL, for many workers on many machines.

``PostgresStore("postgresql://user:password@host:5432/dbname")`` — any libpq URL (query options
such as ``?sslmode=require`` or ``?options=-csearch_path%3Dwfkit`` pass through to libpq).

Every write is one transaction (most are a single statement). :meth:`PostgresStore.commit`
folds the lease fence into the run's ``UPDATE ... RETURNING cancel_requested``: the row lock it
takes also serialises the run's history appends, whose indexes are computed in the ``INSERT``.
:meth:`PostgresStore.claim` is one ``SELECT ... FOR UPDATE SKIP LOCKED`` feeding an ``UPDATE``:
concurrent workers on any number of machines skip each other's candidates instead of waiting
on them, and never lease the same run twice.

Threads draw connections from a small pool (a psycopg connection serialises its users, so one
shared connection would make threads queue); when one turns out broken (the server restarted)
every idle one is dropped, so the next call reconnects. Sessions run in UTC, so timestamps
come back as aware UTC datetimes. The server's clock is read for one thing only: leases (see
:class:`PostgresStore`), so workers on machines whose clocks disagree share one lease clock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime, timezone
from enum import Enum
from types import TracebackType
from typing import Any

try:
    import psycopg
except ImportError:  # the optional extra; PostgresStore() says how to install it
    psycopg = None  # type: ignore[assignment]

from wfkit.engine.queues import Queue, QueueEntry
from wfkit.engine.status import ACTIVE, PARKED, OpKind, OpStatus, RunStatus
from wfkit.engine.store import postgres_queues, postgres_schema
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
    entry_data,
    sort_marks,
)
from wfkit.engine.store.sql_shared import (
    check_access,
    fenced_run_statement,
    prunable_where,
    result_lines,
    run_filters,
)
from wfkit.errors import StoreError

_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# Idle connections kept: as many as were ever in use at once (a worker with --concurrency 32
# keeps 32: closing the surplus after each transaction made every step of a busy worker pay a
# new connection, ~5 ms with password authentication), at least _POOL_IDLE, at most _POOL_MAX.
_POOL_IDLE = 4
_POOL_MAX = 128


def _row(found: Any | None) -> Any:
    """The row of a statement that always returns one (INSERT ... RETURNING, an aggregate, a
    row seen in the same transaction)."""
    if found is None:
        raise StoreError("PostgreSQL returned no row where the statement always returns one")
    return found


def _ts(value: datetime | None) -> datetime | None:
    """Aware datetimes only: a naive one would silently be read in the session's time zone."""
    if value is not None and value.utcoffset() is None:
        raise TypeError(f"naive datetime {value!r}: the store needs aware (UTC) datetimes")
    return value


def _text(value: Any) -> Any:
    """Enums as their value (psycopg would send a Python enum's *name*)."""
    return value.value if isinstance(value, Enum) else value


_RUN_COLUMNS = tuple(f.name for f in fields(RunRecord))
_RUN_SELECT = "SELECT " + ", ".join(_RUN_COLUMNS) + " FROM runs"
_RUN_DATETIMES = frozenset(
    {"created_at", "updated_at", "wake_at", "lease_expires_at", "finished_at"}
)
_RUN_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    name: (
        _ts
        if name in _RUN_DATETIMES
        else str
        if name == "seed"
        else bool
        if name in ("cancel_requested", "compensate_on_cancel", "paused")
        else _text
    )
    for name in _RUN_COLUMNS
    if name != "id"
}
_OP_COLUMNS = (
    "run_id",
    "seq",
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
_RESULT_AT = _OP_COLUMNS.index("result")
# An operation's result is kept once, by the history line that recorded it: the row holds
# result NULL and that line's index (result_idx); a row with no such line keeps it inline.
_OP_UPSERT = (
    f"INSERT INTO operations ({', '.join(_OP_COLUMNS)}, result_idx) "
    f"VALUES ({', '.join(['%s'] * (len(_OP_COLUMNS) + 1))}) "
    "ON CONFLICT (run_id, seq) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in (*_OP_COLUMNS[2:], "result_idx"))
)
_OP_SELECT = (
    "SELECT "
    + ", ".join("COALESCE(o.result, h.result)" if c == "result" else f"o.{c}" for c in _OP_COLUMNS)
    + " FROM operations o LEFT JOIN history h ON h.run_id = o.run_id AND h.idx = o.result_idx"
    " WHERE o.run_id = %s ORDER BY o.seq"
)
# A step's checkpoint (the fence, at most one history line, at most one operation) as ONE
# statement: each part runs only if the fence let the run through (FROM f), the operation
# names the line just appended (FROM h), and there is no BEGIN/COMMIT round trip. Against
# the five statements of the general path: ~90 against ~270 us of client CPU and ~380
# against ~690 us a checkpoint (docs/performance.md, "A step in one statement"). Its
# MAX(idx) reads the statement's snapshot, taken before the fence waits for the run's row
# lock: a concurrent unfenced writer of the same run (an event, a cancel) that appended a
# line meanwhile makes the append collide on (run_id, idx); that case goes the general way.
_ONE_HISTORY = (
    "h AS (INSERT INTO history (run_id, idx, at, type, seq, name, data, result) SELECT %s, "
    "COALESCE((SELECT MAX(idx) + 1 FROM history WHERE run_id = %s), 0), "
    "%s, %s, %s, %s, %s, %s FROM f RETURNING idx)"
)
_ONE_OP = (
    f"o AS (INSERT INTO operations ({', '.join(_OP_COLUMNS)}, result_idx) "
    f"SELECT {', '.join(['%s'] * len(_OP_COLUMNS))}, {{line}} FROM {{source}} "
    "ON CONFLICT (run_id, seq) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in (*_OP_COLUMNS[2:], "result_idx"))
    + ")"
)
# The run's row lock (taken by the fence) makes MAX(idx) + 1 safe against concurrent appends.
# An operation's line keeps its result in the result column, not inside the JSON data.
_HISTORY_INSERT = (
    "INSERT INTO history (run_id, idx, at, type, seq, name, data, result) SELECT %(run)s, "
    "COALESCE(MAX(idx) + 1, 0), %(at)s, %(type)s, %(seq)s, %(name)s, %(data)s, %(result)s "
    "FROM history WHERE run_id = %(run)s RETURNING idx"
)
_ON_QUEUE = "id IN (SELECT run_id FROM queue_entries WHERE queue = %s)"  # list_runs(queue=)
_EVENT_COLUMNS = "id, run_id, name, payload, sent_at, consumed_seq"
_ACTIVE = sorted(s.value for s in ACTIVE)
_LIVE = sorted(s.value for s in ACTIVE | PARKED)
_SCHEDULE_COLUMNS = (
    "name, workflow, revision, handled_until, buffered_tick, last_run_id, paused, updated_at"
)
_DONE_STEP = (OpStatus.COMPLETED.value, OpStatus.SKIPPED.value)  # steps that count as done
# Lease expiry on the server's clock: "now()" below, and an expiry of now() plus the lease's
# length (the caller's until - now). Timers (wake_at) stay on the caller's clock.
_SERVER_NOW = "now()"
_SERVER_UNTIL = "now() + (%(until)s::timestamptz - %(now)s::timestamptz)"
# Runnable: active with no wake time (ready since created), or live with a wake time that
# has passed (a parked run, or an active one waiting out a retry delay); no live lease; not
# paused, nor of a paused workflow. The two kinds are kept in two indexes keyed by workflow
# first, without paused runs (migration 7); a claim reads, for each of its workflows, the
# first ``limit`` entries of each (a LATERAL subquery per workflow name), and merges them: a
# few index entries per workflow however long any backlog is. (Sorting every live run took
# 24 ms a claim behind 30,000 pending ones; indexes in claim order across workflows made a
# claim step over every older run of another or a paused workflow.) The status lists are
# literals (from the enums, never caller text) so the planner can prove the indexes'
# predicates, and each arm orders by its index's columns (the workflow first, though it is
# one), so no other index in creation order can look as cheap to the planner: that one would
# step through the other workflows' runs. Rows locked by an arm but not picked are let go when
# the statement ends.
_NOT_PAUSED = "AND NOT paused AND workflow NOT IN (SELECT workflow FROM paused_workflows)"
# What a fenced commit returns: the stop flag (a cancel requested, the run or its workflow paused).
_STOP_FLAG = (
    "(cancel_requested OR paused OR EXISTS (SELECT 1 FROM paused_workflows w "
    "WHERE w.workflow = runs.workflow))"
)
_CLAIM_FREE = (
    "AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < {lease_now}) "
)
_READY = f"wake_at IS NULL AND status IN ({', '.join(repr(s) for s in _ACTIVE)}) AND NOT paused"
_WOKEN = f"wake_at IS NOT NULL AND status IN ({', '.join(repr(s) for s in _LIVE)}) AND NOT paused"
# The arm's workflow as a range, not an equality: PostgreSQL takes an equality for a constant
# of the arm and counts an index in creation order (runs_created) as cheap as the arm's own,
# which would step through every other workflow's runs; with the range, only the arm's index
# gives its ORDER BY without sorting the backlog.
_ONE_WORKFLOW = "workflow >= wf.name AND workflow <= wf.name"
_CLAIM_TAIL = (
    # The candidates' first ``limit`` in claim order (``at``: the wake time, else the creation
    # time), chosen before their rows are read, so the planner sees a few ids (not the guess
    # of a hundred per workflow that made it read the whole table), then leased.
    "top AS (SELECT id FROM candidates ORDER BY at, created_at, id LIMIT %(limit)s), "
    f"picked AS ({_RUN_SELECT} WHERE id IN (SELECT id FROM top)), "
    "leased AS (UPDATE runs SET lease_owner = %(owner)s, lease_expires_at = {lease_until} "
    "FROM picked WHERE runs.id = picked.id) "
    "SELECT * FROM picked"
)
# The claimer's workflows (or, with none given, every workflow with a runnable-looking run:
# each index's distinct leading names, one seek each, a loose index scan), less the paused.
_FIRST_NAME = "SELECT MIN(workflow) FROM runs WHERE {where}"
_ANY_NAMES = " UNION ".join(
    f"(WITH RECURSIVE names(name) AS (SELECT ({_FIRST_NAME.format(where=where)}) UNION ALL "
    f"SELECT ({_FIRST_NAME.format(where=where)} AND workflow > names.name) FROM names "
    "WHERE names.name IS NOT NULL) SELECT name FROM names WHERE name IS NOT NULL)"
    for where in (_READY, _WOKEN)
)
_CLAIM_NAMES = ("unnest(%(workflows)s::text[])", f"({_ANY_NAMES})")
_CLAIM = (
    "WITH wf AS (SELECT name FROM {names} AS w(name) "
    "WHERE name NOT IN (SELECT workflow FROM paused_workflows)), "
    "fresh AS (SELECT a.* FROM wf CROSS JOIN LATERAL (SELECT id, created_at AS at, created_at "
    f"FROM runs WHERE {_ONE_WORKFLOW} AND {_READY} {_CLAIM_FREE} {{only}} "
    "ORDER BY workflow, created_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) a), "
    "woken AS (SELECT a.* FROM wf CROSS JOIN LATERAL (SELECT id, wake_at AS at, created_at "
    f"FROM runs WHERE {_ONE_WORKFLOW} AND {_WOKEN} AND wake_at <= %(now)s {_CLAIM_FREE} "
    "{only} ORDER BY workflow, wake_at, created_at, id LIMIT %(limit)s "
    "FOR UPDATE SKIP LOCKED) a), "
    "candidates AS (SELECT * FROM fresh UNION ALL SELECT * FROM woken), " + _CLAIM_TAIL
)
# One run by its id (the primary key), when it is runnable.
_CLAIM_ONE = (
    "WITH candidates AS (SELECT id, COALESCE(wake_at, created_at) AS at, created_at "
    f"FROM runs WHERE id = %(run_id)s AND ({_READY} OR {_WOKEN} AND wake_at <= %(now)s) "
    f"{_CLAIM_FREE} AND workflow NOT IN (SELECT workflow FROM paused_workflows) {{only}} "
    "FOR UPDATE SKIP LOCKED), " + _CLAIM_TAIL
)
_HEARTBEAT = (
    "UPDATE runs SET lease_expires_at = {lease_until} WHERE id = ANY(%(ids)s) "
    "AND lease_owner = %(owner)s AND lease_expires_at >= {lease_now} RETURNING id"
)
LEASE_CLOCKS = ("server", "caller")
_WAKE_ON_EVENTS = (
    "UPDATE runs SET wake_at = %s WHERE id = %s AND EXISTS (SELECT 1 FROM events "
    "WHERE run_id = %s AND consumed_seq IS NULL AND name = ANY(%s))"
)
_ADD_EVENT = (
    "WITH event AS (INSERT INTO events (run_id, name, payload, sent_at) "
    "VALUES (%(run)s, %(name)s, %(payload)s, %(at)s) RETURNING id), "
    "woken AS (UPDATE runs SET wake_at = %(at)s WHERE id = %(run)s AND status = %(waiting)s) "
    "SELECT id FROM event"
)


class PostgresStore:
    """The :class:`~wfkit.engine.store.base.Store` protocol on PostgreSQL (see module docstring)."""

    def __init__(self, url: str, *, access: str = "create", lease_clock: str = "server") -> None:
        """``access``: ``create`` sets up or upgrades the schema; ``existing`` upgrades but
        refuses an empty schema; ``read`` changes nothing (see sql_shared.check_access).

        ``lease_clock``: ``server`` (the default) measures leases with the server's clock,
        one clock for every machine, so a worker whose clock runs ahead cannot take over
        live runs: a claim or heartbeat sets the expiry to the server's ``now()`` plus the
        lease's length (the caller's ``lease_until - now``), and claims and fenced commits
        compare it with the server's ``now()``. ``caller`` uses the times the engine passes,
        as the SQLite and memory stores do: for tests that drive time with a virtual clock.
        """
        if psycopg is None:
            raise StoreError(
                "the PostgreSQL store needs the psycopg driver, which is not installed",
                hint="pip install 'wfkit[postgres]'",
            )
        if lease_clock not in LEASE_CLOCKS:
            raise ValueError(
                f"lease_clock must be one of {', '.join(LEASE_CLOCKS)}, got {lease_clock!r}"
            )
        self.url = url
        self.lease_clock = lease_clock
        server = lease_clock == "server"
        self._lease_now = _SERVER_NOW if server else None
        lease_sql = {
            "lease_now": _SERVER_NOW if server else "%(now)s",
            "lease_until": _SERVER_UNTIL if server else "%(until)s",
        }
        self._claim_sql = {
            shape: sql.replace("{lease_now}", lease_sql["lease_now"]).replace(
                "{lease_until}", lease_sql["lease_until"]
            )
            for shape, sql in (
                ("workflows", _CLAIM.replace("{names}", _CLAIM_NAMES[0])),
                ("any", _CLAIM.replace("{names}", _CLAIM_NAMES[1])),
                ("one", _CLAIM_ONE),
            )
        }
        self._heartbeat_sql = _HEARTBEAT.format(**lease_sql)
        self._where = postgres_schema.mask_password(url)
        self._lock = threading.Lock()
        self._idle: list[psycopg.Connection[Any]] = []
        self._borrowed = 0  # connections in use now
        self._peak = _POOL_IDLE  # the most ever in use at once (never below _POOL_IDLE)
        self._closed = False
        self._update_sql: dict[tuple[Any, ...], tuple[str, tuple[Callable[[Any], Any], ...]]] = {}
        conn = postgres_schema.connect(self.url)
        try:
            schema = postgres_schema.target_schema(conn, self._where)
            version = postgres_schema.schema_version(conn, schema, self._where)
            check_access(version, postgres_schema.LATEST_VERSION, self._where, access)
            if version < postgres_schema.LATEST_VERSION:
                postgres_schema.migrate(conn, schema, self._where)
        except psycopg.Error as exc:
            conn.close()
            raise self._error(exc) from exc
        except BaseException:
            conn.close()
            raise
        self._idle.append(conn)

    # -- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        """Close every idle connection; connections in use close when they are handed back."""
        with self._lock:
            self._closed = True
        self._drop_idle()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self._where!r})"

    # -- runs -------------------------------------------------------------------------------------
    def create_run(
        self,
        run: RunRecord,
        history: Sequence[HistoryEntry],
        *,
        queue: QueueEntry | None = None,
    ) -> tuple[RunRecord, bool]:
        row = _run_row(run)
        entries = _history_rows(run.id, history)
        sql = (
            f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(_RUN_COLUMNS))}) "
            "ON CONFLICT (id) DO NOTHING RETURNING " + ", ".join(_RUN_COLUMNS)
        )
        params: Sequence[Any] = row
        if queue is not None and queue.dedup_key is None:  # the entry in the same statement
            sql, params = postgres_queues.with_entry(sql, row, queue, run.created_at)
        with self._transaction() as cur:
            created = cur.execute(sql, params).fetchone()
            if created is None:
                existing = cur.execute(f"{_RUN_SELECT} WHERE id = %s", (run.id,)).fetchone()
                return _run_from_row(_row(existing)), False
            if queue is not None and queue.dedup_key is not None:  # checked under the lock
                postgres_queues.enqueue(cur, run.id, queue, run.created_at)
            for entry in entries:
                cur.execute(_HISTORY_INSERT, entry)
            return _run_from_row(created), True

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._cursor() as cur:
            row = cur.execute(f"{_RUN_SELECT} WHERE id = %s", (run_id,)).fetchone()
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
            "%s",
            None if status is None else _text(status),
            workflow,
            parent_id,
            before,
            None if queue is None else (_ON_QUEUE, queue),
        )
        sql = _RUN_SELECT + condition + " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(max(limit, 0))
        with self._cursor() as cur:
            rows = cur.execute(sql, params).fetchall()
        return [_run_from_row(row) for row in rows]

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
            HistoryEntry(r[0], r[1], r[2], r[3], r[4], _with_result(json.loads(r[5]), r[7]), r[6])
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
            rows = cur.execute(
                f"SELECT {_SCHEDULE_COLUMNS} FROM schedules ORDER BY name"
            ).fetchall()
        return [ScheduleState(*row) for row in rows]

    def save_schedule(self, state: ScheduleState) -> bool:
        values = (
            state.workflow,
            state.revision + 1,
            _ts(state.handled_until),
            _ts(state.buffered_tick),
            state.last_run_id,
            state.paused,
            _ts(state.updated_at),
        )
        with self._transaction() as cur:
            if state.revision == 0:
                cur.execute(
                    f"INSERT INTO schedules ({_SCHEDULE_COLUMNS}) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING",
                    (state.name, *values),
                )
            else:
                cur.execute(
                    "UPDATE schedules SET workflow = %s, revision = %s, handled_until = %s, "
                    "buffered_tick = %s, last_run_id = %s, paused = %s, updated_at = %s "
                    "WHERE name = %s AND revision = %s",
                    (*values, state.name, state.revision),
                )
            return cur.rowcount == 1

    def set_schedule_paused(self, name: str, workflow: str, paused: bool, now: datetime) -> None:
        with self._transaction() as cur:
            cur.execute(
                f"INSERT INTO schedules ({_SCHEDULE_COLUMNS}) "
                "VALUES (%s, %s, 1, NULL, NULL, NULL, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET paused = EXCLUDED.paused, "
                "revision = schedules.revision + 1, updated_at = EXCLUDED.updated_at",
                (name, workflow, paused, _ts(now)),
            )

    # -- paused workflows ---------------------------------------------------------------------------
    def paused_workflows(self) -> dict[str, datetime]:
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT workflow, paused_at FROM paused_workflows ORDER BY workflow"
            ).fetchall()
        return {name: at for name, at in rows}

    def set_workflow_paused(self, workflow: str, paused: bool, now: datetime) -> bool:
        with self._cursor() as cur:
            if paused:
                cur.execute(
                    "INSERT INTO paused_workflows VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (workflow, _ts(now)),
                )
            else:
                cur.execute("DELETE FROM paused_workflows WHERE workflow = %s", (workflow,))
            return cur.rowcount == 1

    # -- the one write path -----------------------------------------------------------------------
    def commit(
        self,
        run_id: str,
        checkpoint: Checkpoint,
        *,
        lease_owner: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        # Everything that can fail on bad input is prepared before the transaction begins.
        sql, converters = self._run_update(
            tuple(checkpoint.run),
            checkpoint.release_lease,
            lease_owner is not None,
            now is not None,
            checkpoint.unless_cancelled,
        )
        params: list[Any] = [
            convert(value) for convert, value in zip(converters, checkpoint.run.values())
        ]
        params.append(run_id)
        if lease_owner is not None:
            params.append(lease_owner)
            if now is not None and self._lease_now is None:
                params.append(_ts(now))
        ops = [_op_row(run_id, op) for op in checkpoint.operations]
        entries = _history_rows(run_id, checkpoint.history)
        owners = result_lines(checkpoint.operations, checkpoint.history)
        consume = checkpoint.consume_event
        discard = checkpoint.discard_operations
        wake_names = sorted(set(checkpoint.wake_on_events))
        wake_at = _ts(now) if wake_names else None
        sent = checkpoint.send_events
        if sent and now is None:
            raise TypeError("Checkpoint.send_events needs now")
        if not (consume or discard or wake_names or sent) and len(entries) <= 1 >= len(ops):
            one = self._commit_in_one(run_id, sql, params, entries, ops, owners)
            if one is not None:
                row = one[0]
                if row is not None:
                    return bool(row[0])
                found = one[1]
                if found is None:
                    raise KeyError(run_id)
                if checkpoint.unless_cancelled and found[0]:
                    raise CancelRequested(run_id)
                raise LeaseLost(run_id, lease_owner)
        with self._transaction() as cur:
            row = cur.execute(sql, params).fetchone()
            if row is None:
                found = cur.execute(
                    "SELECT cancel_requested FROM runs WHERE id = %s", (run_id,)
                ).fetchone()
                if found is None:
                    raise KeyError(run_id)
                if checkpoint.unless_cancelled and found[0]:
                    raise CancelRequested(run_id)
                raise LeaseLost(run_id, lease_owner)
            if consume is not None:
                cur.execute(
                    "UPDATE events SET consumed_seq = %s WHERE id = %s", (consume[1], consume[0])
                )
            if discard:
                cur.execute(
                    "DELETE FROM operations WHERE run_id = %s AND seq = ANY(%s)",
                    (run_id, list(discard)),
                )
            # History first: an operation's row refers to the line holding its result.
            indexes = [_row(cur.execute(_HISTORY_INSERT, entry).fetchone())[0] for entry in entries]
            rows = [_op_upsert_row(op, owner, indexes) for op, owner in zip(ops, owners)]
            if len(rows) == 1:
                cur.execute(_OP_UPSERT, rows[0])
            elif rows:
                cur.executemany(_OP_UPSERT, rows)
            if wake_names:
                cur.execute(_WAKE_ON_EVENTS, (wake_at, run_id, run_id, wake_names))
            for target, name, payload in sent:
                cur.execute(
                    _ADD_EVENT,
                    {
                        "run": target,
                        "name": name,
                        "payload": payload,
                        "at": _ts(now),
                        "waiting": RunStatus.WAITING.value,
                    },
                )
            return bool(row[0])

    def _commit_in_one(
        self,
        run_id: str,
        fence_sql: str,
        fence_params: list[Any],
        entries: list[dict[str, Any]],
        ops: list[tuple[Any, ...]],
        owners: list[int | None],
    ) -> tuple[Any, Any] | None:
        """A step's checkpoint in one statement (see _ONE_HISTORY): (the fence's row, or None
        and the run's cancel flag row when refused), or None when a concurrent append made it
        collide and the caller must take the general path."""
        parts, params = [f"f AS ({fence_sql})"], list(fence_params)
        if entries:
            e = entries[0]
            parts.append(_ONE_HISTORY)
            params += [run_id, run_id, e["at"], e["type"], e["seq"], e["name"], e["data"]]
            params.append(e["result"])
        if ops:
            row, owner = ops[0], owners[0]
            if owner is None:
                parts.append(_ONE_OP.format(line="NULL::integer", source="f"))
                params += list(row)
            else:
                parts.append(_ONE_OP.format(line="h.idx", source="h"))
                params += [*row[:_RESULT_AT], None, *row[_RESULT_AT + 1 :]]
        sql = "WITH " + ", ".join(parts) + " SELECT * FROM f"
        with self._connection() as conn:
            try:
                found = conn.execute(sql, params).fetchone()
            except psycopg.errors.UniqueViolation:
                return None  # autocommit: the statement is rolled back whole
            if found is not None:
                return found, None
            refused = conn.execute(
                "SELECT cancel_requested FROM runs WHERE id = %s", (run_id,)
            ).fetchone()
            return None, refused

    def _run_update(
        self,
        keys: tuple[str, ...],
        release: bool,
        fenced: bool,
        expiry: bool,
        unless_cancelled: bool,
    ) -> tuple[str, tuple[Callable[[Any], Any], ...]]:
        """The fenced ``UPDATE runs ... RETURNING cancel_requested`` for this shape of
        checkpoint, built once and cached. Column names come only from :class:`RunRecord`'s
        fields, never from caller text. With nothing to change, ``SELECT ... FOR UPDATE``
        does the same existence check and fence and takes the same row lock."""
        cache_key = (keys, release, fenced, expiry, unless_cancelled)
        cached = self._update_sql.get(cache_key)
        if cached is not None:
            return cached
        sql, _ = fenced_run_statement(
            keys,
            _RUN_CONVERTERS,
            release=release,
            fenced=fenced,
            expiry=expiry,
            unless_cancelled=unless_cancelled,
            lease_now=self._lease_now,
            placeholder="%s",
            read_tail=" FOR UPDATE",
            columns=_STOP_FLAG,
            write_tail=f" RETURNING {_STOP_FLAG}",
        )
        built = (sql, tuple(_RUN_CONVERTERS[k] for k in keys))
        self._update_sql[cache_key] = built
        return built

    # -- events -----------------------------------------------------------------------------------
    def add_event(self, run_id: str, name: str, payload: str, at: datetime) -> EventRecord:
        params = {
            "run": run_id,
            "name": name,
            "payload": payload,
            "at": _ts(at),
            "waiting": RunStatus.WAITING.value,
        }
        with self._cursor() as cur:
            (event_id,) = _row(cur.execute(_ADD_EVENT, params).fetchone())
        return EventRecord(event_id, run_id, name, payload, at.astimezone(timezone.utc))

    def pending_events(self, run_id: str, name: str) -> list[EventRecord]:
        with self._cursor() as cur:
            rows = cur.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE run_id = %s AND name = %s "
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
        if limit <= 0:
            return []
        params: dict[str, Any] = {
            "now": _ts(now),
            "limit": limit,
            "owner": owner,
            "until": _ts(lease_until),
            "run_id": run_id,
            "workflows": sorted(set(workflows or ())),
        }
        only = ""
        if run_id is not None and workflows is not None:
            only += " AND workflow = ANY(%(workflows)s)"
        if only_queues is not None:
            only += postgres_queues.only_queues_clause(only_queues, params)
        shape = "one" if run_id is not None else "any" if workflows is None else "workflows"
        sql = self._claim_sql[shape].replace("{only}", only)
        if queues:  # queues: dequeue within their limits first, in the claim's transaction
            # Pipelined: the dequeue statements and the claim go out together, one round trip.
            with self._connection() as conn, conn.pipeline(), conn.transaction():
                cur = conn.cursor()
                postgres_queues.dequeue(cur, queues, now)
                cur.execute(sql, params)
                rows = cur.fetchall()
        else:
            with self._cursor() as cur:  # one statement: atomic without an explicit transaction
                rows = cur.execute(sql, params).fetchall()
        claimed = [_run_from_row(row) for row in rows]
        # RETURNING order is unspecified: restore the claim order.
        claimed.sort(key=lambda r: (r.wake_at or r.created_at, r.created_at, r.id))
        return claimed

    def heartbeat(
        self, owner: str, run_ids: Sequence[str], lease_until: datetime, now: datetime
    ) -> set[str]:
        if not run_ids:
            return set()
        with self._cursor() as cur:
            rows = cur.execute(
                self._heartbeat_sql,
                {"until": _ts(lease_until), "ids": list(run_ids), "owner": owner, "now": _ts(now)},
            ).fetchall()
        return {row[0] for row in rows}

    def release(self, owner: str, run_id: str) -> None:
        with self._cursor() as cur:
            cur.execute(
                "UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL "
                "WHERE id = %s AND lease_owner = %s",
                (run_id, owner),
            )

    def next_wake(self) -> datetime | None:
        """The earliest wake_at of any live run: active runs can wait out a retry delay too."""
        with self._cursor() as cur:
            row = cur.execute(
                f"SELECT MIN(wake_at) FROM runs WHERE status = ANY(%s) {_NOT_PAUSED}", (_LIVE,)
            ).fetchone()
        wake_at: datetime | None = _row(row)[0]
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
            rows = cur.execute(sql, (_ts(finished_before),)).fetchall()
        return [row[0] for row in rows]

    def delete_runs(
        self, run_ids: Sequence[str], finished_before: datetime, statuses: Collection[RunStatus]
    ) -> list[str]:
        # The DELETE checks the conditions again: a run retried since it was listed is live
        # again and stays.
        sql = (
            f"DELETE FROM runs r WHERE r.id = ANY(%s) AND {prunable_where(statuses, '%s')} "
            "RETURNING r.id, r.finished_at"
        )
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return []
        with self._transaction() as cur:
            rows = cur.execute(sql, (ids, _ts(finished_before))).fetchall()
            gone = [run_id for run_id, _ in sorted(rows, key=lambda row: (row[1], row[0]))]
            for table in ("operations", "history", "events", "queue_entries"):
                cur.execute(f"DELETE FROM {table} WHERE run_id = ANY(%s)", (gone,))
        return gone

    # -- plumbing ---------------------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """Borrow a pooled connection; failures of the database map to :class:`StoreError`."""
        with self._lock:
            if self._closed:
                raise StoreError(f"the store on {self._where} is closed", hint="open a new store")
            conn = self._idle.pop() if self._idle else None
            self._borrowed += 1
            self._peak = max(self._peak, min(self._borrowed, _POOL_MAX))
        if conn is None:
            conn = postgres_schema.connect(self.url)
        try:
            yield conn
        except psycopg.Error as exc:
            if conn.broken:
                # The server went away (a restart, a failover): the idle connections went
                # with it, so drop them all now rather than fail once per pooled connection
                # when the server is back.
                self._drop_idle()
                raise postgres_schema.connection_error(self.url, exc, lost=True) from exc
            raise self._error(exc) from exc
        finally:
            with self._lock:
                self._borrowed -= 1
                keep = (
                    not self._closed
                    and not conn.closed
                    and not conn.broken
                    and len(self._idle) < self._peak
                )
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def _drop_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor[Any]]:
        with self._connection() as conn, conn.cursor() as cur:
            yield cur

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction; any exception (LeaseLost, KeyError, ...) rolls it back."""
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def _error(self, exc: psycopg.Error) -> StoreError:
        text = " ".join(str(exc).split())
        return StoreError(
            f"PostgreSQL error on {self._where}: {text}",
            hint="check the database and the wfkit release that created it",
        )


# -- record <-> row -------------------------------------------------------------------------------
def _run_row(run: RunRecord) -> tuple[Any, ...]:
    return (
        run.id,
        run.workflow,
        run.version,
        _text(run.status),
        run.input,
        str(run.seed),
        _ts(run.created_at),
        _ts(run.updated_at),
        run.result,
        run.error,
        run.parent_id,
        run.parent_seq,
        _ts(run.wake_at),
        run.lease_owner,
        _ts(run.lease_expires_at),
        run.recoveries,
        bool(run.cancel_requested),
        bool(run.compensate_on_cancel),
        _ts(run.finished_at),
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
        r[6],
        r[7],
        r[8],
        r[9],
        r[10],
        r[11],
        r[12],
        r[13],
        r[14],
        r[15],
        r[16],
        r[17],
        r[18],
        bool(r[19]),
    )


def _op_row(run_id: str, op: OperationRecord) -> tuple[Any, ...]:
    return (
        run_id,
        op.seq,
        _text(op.kind),
        op.name,
        _text(op.status),
        op.attempt,
        _ts(op.started_at),
        _ts(op.finished_at),
        op.result,
        op.error,
        _ts(op.wake_at),
        op.source,
        op.compensates,
    )


def _history_rows(run_id: str, entries: Sequence[HistoryEntry]) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        data = entry_data(e)
        result = data.pop("result", None) if e.op is not None else None
        rows.append(
            {
                "run": run_id,
                "at": _ts(e.at),
                "type": e.type,
                "seq": e.seq,
                "name": e.name,
                "data": _encode_json(data),
                "result": result,
            }
        )
    return rows


def _with_result(data: dict[str, Any], result: str | None) -> dict[str, Any]:
    """An operation line's data with its result back in the snapshot's place (after the
    finish time, where :func:`~wfkit.engine.store.base.op_snapshot` puts it)."""
    if result is None:
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _AFTER_RESULT and "result" not in out:
            out["result"] = result
        out[key] = value
    out.setdefault("result", result)
    return out


_AFTER_RESULT = frozenset({"error", "source", "compensates", "wake_at"})


def _op_upsert_row(row: tuple[Any, ...], owner: int | None, indexes: list[int]) -> tuple[Any, ...]:
    if owner is None:
        return (*row, None)
    return (*row[:_RESULT_AT], None, *row[_RESULT_AT + 1 :], indexes[owner])
