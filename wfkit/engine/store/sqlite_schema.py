"""The SQLite store's schema: ordered migrations and the checks that guard a file before use.

Opening a store must never damage a file that is not ours. So the file is *inspected* (header
bytes, then a read-only look at ``sqlite_master``) before anything is written; a foreign or
newer database is rejected untouched, and only an empty file or an older wfkit schema is
migrated, inside one ``BEGIN IMMEDIATE`` transaction so two processes opening a new file at
once cannot both create the schema. Switching the file to WAL (the first write) also waits
until those checks have passed.

Timestamps are stored as integer microseconds since the Unix epoch (UTC): compact, exact,
ordered like the instants they stand for, and always supplied by the caller's clock, never by
SQLite (no ``CURRENT_TIMESTAMP`` anywhere).
"""

from __future__ import annotations

import os
import sqlite3
import time

from wfkit.engine.store.sql_shared import check_not_newer as shared_check_not_newer
from wfkit.engine.store.sql_shared import stored_schema_version
from wfkit.errors import StoreError

SCHEMA_TABLE = "wfkit_schema"
SQLITE_HEADER = b"SQLite format 3\x00"

_V1_RUN_COLUMNS = (
    "id, workflow, version, status, input, seed, created_at, updated_at, result, error, "
    "parent_id, parent_seq, wake_at, lease_owner, lease_expires_at, recoveries, "
    "cancel_requested, compensate_on_cancel, finished_at"
)

# A run's columns other than its input, as migration 3 copies them (frozen too).
_V3_RUN_COLUMNS = _V1_RUN_COLUMNS.replace(" input,", "")

# The run's columns after its key, as migrations 1 and 2 both create them. Frozen like the
# migrations themselves: a later change to runs is a new migration, not an edit here.
_RUN_FIELDS = """workflow             TEXT NOT NULL,
        version              INTEGER NOT NULL,
        status               TEXT NOT NULL,
        input                TEXT NOT NULL,
        seed                 TEXT NOT NULL,
        created_at           INTEGER NOT NULL,
        updated_at           INTEGER NOT NULL,
        result               TEXT,
        error                TEXT,
        parent_id            TEXT,
        parent_seq           INTEGER,
        wake_at              INTEGER,
        lease_owner          TEXT,
        lease_expires_at     INTEGER,
        recoveries           INTEGER NOT NULL DEFAULT 0,
        cancel_requested     INTEGER NOT NULL DEFAULT 0,
        compensate_on_cancel INTEGER NOT NULL DEFAULT 1,
        finished_at          INTEGER"""

# An operation's columns after its key, as migrations 1 and 2 both create them (frozen too).
_OP_FIELDS = """kind        TEXT NOT NULL,
        name        TEXT NOT NULL,
        status      TEXT NOT NULL,
        attempt     INTEGER NOT NULL,
        started_at  INTEGER,
        finished_at INTEGER,
        result      TEXT,
        error       TEXT,
        wake_at     INTEGER,
        source      TEXT,
        compensates INTEGER"""

