"""A claim reads the first runnable runs of two indexes, whatever the backlog.

Before those indexes, every claim sorted every live run: 18 ms a claim behind 50,000
pending runs on SQLite, 24 ms behind 30,000 on PostgreSQL, so a worker draining a backlog
spent its time choosing. These tests pin the plan (what made the cost flat) and the
semantics the indexes' predicates must keep: the claim order across both kinds of runnable
run, runs waiting out a retry delay, parked runs, leased runs, runs created by a clock that is
ahead.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import Checkpoint, RunRecord
from wfkit.engine.store.sqlite import _CLAIM_ONE, _CLAIM_SELECT, SqliteStore

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _run(run_id: str, created: datetime, status: RunStatus = RunStatus.PENDING) -> RunRecord:
    return RunRecord(run_id, "wf", 1, status, '{"args": [], "kwargs": {}}', 7, created, created)


def test_the_sqlite_claim_reads_two_indexes_in_order_without_sorting_the_backlog(
    tmp_path: Path,
) -> None:
    SqliteStore(f"sqlite:///{tmp_path / 'wf.db'}").close()
    conn = sqlite3.connect(tmp_path / "wf.db")
    params = {"now": 1, "limit": 1, "run_id": "x", "w0": "wf"}

    def plan(sql: str) -> str:
        return " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    for only in ("", "AND r.workflow IN (:w0)"):
        found = plan(_CLAIM_SELECT.format(only=only))
        assert "SCAN r USING INDEX runs_new" in found, found
        assert "SEARCH r USING INDEX runs_woken (wake_at>? AND wake_at<?)" in found, found
        # The one sort is of the merged arms' rows: at most twice the limit.
        assert found.count("TEMP B-TREE") == 1 and found.endswith("USE TEMP B-TREE FOR ORDER BY")
    found = plan(_CLAIM_ONE.format(only=""))  # one run: by its id
    assert "USING INDEX sqlite_autoindex_runs_1 (id=?)" in found and "TEMP" not in found, found


def _claim_semantics(store: Any) -> None:
    """The predicate the index needs, and the order it gives, on any store."""
    for n in range(5):
        store.create_run(_run(f"p{n}", T0 + timedelta(seconds=n)), [])
    # Claim order: wake time (creation when none), then creation, then id.
    held = T0 + timedelta(days=1)  # the leases outlast the test's clock
    claimed = store.claim("a", T0 + timedelta(minutes=1), held, limit=2)
    assert [r.id for r in claimed] == ["p0", "p1"]
    # Leased runs are skipped; the next ones come.
    claimed = store.claim("b", T0 + timedelta(minutes=1), held, limit=10)
    assert [r.id for r in claimed] == ["p2", "p3", "p4"]
    # A run created by a machine whose clock is ahead is ready at once all the same.
    store.create_run(_run("ahead", T0 + timedelta(hours=1)), [])
    assert [r.id for r in store.claim("c", T0 + timedelta(minutes=30), held)] == ["ahead"]
    # A parked run comes when its wake time has passed, an active one waiting out a retry
    # delay too, and both take their place in the order by that wake time.
    store.create_run(_run("sleeper", T0), [])
    store.create_run(_run("retrying", T0), [])
    for run_id, status, wake in (
        ("sleeper", RunStatus.SLEEPING, T0 + timedelta(hours=3)),
        ("retrying", RunStatus.RUNNING, T0 + timedelta(hours=4)),
    ):
        store.commit(run_id, Checkpoint(run={"status": status, "wake_at": wake}))
    late = T0 + timedelta(hours=3, minutes=30)
    assert [r.id for r in store.claim("d", late, held, limit=10)] == ["sleeper"]
    later = T0 + timedelta(hours=5)
    assert [r.id for r in store.claim("e", later, held, limit=10)] == ["retrying"]


def test_claim_semantics_on_sqlite(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'wf.db'}")
    try:
        _claim_semantics(store)
    finally:
        store.close()


def test_claim_semantics_in_memory() -> None:
    from wfkit.engine.store.memory import MemoryStore

    _claim_semantics(MemoryStore())


@pytest.mark.postgres
def test_claim_semantics_on_postgres(postgres_database: Any) -> None:
    store = postgres_database.new_store()
    try:
        _claim_semantics(store)
    finally:
        store.close()


@pytest.mark.postgres
def test_the_postgres_claim_reads_two_indexes_behind_a_backlog(postgres_database: Any) -> None:
    import psycopg

    from wfkit.engine.store.postgres import PostgresStore

    url = postgres_database.new_url()  # a schema of its own, on the search path of `url`
    store = PostgresStore(url, lease_clock="caller")
    try:
        store.create_run(_run("r0", T0), [])
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO runs (id, workflow, version, status, input, seed, created_at, "
                "updated_at) SELECT 'r' || g, workflow, version, status, input, seed, "
                "created_at + g * interval '1 second', updated_at "
                "FROM runs, generate_series(1, 20000) g WHERE id = 'r0'"
            )
            conn.execute("ANALYZE runs")
            sql = store._claim_sql.replace("{only}", "")  # noqa: SLF001 - the plan is the point
            params = {"now": T0 + timedelta(days=1), "limit": 1, "owner": "o", "until": T0}
            plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + sql, params))
        # Each arm reads its index in claim order under its LIMIT (the sorts in the plan are
        # of the arms' few rows), and nothing scans the table.
        assert "Index Scan using runs_new on runs" in plan, plan
        assert "Index Scan using runs_woken on runs" in plan, plan
        assert "Seq Scan on runs" not in plan, plan  # (paused_workflows is a few rows)
    finally:
        store.close()
