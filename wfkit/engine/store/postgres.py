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
The store is split by job: its rows (:mod:`postgres_rows`), read-only queries
(:mod:`postgres_reads`), checkpoint writes (:mod:`postgres_checkpoint`), claims and lease clock
(:mod:`postgres_claim`), queues (:mod:`postgres_queues`) and schema (:mod:`postgres_schema`);
this module holds the connection pool and the other writes.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

try:
    import psycopg
except ImportError:  # the optional extra; PostgresStore() says how to install it
    psycopg = None  # type: ignore[assignment]

from wfkit.engine.queues import Queue, QueueEntry
from wfkit.engine.status import RunStatus
from wfkit.engine.store import postgres_queues, postgres_schema
from wfkit.engine.store.base import Checkpoint, EventRecord, HistoryEntry, RunRecord, ScheduleState
from wfkit.engine.store.postgres_checkpoint import (
    ADD_EVENT,
    HISTORY_INSERT,
    FenceStatements,
    commit_in_one,
    prepare,
    write,
)
from wfkit.engine.store.postgres_claim import lease_statements
from wfkit.engine.store.postgres_reads import PostgresReads
from wfkit.engine.store.postgres_rows import (
    RUN_COLUMNS,
    RUN_SELECT,
    aware,
    history_rows,
    one_row,
    run_from_row,
    run_row,
)
from wfkit.engine.store.sql_shared import (
    SCHEDULE_COLUMNS,
    check_access,
    fence_refusal,
    prunable_where,
)
from wfkit.errors import StoreError

# Idle connections kept: as many as were ever in use at once (a worker with --concurrency 32
# keeps 32: closing the surplus after each transaction made every step of a busy worker pay a
# new connection, ~5 ms with password authentication), at least _POOL_IDLE, at most _POOL_MAX.
_POOL_IDLE = 4
_POOL_MAX = 128


class PostgresStore(PostgresReads):
    """The :class:`~wfkit.engine.store.base.Store` protocol on PostgreSQL (see module docstring).
    It inherits its read-only queries from :class:`PostgresReads`; its checkpoints are written
    by :mod:`postgres_checkpoint`'s functions, on connections from its pool."""

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
        self._lease_now, self._claim_sql, self._heartbeat_sql = lease_statements(lease_clock)
        self.url = url
        self.lease_clock = lease_clock
        self._where = postgres_schema.mask_password(url)
        self._lock = threading.Lock()
        self._idle: list[psycopg.Connection[Any]] = []
        self._borrowed = 0  # connections in use now
        self._peak = _POOL_IDLE  # the most ever in use at once (never below _POOL_IDLE)
        self._closed = False
        self._update_sql: FenceStatements = {}
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
        row = run_row(run)
        entries = history_rows(run.id, history)
        sql = (
            f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(RUN_COLUMNS))}) "
            "ON CONFLICT (id) DO NOTHING RETURNING " + ", ".join(RUN_COLUMNS)
        )
        params: Sequence[Any] = row
        if queue is not None and queue.dedup_key is None:  # the entry in the same statement
            sql, params = postgres_queues.with_entry(sql, row, queue, run.created_at)
        with self._transaction() as cur:
            created = cur.execute(sql, params).fetchone()
            if created is None:
                existing = cur.execute(f"{RUN_SELECT} WHERE id = %s", (run.id,)).fetchone()
                return run_from_row(one_row(existing)), False
            if queue is not None and queue.dedup_key is not None:  # checked under the lock
                postgres_queues.enqueue(cur, run.id, queue, run.created_at)
            for entry in entries:
                cur.execute(HISTORY_INSERT, entry)
            return run_from_row(created), True

    # -- schedules --------------------------------------------------------------------------------
    def save_schedule(self, state: ScheduleState) -> bool:
        values = (
            state.workflow,
            state.revision + 1,
            aware(state.handled_until),
            aware(state.buffered_tick),
            state.last_run_id,
            state.paused,
            aware(state.updated_at),
        )
        with self._transaction() as cur:
            if state.revision == 0:
                cur.execute(
                    f"INSERT INTO schedules ({SCHEDULE_COLUMNS}) "
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
                f"INSERT INTO schedules ({SCHEDULE_COLUMNS}) "
                "VALUES (%s, %s, 1, NULL, NULL, NULL, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET paused = EXCLUDED.paused, "
                "revision = schedules.revision + 1, updated_at = EXCLUDED.updated_at",
                (name, workflow, paused, aware(now)),
            )

    # -- paused workflows ---------------------------------------------------------------------------
    def set_workflow_paused(self, workflow: str, paused: bool, now: datetime) -> bool:
        with self._cursor() as cur:
            if paused:
                cur.execute(
                    "INSERT INTO paused_workflows VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (workflow, aware(now)),
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
        p = prepare(self._update_sql, self._lease_now, run_id, checkpoint, lease_owner, now)
        if p.in_one:
            with self._connection() as conn:
                one = commit_in_one(conn, p)
            if one is not None:
                row, found = one
                if row is not None:
                    return bool(row[0])
                raise fence_refusal(run_id, found, checkpoint.unless_cancelled, lease_owner)
        with self._transaction() as cur:
            return write(cur, p)

    # -- events -----------------------------------------------------------------------------------
    def add_event(self, run_id: str, name: str, payload: str, at: datetime) -> EventRecord:
        params = {
            "run": run_id,
            "name": name,
            "payload": payload,
            "at": aware(at),
            "waiting": RunStatus.WAITING.value,
        }
        with self._cursor() as cur:
            (event_id,) = one_row(cur.execute(ADD_EVENT, params).fetchone())
        return EventRecord(event_id, run_id, name, payload, at.astimezone(timezone.utc))

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
            "now": aware(now),
            "limit": limit,
            "owner": owner,
            "until": aware(lease_until),
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
        claimed = [run_from_row(row) for row in rows]
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
                {
                    "until": aware(lease_until),
                    "ids": list(run_ids),
                    "owner": owner,
                    "now": aware(now),
                },
            ).fetchall()
        return {row[0] for row in rows}

    def release(self, owner: str, run_id: str) -> None:
        with self._cursor() as cur:
            cur.execute(
                "UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL "
                "WHERE id = %s AND lease_owner = %s",
                (run_id, owner),
            )

    # -- retention --------------------------------------------------------------------------------
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
            rows = cur.execute(sql, (ids, aware(finished_before))).fetchall()
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