# Migration N (1-based) brings a database from version N-1 to N. Statements are separated by
# ";" and must not contain one themselves (no triggers): they run one by one inside the
# migration transaction, because ``executescript`` would commit it half-way.
MIGRATIONS: tuple[str, ...] = (
    # 1: the initial schema.
    f"""
    CREATE TABLE {SCHEMA_TABLE} (
        version INTEGER PRIMARY KEY
    );
    CREATE TABLE runs (
        id                   TEXT PRIMARY KEY,
        {_RUN_FIELDS}
    );
    CREATE INDEX runs_claim ON runs (status, wake_at, lease_expires_at);
    CREATE INDEX runs_created ON runs (created_at, id);
    CREATE INDEX runs_parent ON runs (parent_id);
    CREATE TABLE operations (
        run_id      TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        {_OP_FIELDS},
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE events (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id       TEXT NOT NULL,
        name         TEXT NOT NULL,
        payload      TEXT NOT NULL,
        sent_at      INTEGER NOT NULL,
        consumed_seq INTEGER
    );
    CREATE INDEX events_inbox ON events (run_id, name, consumed_seq);
    CREATE TABLE history (
        run_id TEXT NOT NULL,
        idx    INTEGER NOT NULL,
        at     INTEGER NOT NULL,
        type   TEXT NOT NULL,
        seq    INTEGER,
        name   TEXT,
        data   TEXT NOT NULL,
        PRIMARY KEY (run_id, idx)
    ) WITHOUT ROWID
    """,
    # 2: integer keys that append, and operation history as columns. A step checkpoint writes
    # one operation row and one history row; keyed by (run id text, n) in WITHOUT ROWID trees
    # they landed at scattered positions and every leaf overflow rebalanced three siblings
    # (~4.5 WAL pages per commit). Keyed by one integer, run_key * 2**24 + n (run_key: the
    # run's INTEGER PRIMARY KEY, handed out in creation order), a run's rows are one rowid
    # range and a live run's new rows append at the right edge of both trees. An operation's
    # history line holds the record's columns (data NULL) instead of a JSON snapshot: a third
    # of the bytes, and no JSON to build per step. Version 1 lines keep their JSON. Only child
    # runs are indexed by parent (a top-level run's start writes one B-tree less).
    f"""
    CREATE TABLE runs_v2 (
        pk                   INTEGER PRIMARY KEY,
        id                   TEXT NOT NULL UNIQUE,
        {_RUN_FIELDS}
    );
    INSERT INTO runs_v2 (pk, {_V1_RUN_COLUMNS})
        SELECT rowid, {_V1_RUN_COLUMNS} FROM runs ORDER BY created_at, id;
    CREATE TABLE operations_v2 (
        key         INTEGER PRIMARY KEY,
        {_OP_FIELDS}
    );
    INSERT INTO operations_v2
        SELECT r.pk * {1 << 24} + o.seq, o.kind, o.name, o.status, o.attempt, o.started_at,
               o.finished_at, o.result, o.error, o.wake_at, o.source, o.compensates
        FROM operations o JOIN runs_v2 r ON r.id = o.run_id;
    CREATE TABLE history_v2 (
        key         INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        type        TEXT NOT NULL,
        seq         INTEGER,
        name        TEXT,
        data        TEXT,
        kind        TEXT,
        status      TEXT,
        attempt     INTEGER,
        started_at  INTEGER,
        finished_at INTEGER,
        result      TEXT,
        error       TEXT,
        wake_at     INTEGER,
        source      TEXT,
        compensates INTEGER
    );
    INSERT INTO history_v2 (key, at, type, seq, name, data)
        SELECT r.pk * {1 << 24} + h.idx, h.at, h.type, h.seq, h.name, h.data
        FROM history h JOIN runs_v2 r ON r.id = h.run_id;
    DROP TABLE history;
    DROP TABLE operations;
    DROP TABLE runs;
    ALTER TABLE runs_v2 RENAME TO runs;
    ALTER TABLE operations_v2 RENAME TO operations;
    ALTER TABLE history_v2 RENAME TO history;
    CREATE INDEX runs_claim ON runs (status, wake_at, lease_expires_at);
    CREATE INDEX runs_created ON runs (created_at, id);
    CREATE INDEX runs_parent ON runs (parent_id) WHERE parent_id IS NOT NULL
    """,
    # 3: every payload stored once. A run's input moves out of its row into run_inputs: SQLite
    # rewrites a whole row (overflow pages included) on every UPDATE, so a 10 MB input was
    # copied again by each status change, claim and heartbeat, and the freed pages grew the
    # file by another copy. An operation's result is kept by the history line that recorded
    # it (result_key names that line; result stays NULL), instead of a second copy in the
    # operation row. Rows written before keep their inline values, which are still read.
    f"""
    CREATE TABLE run_inputs (
        pk    INTEGER PRIMARY KEY,
        input TEXT NOT NULL
    );
    INSERT INTO run_inputs (pk, input) SELECT pk, input FROM runs;
    CREATE TABLE runs_v3 (
        pk                   INTEGER PRIMARY KEY,
        id                   TEXT NOT NULL UNIQUE,
        {_RUN_FIELDS.replace("input                TEXT NOT NULL,", "")}
    );
    INSERT INTO runs_v3 (pk, {_V3_RUN_COLUMNS})
        SELECT pk, {_V3_RUN_COLUMNS} FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_v3 RENAME TO runs;
    CREATE INDEX runs_claim ON runs (status, wake_at, lease_expires_at);
    CREATE INDEX runs_created ON runs (created_at, id);
    CREATE INDEX runs_parent ON runs (parent_id) WHERE parent_id IS NOT NULL;
    ALTER TABLE operations ADD COLUMN result_key INTEGER
    """,
    # 4: schedules (wfkit.engine.schedules): how far each one's ticks have been handled.
    """
    CREATE TABLE schedules (
        name          TEXT PRIMARY KEY,
        workflow      TEXT NOT NULL,
        revision      INTEGER NOT NULL,
        handled_until     INTEGER,
        buffered_tick INTEGER,
        last_run_id   TEXT,
        paused        INTEGER NOT NULL DEFAULT 0,
        updated_at    INTEGER
    )
    """,
    # 5: the claim order as two indexes over the runs a claim can take, so a claim reads the
    # first runnable runs instead of sorting every live one: runs ready since their creation
    # (active, no wake time) and runs with a wake time (parked, or waiting out a retry delay).
    # The claim query in sqlite_claim.py repeats these predicates; the status lists are frozen here
    # like the rest of a migration.
    """
    CREATE INDEX runs_new ON runs (created_at, id)
        WHERE wake_at IS NULL AND status IN ('COMPENSATING', 'PENDING', 'RUNNING');
    CREATE INDEX runs_woken ON runs (wake_at, created_at, id)
        WHERE wake_at IS NOT NULL
        AND status IN ('COMPENSATING', 'PENDING', 'RUNNING', 'SLEEPING', 'WAITING')
    """,
    # 6: queues (wfkit.engine.queues): one entry per run started on a queue, keyed by the run's
    # key; waiting entries are found in dequeue order (priority, then creation), dequeues in a
    # trailing period by time, and a dedup key is held by one entry of a queue at a time.
    """
    CREATE TABLE queue_entries (
        run_pk      INTEGER PRIMARY KEY,
        queue       TEXT NOT NULL,
        queue_key   TEXT,
        priority    INTEGER NOT NULL,
        dedup_key   TEXT,
        state       TEXT NOT NULL,
        enqueued_at INTEGER NOT NULL,
        dequeued_at INTEGER
    );
    CREATE INDEX queue_waiting ON queue_entries (queue, state, priority, run_pk);
    CREATE INDEX queue_dequeues ON queue_entries (queue, dequeued_at)
        WHERE dequeued_at IS NOT NULL;
    CREATE UNIQUE INDEX queue_dedup ON queue_entries (queue, dedup_key)
        WHERE dedup_key IS NOT NULL
    """,
    # 7: pause and resume (wfkit.engine.pausing): a run's paused flag, and the workflows paused
    # as a whole (their runs not created yet included). Self-contained: it only adds.
    """
    ALTER TABLE runs ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE paused_workflows (
        workflow  TEXT PRIMARY KEY,
        paused_at INTEGER NOT NULL
    )
    """,
    # 8: the claim indexes of migration 5 keyed by workflow first, without paused runs, so a
    # claim reads each of its workflows' first runnable runs instead of stepping over every
    # older run it cannot take (another workflow's backlog, a paused one's). See sqlite_claim.
    """
    DROP INDEX runs_new;
    DROP INDEX runs_woken;
    CREATE INDEX runs_ready ON runs (workflow, created_at, id)
        WHERE wake_at IS NULL AND status IN ('COMPENSATING', 'PENDING', 'RUNNING')
        AND NOT paused;
    CREATE INDEX runs_wake ON runs (workflow, wake_at, created_at, id)
        WHERE wake_at IS NOT NULL
        AND status IN ('COMPENSATING', 'PENDING', 'RUNNING', 'SLEEPING', 'WAITING')
        AND NOT paused
    """,
)
LATEST_VERSION = len(MIGRATIONS)
# Operation and history keys: run_key * KEY_SPAN + n, n in [0, KEY_SPAN). 2**24 entries per run
# is far beyond any sane run (Temporal stops a run at ~51k history events) and leaves 2**39
# run keys (550 billion runs) in SQLite's 63-bit integers.
KEY_BITS = 24
KEY_SPAN = 1 << KEY_BITS
MAX_RUN_KEY = (1 << (63 - KEY_BITS)) - 1

