"""Schema version 2's key ranges, and opening a version 1 file (written by the first wfkit):
it migrates without losing anything, runs, operations and history read back as they were
written, and the run carries on."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from store_records import at, entry, op, run

from wfkit.engine.core.history_entries import op_entry
from wfkit.engine.status import OpStatus
from wfkit.engine.store.base import Checkpoint
from wfkit.engine.store.sqlite import SqliteStore
from wfkit.engine.store.sqlite_schema import KEY_SPAN, LATEST_VERSION, MIGRATIONS, SCHEMA_TABLE
from wfkit.errors import StoreError


def us(seconds: int) -> int:
    """A test-clock moment as version 1 stored it: integer microseconds since the epoch."""
    return int(at(seconds).timestamp()) * 1_000_000


def version_1_file(path: Path, *, history_idx: int = 1) -> None:
    """A file exactly as wfkit's schema version 1 left it, with two runs in it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (1)")
    for run_id, created in (("order-2", 20), ("order-1", 10)):
        conn.execute(
            "INSERT INTO runs (id, workflow, version, status, input, seed, created_at, "
            "updated_at, lease_owner) VALUES (?, 'orders', 1, 'RUNNING', '{}', '7', ?, ?, 'w1')",
            (run_id, us(created), us(created)),
        )
        conn.execute(
            "INSERT INTO operations (run_id, seq, kind, name, status, attempt, started_at, "
            "finished_at, result, source) VALUES (?, 1, 'step', 'charge', 'COMPLETED', 2, ?, ?, "
            "'42', 'orders.py:9')",
            (run_id, us(created + 1), us(created + 2)),
        )
        conn.execute(
            "INSERT INTO history (run_id, idx, at, type, data) VALUES (?, 0, ?, 'run_started', ?)",
            (run_id, us(created), json.dumps({"workflow": "orders", "seed": 7})),
        )
        conn.execute(
            "INSERT INTO history (run_id, idx, at, type, seq, name, data) VALUES "
            "(?, ?, ?, 'step_completed', 1, 'charge', ?)",
            (
                run_id,
                history_idx,
                us(created + 2),
                json.dumps({"kind": "step", "status": "COMPLETED", "result": "42"}),
            ),
        )
    conn.close()


def test_a_version_1_file_is_migrated_with_all_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    version_1_file(path)
    with SqliteStore(f"sqlite:///{path}") as store:
        for run_id, created in (("order-1", 10), ("order-2", 20)):
            stored = store.get_run(run_id)
            assert stored is not None and stored.lease_owner == "w1"
            assert stored.created_at == at(created)
            [charge] = store.operations(run_id)
            assert (
                charge.seq,
                charge.name,
                charge.status,
                charge.attempt,
                charge.result,
                charge.source,
            ) == (1, "charge", OpStatus.COMPLETED, 2, "42", "orders.py:9")
            assert charge.finished_at == at(created + 2)
            history = store.history(run_id)
            assert [(e.index, e.type, e.seq, e.data) for e in history] == [
                (0, "run_started", None, {"workflow": "orders", "seed": 7}),
                (1, "step_completed", 1, {"kind": "step", "status": "COMPLETED", "result": "42"}),
            ]
        # The migrated run carries on: its next checkpoint appends after the old lines.
        ship = op(2, "order-1", name="ship", started_at=at(29), finished_at=at(30))
        store.commit(
            "order-1",
            Checkpoint(operations=[ship], history=[op_entry("step_completed", ship)]),
            lease_owner="w1",
            now=at(30),
        )
        assert [o.seq for o in store.operations("order-1")] == [1, 2]
        assert [e.index for e in store.history("order-1")] == [0, 1, 2]
        assert [e.index for e in store.history("order-2")] == [0, 1]
    conn = sqlite3.connect(path)
    assert conn.execute(f"SELECT MAX(version) FROM {SCHEMA_TABLE}").fetchone()[0] == LATEST_VERSION
    conn.close()


def test_a_version_1_run_too_long_for_the_new_keys_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    version_1_file(path, history_idx=KEY_SPAN)
    before = path.read_bytes()
    with pytest.raises(StoreError) as err:
        SqliteStore(f"sqlite:///{path}")
    assert str(KEY_SPAN) in err.value.message and err.value.hint
    assert path.read_bytes() == before
    conn = sqlite3.connect(path)
    assert conn.execute(f"SELECT MAX(version) FROM {SCHEMA_TABLE}").fetchone()[0] == 1
    conn.close()


def test_an_operation_number_outside_the_key_range_is_refused_before_writing(
    tmp_path: Path,
) -> None:
    with SqliteStore(f"sqlite:///{tmp_path / 'wfkit.db'}") as store:
        store.create_run(run("r1"), [])
        with pytest.raises(ValueError, match="sequence number"):
            store.commit("r1", Checkpoint(operations=[op(KEY_SPAN)]))
        assert store.operations("r1") == []


@pytest.mark.parametrize("next_run", [False, True], ids=["last-run", "another-run-after"])
def test_a_run_whose_history_range_is_full_fails_clearly_and_writes_nothing(
    tmp_path: Path, next_run: bool
) -> None:
    path = tmp_path / "wfkit.db"
    with SqliteStore(f"sqlite:///{path}") as store:
        store.create_run(run("r1"), [entry("run_started")])
        if next_run:  # its first line sits right after r1's range
            store.create_run(run("r2"), [entry("run_started", "r2")])
        conn = sqlite3.connect(path, isolation_level=None)
        (key,) = conn.execute("SELECT pk FROM runs WHERE id = 'r1'").fetchone()
        conn.execute(
            "INSERT INTO history (key, at, type, data) VALUES (?, 0, 'filler', '{}')",
            (key * KEY_SPAN + KEY_SPAN - 1,),
        )
        conn.close()
        before = [e.type for e in store.history("r1")]
        with pytest.raises(StoreError) as err:
            store.commit(
                "r1",
                Checkpoint(
                    run={"updated_at": at(5)},
                    operations=[op(1)],
                    history=[entry("step_completed", seq=1)],
                ),
            )
        assert "r1" in err.value.message and str(KEY_SPAN) in err.value.message
        assert err.value.hint
        assert [e.type for e in store.history("r1")] == before == ["run_started", "filler"]
        assert store.operations("r1") == [] and store.get_run("r1").updated_at == at(0)
        if next_run:
            assert [e.type for e in store.history("r2")] == ["run_started"]
