"""SQLite keeps every payload once (schema version 3): a run's input in run_inputs, not in the
run's row (which every status change, claim and heartbeat rewrites), and a step's result in
the history line that recorded it; and a version 2 file migrates to that without losing data."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from payload_flows import carry, payload
from store_records import at

from wfkit.engine.engine import Engine
from wfkit.engine.status import OpStatus
from wfkit.engine.store.sqlite import SqliteStore
from wfkit.engine.store.sqlite_schema import KEY_SPAN, LATEST_VERSION, MIGRATIONS, SCHEMA_TABLE

SIZE = 1_000_000


def us(seconds: int) -> int:
    return int(at(seconds).timestamp()) * 1_000_000


def file_size(path: Path) -> int:
    """The database's size with the WAL folded in (what the disk keeps for good)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return os.path.getsize(path)


def copies(path: Path, marker: str) -> int:
    """How many stored values (any text column of any table) hold ``marker``."""
    conn = sqlite3.connect(path)
    found = 0
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for column in conn.execute(f"PRAGMA table_info({table})").fetchall():
            found += conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE instr({column[1]}, ?)", (marker,)
            ).fetchone()[0]
    conn.close()
    return found


def test_an_input_and_a_step_result_are_each_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "wf.db"
    blob = payload(SIZE, seed=1)
    with Engine(f"sqlite:///{path}") as engine:
        assert engine.start(carry, "warm", 10, workflow_id="warm").result() == 10
        before = file_size(path)
        assert engine.start(carry, blob, SIZE, workflow_id="big").result() == SIZE
        [step] = engine.operations("big")
        assert step.result is not None and len(step.result) == SIZE + 2  # read back whole
        history = engine.history("big")
        assert "input" not in history[0].data and history[-1].type == "run_completed"
        assert [e.data.get("result") for e in history if e.seq == 1] == [step.result]
    grown = file_size(path) - before
    assert grown < 2.3 * SIZE, f"{grown} bytes for two payloads of {SIZE}"  # was ~4x
    assert copies(path, blob[:64]) == 1
    assert copies(path, json.loads(step.result)[:64]) == 1


def version_2_file(path: Path) -> None:
    """A file as schema version 2 (wfkit before payloads were stored once) left it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for migration in MIGRATIONS[:2]:
        for statement in migration.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.executemany(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (?)", [(1,), (2,)])
    for pk, (run_id, created) in enumerate((("order-1", 10), ("order-2", 20)), start=1):
        conn.execute(
            "INSERT INTO runs (pk, id, workflow, version, status, input, seed, created_at, "
            "updated_at, result, lease_owner) VALUES (?, ?, 'orders', 1, 'RUNNING', ?, '7', ?, ?, "
            "NULL, 'w1')",
            (pk, run_id, json.dumps({"args": [run_id], "kwargs": {}}), us(created), us(created)),
        )
        conn.execute(
            "INSERT INTO operations (key, kind, name, status, attempt, started_at, finished_at, "
            "result, source) VALUES (?, 'step', 'charge', 'COMPLETED', 2, ?, ?, '\"txn\"', "
            "'orders.py:9')",
            (pk * KEY_SPAN + 1, us(created + 1), us(created + 2)),
        )
        conn.execute(
            "INSERT INTO history (key, at, type, data) VALUES (?, ?, 'run_started', ?)",
            (
                pk * KEY_SPAN,
                us(created),
                json.dumps({"workflow": "orders", "input": {"args": [run_id]}}),
            ),
        )
        conn.execute(
            "INSERT INTO history (key, at, type, seq, name, kind, status, attempt, started_at, "
            "finished_at, result) VALUES (?, ?, 'step_completed', 1, 'charge', 'step', "
            "'COMPLETED', 2, ?, ?, '\"txn\"')",
            (pk * KEY_SPAN + 1, us(created + 2), us(created + 1), us(created + 2)),
        )
    conn.close()


def test_a_version_2_file_is_migrated_with_all_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    version_2_file(path)
    with SqliteStore(f"sqlite:///{path}") as store:
        for run_id, created in (("order-1", 10), ("order-2", 20)):
            stored = store.get_run(run_id)
            assert stored is not None and stored.lease_owner == "w1"
            assert json.loads(stored.input) == {"args": [run_id], "kwargs": {}}
            assert stored.created_at == at(created)
            [charge] = store.operations(run_id)
            assert (charge.seq, charge.status, charge.attempt, charge.result, charge.source) == (
                1,
                OpStatus.COMPLETED,
                2,
                '"txn"',
                "orders.py:9",
            )
            history = store.history(run_id)
            assert history[0].data == {"workflow": "orders", "input": {"args": [run_id]}}
            assert history[1].data["result"] == '"txn"'
        assert [r.id for r in store.list_runs()] == ["order-2", "order-1"]
    conn = sqlite3.connect(path)
    assert (
        conn.execute(f"SELECT MAX(version) FROM {SCHEMA_TABLE}").fetchone()[0]
        == LATEST_VERSION
        == 8
    )
    assert conn.execute("SELECT count(*) FROM schedules").fetchone()[0] == 0  # migration 4
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    # migration 5's claim indexes, replaced by migration 8's (by workflow first)
    assert {"runs_ready", "runs_wake"} <= indexes and not {"runs_new", "runs_woken"} & indexes
    assert conn.execute("SELECT count(*) FROM queue_entries").fetchone()[0] == 0  # migration 6
    assert conn.execute("SELECT count(*) FROM paused_workflows").fetchone()[0] == 0  # 7
    assert conn.execute("SELECT DISTINCT paused FROM runs").fetchall() == [(0,)]
    assert "input" not in [c[1] for c in conn.execute("PRAGMA table_info(runs)")]
    conn.close()


def test_a_migrated_run_carries_on_and_is_pruned_with_its_input(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    version_2_file(path)
    with SqliteStore(f"sqlite:///{path}") as store:
        from wfkit.engine.status import RunStatus
        from wfkit.engine.store.base import Checkpoint

        store.commit(
            "order-1",
            Checkpoint(run={"status": RunStatus.COMPLETED, "finished_at": at(30), "result": "1"}),
        )
        assert store.delete_runs(["order-1"], at(40), [RunStatus.COMPLETED]) == ["order-1"]
        assert store.get_run("order-1") is None and store.get_run("order-2") is not None
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM run_inputs").fetchone()[0] == 1
    conn.close()