_FIX_PATH = "point the store URL at a wfkit database or at a new file (e.g. sqlite:///wfkit.db)"


def check_file_header(path: str) -> None:
    """Reject a non-empty file that is not an SQLite database before SQLite even opens it."""
    if os.path.isdir(path):
        raise StoreError(f"{path} is a directory, not an SQLite database file", hint=_FIX_PATH)
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(
            f"cannot read {path}: {exc.strerror}", hint="check the path and its permissions"
        ) from exc
    if header and header != SQLITE_HEADER:
        raise StoreError(f"{path} is not an SQLite database (not a wfkit store)", hint=_FIX_PATH)


def schema_version(conn: sqlite3.Connection, path: str) -> int:
    """The wfkit schema version of the database: 0 when empty; foreign databases raise."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return stored_schema_version(
        tables,
        SCHEMA_TABLE,
        lambda: int(conn.execute(f"SELECT MAX(version) FROM {SCHEMA_TABLE}").fetchone()[0] or 0),
        lambda shown: StoreError(
            f"{path} is an SQLite database of another application "
            f"(tables: {shown}), not a wfkit store",
            hint=_FIX_PATH,
        ),
    )


def check_not_newer(version: int, path: str) -> None:
    shared_check_not_newer(version, LATEST_VERSION, path)


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Bring the schema to :data:`LATEST_VERSION` in one transaction; return the version found.

    The version is read again under the write lock: another process may have migrated the
    file between our first look and ``BEGIN IMMEDIATE``.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = schema_version(conn, path)
        check_not_newer(found, path)
        for version in range(found + 1, LATEST_VERSION + 1):
            if version == 2:
                _check_v1_fits_keys(conn, path)
            for statement in MIGRATIONS[version - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (?)", (version,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return found


def _check_v1_fits_keys(conn: sqlite3.Connection, path: str) -> None:
    """Refuse (before changing anything) to migrate a run whose numbers overflow its key range."""
    low, high = conn.execute(
        "SELECT MIN(n), MAX(n) FROM (SELECT seq AS n FROM operations "
        "UNION ALL SELECT idx FROM history)"
    ).fetchone()
    if high is not None and not (0 <= low and high < KEY_SPAN):
        raise StoreError(
            f"{path} holds an operation or history entry numbered "
            f"{high if high >= KEY_SPAN else low}, outside this wfkit's range "
            f"0..{KEY_SPAN - 1}",
            hint="export and archive that run with the wfkit that wrote it first",
        )


def enable_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch the file to WAL (a persistent setting), retrying while others hold it.

    Changing the journal mode needs the file to itself and SQLite reports "locked" at once
    instead of calling the busy handler, so several processes opening a new file together
    would fail; retry with backoff for up to ``timeout`` like any other lock wait.
    """
    if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    deadline, pause = time.monotonic() + timeout, 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
