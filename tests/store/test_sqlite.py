"""What only the SQLite store promises: its file format, its URL, and its behaviour between
processes (real files, real subprocesses, real locks)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timezone
from pathlib import Path

import pytest
from concurrent_claims import assert_two_processes_share_the_runs
from store_records import at, entry, op, run

from wfkit.engine.store import open_store
from wfkit.engine.store.base import Checkpoint
from wfkit.engine.store.sqlite import SqliteStore
from wfkit.engine.store.sqlite_schema import LATEST_VERSION, SCHEMA_TABLE
from wfkit.errors import StoreError


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "wfkit.db"


def url(path: Path, options: str = "") -> str:
    return f"sqlite:///{path}{options}"


def fingerprint(path: Path) -> tuple[bytes, int, list[str]]:
    """Bytes, mtime and sibling files: everything a rejected open must leave as it was."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent))


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# -- file format -----------------------------------------------------------------------------
def test_a_new_file_gets_the_schema_in_wal_mode(db: Path) -> None:
    with SqliteStore(url(db)) as store:
        assert store.pragmas()["journal_mode"] == "wal"
    conn = raw(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute(f"SELECT MAX(version) FROM {SCHEMA_TABLE}").fetchone()[0] == LATEST_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "operations", "events", "history", SCHEMA_TABLE} <= tables
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"runs_claim", "runs_created", "events_inbox"} <= indexes
    conn.close()


def test_the_schema_never_asks_the_database_for_the_time(db: Path) -> None:
    SqliteStore(url(db)).close()
    conn = raw(db)
    schema = " ".join(r[0] or "" for r in conn.execute("SELECT sql FROM sqlite_master")).lower()
    conn.close()
    assert "current_" not in schema and "'now'" not in schema


def test_an_empty_file_gets_the_schema(db: Path) -> None:
    db.write_bytes(b"")
    with SqliteStore(url(db)) as store:
        store.create_run(run("r1"), [])
    with SqliteStore(url(db)) as store:  # and reopening keeps the data
        assert store.get_run("r1") == run("r1")


