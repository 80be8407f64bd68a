"""A claim reads the first runnable runs of two indexes, whatever the backlog.

Before those indexes, every claim sorted every live run: 18 ms a claim behind 50,000
pending runs on SQLite, 24 ms behind 30,000 on PostgreSQL, so a worker draining a backlog
spent its time choosing. Then the indexes were in claim order across workflows, and a claim
stepped over every older run it could not take: 10 ms a claim behind 50,000 runs of another
workflow or of a paused one; now they are keyed by workflow first. These tests pin the plan
(what made the cost flat) and the semantics the indexes' predicates must keep: the claim order
across both kinds of runnable run and across workflows, runs waiting out a retry delay, parked
runs, leased runs, paused runs and workflows, runs created by a clock that is ahead.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from wfkit.engine.status import RunStatus
from wfkit.engine.store import sqlite_claim
from wfkit.engine.store.base import Checkpoint, RunRecord
from wfkit.engine.store.sqlite import SqliteStore
from wfkit.engine.store.sqlite_rows import RUN_SELECT

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _run(
    run_id: str, created: datetime, status: RunStatus = RunStatus.PENDING, workflow: str = "wf"
) -> RunRecord:
    return RunRecord(run_id, workflow, 1, status, '{"args": [], "kwargs": {}}', 7, created, created)


def test_the_sqlite_claim_reads_two_indexes_per_workflow_without_sorting_the_backlog(
    tmp_path: Path,
) -> None:
    SqliteStore(f"sqlite:///{tmp_path / 'wf.db'}").close()
    conn = sqlite3.connect(tmp_path / "wf.db")
    params = {"now": 1, "limit": 1, "run_id": "x", "w0": "wf", "w1": "other"}

    def plan(sql: str) -> str:
        return " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    found = plan(sqlite_claim._statement(RUN_SELECT, 2, ""))  # noqa: SLF001 - the plan
    # Each of the two workflows' two arms seeks its index by the workflow, in claim order.
    assert found.count("SEARCH r USING INDEX runs_ready (workflow=?)") == 2, found
    assert found.count("SEARCH r USING INDEX runs_wake (workflow=? AND wake_at") == 2, found
    assert "SCAN r" not in found, found  # no arm steps through a backlog
    # What is sorted is an arm's rows (at most limit, out of its subquery), never an index.
    steps = found.split(" | ")
    sorts = [i for i, step in enumerate(steps) if "TEMP B-TREE" in step]
    assert sorts and all(steps[i - 1].startswith("SCAN (subquery-") for i in sorts), found
    found = plan(sqlite_claim._one_statement(RUN_SELECT, ""))  # noqa: SLF001 - one run: by its id
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


def _claim_across_workflows(store: Any) -> None:
    """A claim takes its own workflows' runs in claim order across them, behind any backlog
    of runs it cannot take; paused runs and workflows are left where they are."""
    held = T0 + timedelta(days=1)
    now = T0 + timedelta(hours=1)
    for n in range(30):  # an older backlog of a workflow the claimer does not run
        store.create_run(_run(f"old{n}", T0 + timedelta(seconds=n), workflow="other"), [])
    for n, workflow in enumerate(["a", "b", "a", "b"]):
        store.create_run(
            _run(f"{workflow}{n}", T0 + timedelta(minutes=1 + n), workflow=workflow), []
        )
    claimed = store.claim("w1", now, held, limit=3, workflows=["a", "b"])
    assert [r.id for r in claimed] == ["a0", "b1", "a2"]
    # Without workflows, any: the oldest first.
    assert [r.id for r in store.claim("w2", now, held, limit=2)] == ["old0", "old1"]
    # A paused run is passed over until resumed; a paused workflow's runs all are.
    store.create_run(_run("a4", T0 + timedelta(minutes=10), workflow="a"), [])
    store.create_run(_run("a5", T0 + timedelta(minutes=11), workflow="a"), [])
    store.commit("a4", Checkpoint(run={"paused": True}))
    assert [r.id for r in store.claim("w3", now, held, workflows=["a", "b"])] == ["b3"]
    assert [r.id for r in store.claim("w3", now, held, workflows=["a"])] == ["a5"]
    store.commit("a4", Checkpoint(run={"paused": False}))
    store.set_workflow_paused("other", True, now)
    assert [r.id for r in store.claim("w4", now, held, limit=50)] == ["a4"]
    assert store.claim("w4", now, held, workflows=["other"]) == []
    assert store.claim("w4", now, held, run_id="old5") == []
    store.set_workflow_paused("other", False, now)
    assert [r.id for r in store.claim("w5", now, held, run_id="old5")] == ["old5"]
    # Many workflows in one claim (SQLite reads them in several statements): one order.
    for n in range(150):
        store.create_run(
            _run(f"m{n}", T0 + timedelta(hours=2, seconds=-n), workflow=f"m{n:03d}"), []
        )
    later = T0 + timedelta(hours=3)
    names = [f"m{n:03d}" for n in range(150)] + ["missing"]
    claimed = store.claim("w6", later, held, limit=4, workflows=names)
    assert [r.id for r in claimed] == ["m149", "m148", "m147", "m146"]
    claimed = store.claim("w7", later, held, limit=200, workflows=names)
    assert [r.id for r in claimed] == [f"m{n}" for n in range(145, -1, -1)]


@pytest.mark.parametrize("check", [_claim_semantics, _claim_across_workflows])
def test_claim_semantics_on_sqlite(tmp_path: Path, check: Any) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'wf.db'}")
    try:
        check(store)
    finally:
        store.close()


@pytest.mark.parametrize("check", [_claim_semantics, _claim_across_workflows])
def test_claim_semantics_in_memory(check: Any) -> None:
    from wfkit.engine.store.memory import MemoryStore

    check(MemoryStore())


@pytest.mark.postgres
@pytest.mark.parametrize("check", [_claim_semantics, _claim_across_workflows])
def test_claim_semantics_on_postgres(postgres_database: Any, check: Any) -> None:
    store = postgres_database.new_store()
    try:
        check(store)
    finally:
        store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("backlog_of", ["wf", "other"])
def test_the_postgres_claim_reads_two_indexes_behind_a_backlog(
    postgres_database: Any, backlog_of: str
) -> None:
    """Behind a backlog of its own workflow's runs or of another's (the one the planner could
    misjudge: scanning in creation order looks as cheap when it cannot see whose runs come
    first), each arm reads its own index."""
    import psycopg

    from wfkit.engine.store.postgres import PostgresStore

    url = postgres_database.new_url()  # a schema of its own, on the search path of `url`
    store = PostgresStore(url, lease_clock="caller")
    try:
        store.create_run(_run("r0", T0, workflow=backlog_of), [])
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO runs (id, workflow, version, status, input, seed, created_at, "
                "updated_at) SELECT 'r' || g, workflow, version, status, input, seed, "
                "created_at + g * interval '1 second', updated_at "
                "FROM runs, generate_series(1, 20000) g WHERE id = 'r0'"
            )
            store.create_run(_run("mine", T0 + timedelta(days=1), workflow="wf"), [])
            conn.execute("ANALYZE runs")
            sql = store._claim_sql["workflows"].replace("{only}", "")  # noqa: SLF001 - the plan
            params = {
                "now": T0 + timedelta(days=2),
                "limit": 1,
                "owner": "o",
                "until": T0,
                "workflows": ["wf"],
            }
            plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + sql, params))
        # Each arm reads its index in claim order under its LIMIT (the sorts in the plan are
        # of the arms' few rows), and nothing scans the table or steps through the backlog.
        assert "Index Scan using runs_ready on runs" in plan, plan
        assert "Index Scan using runs_wake on runs" in plan, plan
        assert "runs_created" not in plan, plan
        assert "Seq Scan on runs" not in plan, plan  # (paused_workflows is a few rows)
        now, held = T0 + timedelta(days=2), T0 + timedelta(days=3)
        expected = "r0" if backlog_of == "wf" else "mine"
        assert [r.id for r in store.claim("o", now, held, workflows=["wf"])] == [expected]
    finally:
        store.close()
