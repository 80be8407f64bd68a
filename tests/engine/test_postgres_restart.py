"""A PostgreSQL server stopped and started again under running `wfkit worker` processes
(issue 10, item 6): the workers outlive it, say so, reconnect and finish every run, and the
torture test's ledger and checker find nothing wrong.

The server is a dedicated throwaway one (tests/postgres_server.py), not the session's: this
test takes it down.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from postgres_server import PostgresServer, ServerUnavailable
from reliability_harness import (
    SPEC,
    Ledger,
    Workers,
    cli,
    load_flows,
    snapshot,
    terminal,
    wait_for,
    write_flows,
)
from torture_invariants import check, read_ledger

from wfkit.engine.engine import Engine

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RUNS = 6
PACE_MS = 40


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def flows(tmp_path: Path) -> Iterator[Any]:
    module = load_flows(write_flows(tmp_path))
    yield module
    sys.modules.pop(module.__name__, None)


@pytest.mark.parametrize(
    ("lease", "outage"),
    [
        pytest.param(15.0, 2.0, id="within-a-lease"),  # the runs ride it out: nothing re-runs
        pytest.param(2.0, 6.0, id="longer-than-a-lease"),  # runs are handed back or taken over
    ],
)
def test_workers_outlive_a_postgres_restart(
    server: PostgresServer, tmp_path: Path, flows: Any, lease: float, outage: float
) -> None:
    """Within a lease no step may run twice; past it, a step whose checkpoint was lost runs
    again (at-least-once), and the checker accepts that only from a worker the history says
    lost or handed back the run."""
    url = server.url
    ledger = Ledger(tmp_path / "ledger.log")
    with Engine(url) as engine:
        ids = [
            engine.start(flows.torture, n, PACE_MS, False, workflow_id=f"r{n:02d}").id
            for n in range(RUNS)
        ]
    with Workers(tmp_path, url, lease_seconds=lease).start(2) as workers:
        # Both workers serve (a worker that cannot open its store at start exits 2, by
        # design) and runs are under way when the server goes down.
        wait_for(
            lambda: all(workers.serving(p.pid) for p in workers.procs), "both workers to start"
        )
        wait_for(lambda: len({line.run for line in ledger.read()}) >= 2, "two runs to be under way")
        server.stop("fast")
        stopped = time.monotonic()
        time.sleep(outage)
        server.start()
        down = time.monotonic() - stopped
        with Engine(url) as engine:
            try:
                wait_for(lambda: terminal(engine, ids), "every run to end", timeout=90)
            except AssertionError:
                pass  # the checker names the runs that did not end
            runs, children = snapshot(engine, ids)
        dead = workers.dead()
        logs = {pid: path.read_text(errors="replace") for pid, path in workers.log_of.items()}
    expected = {run_id: frozenset({"COMPLETED"}) for run_id in ids}
    expected.update({child: frozenset({"COMPLETED"}) for child in children})
    found = check(read_ledger(tmp_path / "ledger.log"), workers.kills, runs, expected, SPEC)
    report = f"{found.render()}\nserver down {down:.1f}s\n{workers.logs(40)}"
    assert dead == [], f"workers exited during the outage: {dead}\n{report}"
    assert found.ok, report
    assert all(run.status == "COMPLETED" for run in runs), report
    if lease > outage * 3:
        assert "duplicates_after_lease_loss" not in found.stats, report
    told = [pid for pid, text in logs.items() if "store unavailable" in text]
    assert told, f"no worker said the store was unavailable\n{report}"
    assert all("store available again" in logs[pid] for pid in told), report


def test_a_worker_started_while_the_server_is_down_fails_at_once(
    server: PostgresServer, tmp_path: Path
) -> None:
    """Only a worker that was running waits a restart out: one that cannot open its store at
    start says so in one line and exits 2 (a mistyped URL must not retry forever), and a
    supervisor restarts it."""
    write_flows(tmp_path)
    server.stop("fast")  # the URL is right; only the server is missing
    done = cli(tmp_path, server.url, "worker", "flows.py", timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and "cannot connect to PostgreSQL at postgresql://wfkit:***@" in lines[0]
    ), done.stderr