def test_two_stores_opening_a_new_file_at_once_both_work(db: Path) -> None:
    stores: list[SqliteStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            stores.append(SqliteStore(url(db)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(stores) == 4
    conn = raw(db)
    assert conn.execute(f"SELECT COUNT(*) FROM {SCHEMA_TABLE}").fetchone()[0] == LATEST_VERSION
    conn.close()
    for store in stores:
        store.close()


def test_a_foreign_sqlite_database_is_rejected_untouched(db: Path) -> None:
    conn = raw(db)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.close()
    before = fingerprint(db)
    with pytest.raises(StoreError) as err:
        SqliteStore(url(db))
    assert str(db) in err.value.message and "users" in err.value.message
    assert "wfkit" in err.value.message and err.value.hint
    assert fingerprint(db) == before


def test_a_file_that_is_not_sqlite_is_rejected_untouched(db: Path) -> None:
    db.write_text("order_id,amount\nORD-1,10\n" * 100)
    before = fingerprint(db)
    with pytest.raises(StoreError) as err:
        SqliteStore(url(db))
    assert str(db) in err.value.message and "not an SQLite database" in err.value.message
    assert err.value.hint
    assert fingerprint(db) == before


def test_a_database_from_a_newer_wfkit_is_rejected_untouched(db: Path) -> None:
    SqliteStore(url(db)).close()
    conn = raw(db)
    conn.execute(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (?)", (LATEST_VERSION + 1,))
    conn.close()
    before = fingerprint(db)
    with pytest.raises(StoreError) as err:
        SqliteStore(url(db))
    assert "newer wfkit" in err.value.message and str(db) in err.value.message
    assert "upgrade wfkit" in err.value.hint
    assert fingerprint(db) == before


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        SqliteStore(url(tmp_path / "no" / "such" / "dir" / "wfkit.db"))
    assert "directory" in err.value.hint


def test_datetimes_come_back_in_utc(db: Path) -> None:
    with SqliteStore(url(db)) as store:
        store.create_run(run("r1", wake_at=at(1)), [entry("run_started")])
        got = store.get_run("r1")
        assert got.created_at.tzinfo is timezone.utc and got.wake_at.tzinfo is timezone.utc
        assert store.history("r1")[0].at.tzinfo is timezone.utc


# -- URL -------------------------------------------------------------------------------------
def test_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with SqliteStore("sqlite:///relative.db") as store:
        assert store.path == str(tmp_path / "relative.db")
    assert (tmp_path / "relative.db").exists()
    with SqliteStore(f"sqlite:///{tmp_path}/absolute.db") as store:  # sqlite:////abs/path
        assert store.path == str(tmp_path / "absolute.db")
    with SqliteStore("sqlite:///:memory:") as store:
        store.create_run(run("r1"), [])
        assert store.get_run("r1") == run("r1")
    opened = open_store("sqlite:///via-open-store.db")
    assert isinstance(opened, SqliteStore)
    opened.close()


def test_options_are_applied(db: Path) -> None:
    with SqliteStore(url(db)) as store:
        assert store.pragmas()["synchronous"] == "FULL"  # the durable default
        assert store.pragmas()["busy_timeout_ms"] == 5000
    with SqliteStore(url(db, "?synchronous=normal&timeout=0.25")) as store:
        assert store.pragmas()["synchronous"] == "NORMAL"
        assert store.pragmas()["busy_timeout_ms"] == 250
    with SqliteStore(url(db, "?synchronous=FULL")) as store:
        assert store.pragmas()["synchronous"] == "FULL"


@pytest.mark.parametrize(
    "bad",
    [
        "sqlite://",
        "sqlite:///",
        "sqlite://host/x.db",
        "sqlite:///x.db?synchronous=OFF",
        "sqlite:///x.db?timeout=-1",
        "sqlite:///x.db?timeout=soon",
        "sqlite:///x.db?cache=1",
    ],
)
def test_bad_urls_are_store_errors(
    bad: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError) as err:
        SqliteStore(bad)
    assert err.value.hint
    assert os.listdir(tmp_path) == []


def test_close_and_context_manager(db: Path) -> None:
    with SqliteStore(url(db)) as store:
        store.create_run(run("r1"), [])
    with pytest.raises(StoreError) as err:
        store.get_run("r1")
    assert "closed" in err.value.message


# -- threads and processes -------------------------------------------------------------------
HOLD_LOCK = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE runs SET recoveries = recoveries + 1")
    print("locked", flush=True)
    sys.stdin.read()          # hold the write lock until the test closes our stdin
    conn.execute("ROLLBACK")
""")


@pytest.mark.slow
def test_a_write_lock_held_by_another_process_is_a_clear_error(db: Path) -> None:
    with SqliteStore(url(db, "?timeout=0.3")) as store:
        store.create_run(run("r1"), [])
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout.readline().strip() == "locked"
            assert store.get_run("r1") == run("r1")  # WAL: readers are not blocked
            for write in (
                lambda: store.commit("r1", Checkpoint(run={"updated_at": at(1)})),
                lambda: store.claim("w1", at(0), at(30)),
                lambda: store.create_run(run("r2"), []),
            ):
                started = time.monotonic()
                with pytest.raises(StoreError) as err:
                    write()
                assert time.monotonic() - started >= 0.25
                assert "locked by another process" in err.value.message
                assert str(db) in err.value.message
                assert "timeout=" in err.value.hint and "retry" in err.value.hint
        finally:
            holder.stdin.close()
            holder.wait(timeout=10)
            holder.stdout.close()
        store.commit("r1", Checkpoint(run={"updated_at": at(1)}))  # free again: works
        assert store.get_run("r1").updated_at == at(1)
        assert store.get_run("r2") is None
        assert store.pragmas()["synchronous"] == "FULL"  # the failed claim restored it


def test_lease_writes_skip_the_fsync_and_checkpoints_keep_it(db: Path) -> None:
    """At FULL a claim, heartbeat or release commits at NORMAL (a lost lease only returns the
    run to the pool); a checkpoint or a new run is always fsynced."""
    with SqliteStore(url(db)) as store:
        statements: list[str] = []
        store._conn.set_trace_callback(statements.append)
        store.create_run(run("r1"), [])
        assert not any("synchronous" in s for s in statements)
        for write in (
            lambda: store.claim("w1", at(0), at(30)),
            lambda: store.heartbeat("w1", ["r1"], at(60), at(1)),
            lambda: store.release("w1", "r1"),
        ):
            statements.clear()
            write()
            assert statements[0] == "PRAGMA synchronous=NORMAL"
            assert statements[1] == "BEGIN IMMEDIATE" and statements[-2] == "COMMIT"
            assert statements[-1] == "PRAGMA synchronous=FULL"
        statements.clear()
        store.commit("r1", Checkpoint(operations=[op(1)], history=[entry("step", seq=1)]))
        assert not any("synchronous" in s for s in statements)
        assert store.pragmas()["synchronous"] == "FULL"
    with SqliteStore(url(db, "?synchronous=NORMAL")) as store:
        statements = []
        store._conn.set_trace_callback(statements.append)
        store.claim("w1", at(0), at(30))
        assert not any("synchronous" in s for s in statements)


@pytest.mark.slow
def test_two_processes_claiming_at_once_never_claim_the_same_run(db: Path) -> None:
    ids = [f"r{i:02}" for i in range(50)]
    with SqliteStore(url(db)) as store:
        for i, run_id in enumerate(ids):
            store.create_run(run(run_id, created=i), [])
    assert_two_processes_share_the_runs(url(db, "?timeout=30"), ids, db.parent)


def test_listing_by_a_common_or_a_rare_status_gives_the_same_order(tmp_path: Path) -> None:
    """list_runs(status=...) walks runs_created newest first for a status with many runs and
    fetches a rare one by status (wfkit.engine.store.sqlite_reads._COMMON_STATUS): both pages are
    right."""
    from wfkit.engine.status import RunStatus
    from wfkit.engine.store import sqlite_reads

    store = SqliteStore(f"sqlite:///{tmp_path / 'w.db'}?synchronous=NORMAL")
    many = sqlite_reads._COMMON_STATUS + 10
    expected: dict[RunStatus, list[str]] = {RunStatus.COMPLETED: [], RunStatus.FAILED: []}
    for i in range(many + 30):
        status = RunStatus.FAILED if i % 70 == 0 else RunStatus.COMPLETED
        run_id = f"r{i:05d}"
        store.create_run(run(run_id, created=i // 2, status=status), [])
        expected[status].append(run_id)
    for status, ids in expected.items():
        newest = sorted(ids, key=lambda r: (int(r[1:]) // 2, r), reverse=True)
        page = store.list_runs(status=status, limit=25)
        assert [r.id for r in page] == newest[:25]
        cursor = (page[-1].created_at, page[-1].id)
        assert [r.id for r in store.list_runs(status=status, limit=25, before=cursor)] == newest[
            25:50
        ]
    store.close()
