"""A store written before queues (SQLite schema 5, PostgreSQL schema 4) is upgraded by the first
opening that may write: its runs carry on and runs can be queued; a read-only opening leaves
it as it was.

The old store is made by the current code and then taken back to the schema before queues:
the claim indexes by workflow (the last migration) replaced the ones before them, which are
made again; the pause migration before it only adds ``paused_workflows`` and the runs'
``paused`` column, and the queues migration only ``queue_entries`` (and its indexes), so
dropping those and their version rows is the older schema exactly.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from store_records import at, run

from wfkit.engine.queues import Queue, QueueEntry
from wfkit.engine.status import RunStatus
from wfkit.engine.store import postgres_schema, sqlite_schema
from wfkit.engine.store.base import Store
from wfkit.engine.store.postgres import PostgresStore
from wfkit.engine.store.sqlite import SqliteStore
from wfkit.errors import StoreError


def _carries_on(store: Store) -> None:
    old = store.get_run("old")
    assert old is not None and old.status == RunStatus.PENDING
    store.create_run(run("new", status=RunStatus.QUEUED, created=1), [], queue=QueueEntry("q", "k"))
    claimed = store.claim("w1", at(2), at(30), limit=10, queues=[Queue("q", concurrency=1)])
    assert sorted(r.id for r in claimed) == ["new", "old"]


def test_a_schema_5_sqlite_file_is_upgraded_by_the_first_writer(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with SqliteStore(f"sqlite:///{path}") as store:
        store.create_run(run("old"), [])
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP INDEX runs_ready")
    conn.execute("DROP INDEX runs_wake")
    conn.executescript(sqlite_schema.MIGRATIONS[4])  # migration 5: the claim indexes before
    conn.execute("DROP TABLE queue_entries")
    conn.execute("DROP TABLE paused_workflows")
    conn.execute("ALTER TABLE runs DROP COLUMN paused")
    conn.execute(f"DELETE FROM {sqlite_schema.SCHEMA_TABLE} WHERE version >= 6")
    conn.close()
    with pytest.raises(StoreError, match="older wfkit"):  # a read-only opening: untouched
        SqliteStore(f"sqlite:///{path}", access="read")
    conn = sqlite3.connect(path)
    assert conn.execute(f"SELECT MAX(version) FROM {sqlite_schema.SCHEMA_TABLE}").fetchone() == (5,)
    conn.close()
    with SqliteStore(f"sqlite:///{path}") as store:
        _carries_on(store)
    conn = sqlite3.connect(path)
    assert conn.execute(f"SELECT MAX(version) FROM {sqlite_schema.SCHEMA_TABLE}").fetchone() == (
        sqlite_schema.LATEST_VERSION,
    )
    conn.close()


@pytest.mark.postgres
def test_a_schema_4_postgres_database_is_upgraded_by_the_first_writer(
    postgres_database: Any,
) -> None:
    url = postgres_database.new_url()
    schema = url.rsplit("%3D", 1)[1]
    with PostgresStore(url) as store:
        store.create_run(run("old"), [])
    postgres_database.execute(f"DROP INDEX {schema}.runs_ready")
    postgres_database.execute(f"DROP INDEX {schema}.runs_wake")
    for statement in postgres_schema.MIGRATIONS[3]:  # migration 4: the claim indexes before
        postgres_database.execute(statement.replace(" ON runs ", f" ON {schema}.runs "))
    postgres_database.execute(f"DROP TABLE {schema}.queue_entries")
    postgres_database.execute(f"DROP TABLE {schema}.paused_workflows")
    postgres_database.execute(f"ALTER TABLE {schema}.runs DROP COLUMN paused")
    postgres_database.execute(
        f"DELETE FROM {schema}.{postgres_schema.SCHEMA_TABLE} WHERE version >= 5"
    )
    with PostgresStore(url) as store:
        _carries_on(store)
    assert postgres_database.execute(
        f"SELECT MAX(version) FROM {schema}.{postgres_schema.SCHEMA_TABLE}"
    ) == [(postgres_schema.LATEST_VERSION,)]
