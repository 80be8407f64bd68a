"""Schedules on PostgreSQL: three worker processes on one database start every tick once.

The same race as tests/engine/test_schedules.py's three workers on one SQLite file, on the
suite's PostgreSQL server: each process fires the schedule about once a second with no lock
between them, and only the tick's run id (``ticker@<tick>``, one run per id in the store) keeps
a tick to one run. Then ``wfkit schedules list`` reads the state the workers left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from wfkit.engine.status import RunStatus
from wfkit.engine.store.postgres import PostgresStore

pytestmark = pytest.mark.postgres

FLOWS = """
    from wfkit import Context, Every, step, workflow

    @step
    def note(run_id: str) -> None:
        with open("executions.log", "a") as log:
            log.write(run_id + "\\n")

    @workflow(schedule=Every(seconds=1, overlap="allow", catchup="all"))
    def ticker(ctx: Context) -> None:
        note(ctx.workflow_id)
"""


def _tick(run_id: str) -> datetime:
    return datetime.fromisoformat(run_id.split("@")[1].replace("Z", "+00:00"))


def test_three_worker_processes_on_one_postgres_database_start_every_tick_once(
    tmp_path: Path, postgres_database: Any
) -> None:
    url = postgres_database.new_url()
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS))
    repo = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "WFKIT_STORE": url,
        "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "wfkit.cli.main"]
    workers = [
        subprocess.Popen(
            [*command, "worker", "flows.py"],
            cwd=tmp_path,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    time.sleep(8)
    for w in workers:
        w.terminate()
    for w in workers:
        _, err = w.communicate(timeout=30)
        assert w.returncode in (0, -15), err

    executed = (tmp_path / "executions.log").read_text().split()
    assert len(executed) == len(set(executed)) >= 3  # no tick's run executed twice
    store = PostgresStore(url, access="read")
    try:
        runs = store.list_runs(workflow="ticker", limit=10_000)
        state = {s.name: s for s in store.schedule_states()}["ticker"]
    finally:
        store.close()
    ticks = sorted(_tick(run.id) for run in runs)
    assert {(b - a).total_seconds() for a, b in zip(ticks, ticks[1:])} == {1.0}  # none missed
    done = {run.id for run in runs if run.status is RunStatus.COMPLETED}
    assert done <= set(executed) and len(done) >= 3  # each finished run executed its step
    # The newest recorded; a pass that lost its write may have started one tick more, which
    # the next pass would have recorded (see wfkit/engine/scheduler.py).
    recorded = sorted(run.id for run in runs)[-2:]
    assert state.last_run_id in recorded

    listed = subprocess.run(
        [*command, "schedules", "list", "flows.py", "--format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    (ticker,) = json.loads(listed.stdout)["schedules"]
    assert ticker["last_run_id"] == state.last_run_id and ticker["paused"] is False
