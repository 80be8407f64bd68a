"""A workflow pause across two `wfkit worker` processes on the suite's PostgreSQL database.

The pause lives in the store (its table of paused workflows), so both processes honour it:
runs created while paused wait as PENDING, runs in flight stop before their next step (the
step in flight finishes and is recorded), and after `wfkit resume --workflow` every run
completes with each of its steps executed exactly once (every step appends one line with its
run, step and pid to a shared log with single O_APPEND writes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from wfkit.engine.engine import Engine
from wfkit.engine.loader import load_workflow
from wfkit.engine.status import RunStatus
from wfkit.engine.store.postgres import PostgresStore

pytestmark = pytest.mark.postgres

RUNS = 6
STEPS = 3

FLOWS = """
    import os
    import time
    from pathlib import Path

    from wfkit import Context, step, workflow

    LOG = Path(__file__).parent / "steps.log"


    @step
    def work(run_id: str, n: int) -> int:
        time.sleep(0.3)
        fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{run_id} s{n} {os.getpid()}\\n".encode())
        finally:
            os.close(fd)
        return n


    @workflow
    def slow(ctx: Context, run_id: str) -> int:
        return sum(ctx.step(work, run_id, n, name=f"s{n}") for n in range(3))
"""


def lines(tmp_path: Path) -> list[str]:
    log = tmp_path / "steps.log"
    return log.read_text().splitlines() if log.exists() else []


def test_a_paused_workflow_holds_its_runs_in_two_worker_processes(
    tmp_path: Path, postgres_database: Any
) -> None:
    url = postgres_database.new_url()
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS))
    wf = load_workflow(f"{tmp_path / 'flows.py'}:slow")
    for name, module in list(sys.modules.items()):  # leave no "flows" behind for others
        if module is sys.modules.get(wf.fn.__module__) and name != wf.fn.__module__:
            del sys.modules[name]
    repo = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "WFKIT_STORE": url,
        "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "wfkit.cli.main"]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*command, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done

    with Engine(url, workflows=[wf]) as engine:
        early = [engine.start(wf, f"e{i}", workflow_id=f"e{i}").id for i in range(2)]
        workers = [
            subprocess.Popen(
                [*command, "worker", "flows.py"],
                cwd=tmp_path,
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 60
            while not lines(tmp_path):  # the early runs are under way
                assert time.monotonic() < deadline, "no worker started a step"
                time.sleep(0.02)
            assert engine.pause_workflow("slow")  # (`wfkit pause --workflow` starts too slowly)
            late = [engine.start(wf, f"l{i}", workflow_id=f"l{i}").id for i in range(RUNS - 2)]
            time.sleep(1.0)  # longer than a step: the steps in flight at the pause have ended
            settled = lines(tmp_path)
            time.sleep(1.5)
            assert lines(tmp_path) == settled  # no step started while paused
            assert len(settled) < 2 * STEPS  # the early runs were stopped part-way
            for run_id in late:
                assert engine.get_run(run_id).status == RunStatus.PENDING
            for run_id in early:
                run = engine.get_run(run_id)
                assert run.lease_owner is None and not run.status.terminal
            listed = cli("list", "--workflow", "slow")
            assert "workflow 'slow' is paused" in listed.stderr

            cli("resume", "--workflow", "slow")
            for run_id in early + late:
                assert engine.result(run_id, timeout=60, drive=False) == 0 + 1 + 2
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                _, err = w.communicate(timeout=30)
                assert w.returncode in (0, -15), err

    executed = Counter((line.split()[0], line.split()[1]) for line in lines(tmp_path))
    assert set(executed.values()) == {1}  # each step once
    assert len(executed) == RUNS * STEPS
    held = PostgresStore(url, access="read")
    try:
        assert held.paused_workflows() == {}
        stopped = [e for rid in early for e in held.history(rid) if e.type == "run_held"]
    finally:
        held.close()
    assert stopped and {e.data["reason"] for e in stopped} == {"workflow paused"}
