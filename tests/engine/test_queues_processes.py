"""Queue limits across processes: three ``wfkit worker`` processes (four threads each) share
200 queued runs on one store, a queue with ``concurrency=5`` and ``per_key=1``.

The test process samples the store while they work (never more than five runs dequeued and
not finished, never two of one key), and every step logs its start and end, so the runs'
actual executions are checked too. The same on one SQLite file and on the suite's PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from wfkit import Engine
from wfkit.engine.loader import load_modules
from wfkit.engine.status import TERMINAL, RunStatus
from wfkit.engine.store import open_store

RUNS = 200
KEYS = 20
FLOWS = """
    import os, time
    from wfkit import Context, Queue, step, workflow

    emails = Queue("emails", concurrency=5, per_key=1)

    @step
    def send(customer: str, n: int) -> int:
        with open("executions.log", "a") as log:
            log.write(f"{time.time():.6f} start {customer} {n}\\n")
        time.sleep(0.02)
        with open("executions.log", "a") as log:
            log.write(f"{time.time():.6f} end {customer} {n}\\n")
        return n

    @workflow(queue=emails)
    def mail(ctx: Context, customer: str, n: int) -> int:
        return send(customer, n)
"""


def _work_through_the_queue(tmp_path: Path, url: str) -> None:
    """``tmp_path``: the user_code_dir fixture's, which unloads flows.py after the test."""
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS))
    (mail,) = load_modules([str(tmp_path / "flows.py")])
    with Engine(url, workflows=[mail]) as engine:
        for n in range(RUNS):
            customer = f"cust-{n % KEYS}"
            engine.start(mail, customer, n, workflow_id=f"mail-{n:03d}", queue_key=customer)
    repo = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "WFKIT_STORE": url,
        "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]),
    }
    # -X faulthandler: a worker that does not stop is made to print its threads' stacks.
    command = [sys.executable, "-X", "faulthandler", "-m", "wfkit.cli.main", "worker", "flows.py"]
    options = ["--concurrency", "4", "--idle-interval", "0.02", "--queue", "emails"]
    logs = [tmp_path / f"worker-{i}.log" for i in range(3)]
    workers = []
    for log in logs:  # stderr to a file: a worker's writes never wait for this test to read
        with log.open("w") as err:
            workers.append(
                subprocess.Popen([*command, *options], cwd=tmp_path, env=env, stderr=err)
            )
    store = open_store(url, access="read")
    most = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            runs = store.list_runs(workflow="mail", limit=RUNS)
            live = [r.id for r in runs if r.status != RunStatus.QUEUED and not r.status.terminal]
            keys = [e.key for e in store.queue_entries(live).values()]
            assert None not in keys
            assert len(live) <= 5, live
            assert len(keys) == len(set(keys)), keys  # never two runs of one key at once
            most = max(most, len(live))
            if all(r.status in TERMINAL for r in runs):
                break
            time.sleep(0.005)
        statuses = {r.status for r in store.list_runs(workflow="mail", limit=RUNS)}
    finally:
        store.close()
        _stop_all(workers, logs)
    assert statuses == {RunStatus.COMPLETED}  # all 200 ran
    assert most >= 2  # the samples saw the queue at work, not only before or after
    _check_executions((tmp_path / "executions.log").read_text().splitlines())


def _stop_all(workers: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    """SIGTERM each worker and wait for it to finish; one still running 30 s later has its
    threads' stacks printed (SIGABRT) and fails the test with them, never outliving it."""
    for w in workers:
        w.terminate()
    stuck = []
    for w, log in zip(workers, logs):
        try:
            w.wait(timeout=30)
        except subprocess.TimeoutExpired:
            w.send_signal(signal.SIGABRT)
            try:
                w.wait(timeout=10)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()
            stuck.append(log)
    assert not stuck, "a worker did not stop on SIGTERM:\n" + "\n".join(
        log.read_text()[-6000:] for log in stuck
    )
    for w, log in zip(workers, logs):
        assert w.returncode in (0, -signal.SIGTERM), log.read_text()[-3000:]


def _check_executions(lines: list[str]) -> None:
    """The steps' own log: at most five at once, never two of one customer, each run once."""
    events: list[tuple[float, int, str, str]] = []
    for line in lines:
        stamp, what, customer, n = line.split()
        events.append((float(stamp), 0 if what == "end" else 1, customer, n))
    started = sorted(n for _, kind, _, n in events if kind == 1)
    assert started == sorted(str(n) for n in range(RUNS))  # every run's step, once
    running: dict[str, int] = {}
    peak = 0
    for _, kind, customer, _ in sorted(events):
        running[customer] = running.get(customer, 0) + (1 if kind else -1)
        assert running[customer] <= 1, customer
        peak = max(peak, sum(running.values()))
    assert peak <= 5


def test_three_workers_keep_concurrency_and_per_key_limits_on_sqlite(
    user_code_dir: Path,
) -> None:
    _work_through_the_queue(user_code_dir, f"sqlite:///{user_code_dir / 'wfkit.db'}")


@pytest.mark.postgres
def test_three_workers_keep_concurrency_and_per_key_limits_on_postgres(
    user_code_dir: Path, postgres_database: Any
) -> None:
    _work_through_the_queue(user_code_dir, postgres_database.new_url())
