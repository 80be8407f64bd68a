"""A step's checkpoint on PostgreSQL is one statement (fence, history line, operation); the
one race it cannot win alone — an unfenced writer of the same run appending a history line
while the checkpoint waits for the run's row lock, so the statement's snapshot misses that
line — collides on (run_id, idx) and is written the general way instead. Nothing is lost,
no line is numbered twice, and the operation still names its own line."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from store_records import at, op, run

from wfkit.engine.core.history_entries import op_entry
from wfkit.engine.store.base import Checkpoint, LeaseLost
from wfkit.engine.store.postgres import PostgresStore

pytestmark = pytest.mark.postgres


def _held(store: PostgresStore) -> None:
    store.create_run(run("r1"), [])
    store.claim("w1", at(0), at(60), run_id="r1")


def test_a_step_checkpoint_in_one_statement_names_its_line(postgres_database: Any) -> None:
    store = PostgresStore(postgres_database.new_url(), lease_clock="caller")
    try:
        _held(store)
        done = op(1, result='"ok"', started_at=at(1), finished_at=at(2))
        assert (
            store.commit(
                "r1",
                Checkpoint(operations=[done], history=[op_entry("step_completed", done)]),
                lease_owner="w1",
                now=at(2),
            )
            is False
        )
        (stored,) = store.operations("r1")
        assert (stored.seq, stored.result) == (1, '"ok"')  # read back through its line
        assert [h.type for h in store.history("r1")] == ["step_completed"]
        with pytest.raises(LeaseLost):  # the fence still refuses another owner, writing nothing
            store.commit("r1", Checkpoint(operations=[op(2)]), lease_owner="w2", now=at(3))
        assert [o.seq for o in store.operations("r1")] == [1]
    finally:
        store.close()


def test_an_append_racing_the_one_statement_is_written_the_general_way(
    postgres_database: Any,
) -> None:
    url = postgres_database.new_url()
    store = PostgresStore(url, lease_clock="caller")
    try:
        _held(store)
        other = psycopg.connect(url, autocommit=False)
        # An unfenced writer: holds the run's row and appends line 0 meanwhile.
        other.execute("SELECT 1 FROM runs WHERE id = 'r1' FOR UPDATE")
        other.execute(
            "INSERT INTO history (run_id, idx, at, type, data) "
            "VALUES ('r1', 0, now(), 'event_received', '{}')"
        )
        done = op(1, result='"ok"', started_at=at(1), finished_at=at(2))
        outcome: list[Any] = []

        def step() -> None:
            try:
                outcome.append(
                    store.commit(
                        "r1",
                        Checkpoint(operations=[done], history=[op_entry("step_completed", done)]),
                        lease_owner="w1",
                        now=at(2),
                    )
                )
            except Exception as exc:  # the test reads it below
                outcome.append(exc)

        thread = threading.Thread(target=step)
        thread.start()
        time.sleep(0.3)  # the checkpoint's statement is waiting for the row lock
        assert not outcome
        other.commit()
        other.close()
        thread.join(10)
        assert outcome == [False], outcome
        history = store.history("r1")
        assert [(h.index, h.type) for h in history] == [
            (0, "event_received"),
            (1, "step_completed"),
        ]
        (stored,) = store.operations("r1")
        assert stored.result == '"ok"'  # its result found through line 1, not line 0
    finally:
        store.close()
