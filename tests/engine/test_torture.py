"""The torture test: runs of eleven durable operations on three `wfkit worker` processes
that are SIGKILLed at random moments and restarted, then an invariant checker reading an
external ledger of executions and the store.

Each run (the ``torture`` workflow of reliability_harness.FLOWS, or for every other run its
async twin ``torture_async``, which a worker on SQLite runs as a task on its event loop) does: a step, a parallel
group of two, a durable timer, a child workflow (two steps), an ``at_most_once`` step, a
second parallel group, a step, and for every fourth run (chosen by its input) a step that
fails for good so the run compensates; five of its steps have compensations. Every fifth run
(again by input) is cancelled (``Engine.cancel``, as ``wfkit cancel`` does) at a random
moment: before it starts, in the middle, or too late. Every step and
compensation execution appends ``start``/``end`` lines (run, op, pid, monotonic and wall
time; O_APPEND, one write, fsync) to ``ledger.log``, and sleeps a few random milliseconds in
between so kills land inside steps. A killer thread SIGKILLs a worker (mostly one that is
inside a step) ``KILLS`` times and restarts it; when every run and child is terminal (or a
generous deadline passes) the workers get SIGTERM and torture_invariants.check judges:
lost and stuck runs, unexpected statuses, duplicate executions not explained by a kill,
overlapping executions, re-runs after a checkpoint, at_most_once steps run twice,
compensations missing / out of order / spurious, and children not terminal with their
parent. A failure lists every violation (run id, op, what) with the seed.

Sizes (environment variables, read when the module is imported):

- ``WFKIT_TORTURE_RUNS`` — runs started (default 30; each also starts a child);
- ``WFKIT_TORTURE_KILLS`` — SIGKILLs (default 20; fewer when the runs finish first);
- ``WFKIT_TORTURE_SEED`` — the seed of the killer and of the step pacing (default: a new
  one each time, printed on failure; set it to replay a failure's schedule);
- ``WFKIT_TORTURE_WORKERS`` (default 3), ``WFKIT_TORTURE_LEASE`` (seconds, default 2);
- ``WFKIT_TORTURE_CONCURRENCY`` — runs each worker advances at once (default 4, so a
  worker's checkpoints share group commits: a kill lands in the middle of a batch too).

Small: ``pytest tests/engine/test_torture.py`` (one test per store, SQLite and PostgreSQL;
``-m 'not postgres'`` for SQLite only). Large:
``WFKIT_TORTURE_RUNS=300 WFKIT_TORTURE_KILLS=200 pytest tests/engine/test_torture.py``.
The checker's findings, the seed and the statistics are written to ``verdict.txt`` in the
test's temporary directory, beside the ledger and the workers' logs.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_harness import SPEC, Killer, Workers, load_flows, snapshot, terminal, write_flows
from torture_invariants import Run, Violation, check, read_ledger

from wfkit.engine.engine import Engine
from wfkit.errors import InvalidRunState

pytestmark = pytest.mark.slow

RUNS = int(os.environ.get("WFKIT_TORTURE_RUNS", "30"))
KILLS = int(os.environ.get("WFKIT_TORTURE_KILLS", "20"))
WORKERS = int(os.environ.get("WFKIT_TORTURE_WORKERS", "3"))
LEASE = float(os.environ.get("WFKIT_TORTURE_LEASE", "2"))
CONCURRENCY = int(os.environ.get("WFKIT_TORTURE_CONCURRENCY", "4"))
SEED = os.environ.get("WFKIT_TORTURE_SEED")
PACE_MS = 30


def doomed(n: int) -> bool:
    return n % 4 == 3


def cancelled(n: int) -> bool:
    return n % 5 == 1


def allowed(run: Run, normal: frozenset[str]) -> frozenset[str]:
    """The statuses a run may end in: ``normal``, unless a cancel reached it first."""
    if "cancel_requested" not in run.history:
        return normal
    cancel = run.history.index("cancel_requested")
    ends = [
        run.history.index(t)
        for t in ("compensation_started", "run_completed", "run_compensated", "run_failed")
        if t in run.history
    ]
    if not ends or cancel < min(ends):
        return frozenset({"CANCELLED"})
    return normal | {"CANCELLED"}  # too late to stop it, or it was compensating already


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wf.db'}"
    return request.getfixturevalue("postgres_database").new_url()


@pytest.fixture
def flows(tmp_path: Path) -> Iterator[object]:
    module = load_flows(write_flows(tmp_path))
    yield module
    sys.modules.pop(module.__name__, None)


def test_killed_workers_break_no_invariant(store_url: str, tmp_path: Path, flows: object) -> None:
    seed = int(SEED) if SEED else random.randrange(1 << 32)
    about = (
        f"seed {seed} (WFKIT_TORTURE_SEED={seed} WFKIT_TORTURE_RUNS={RUNS} "
        f"WFKIT_TORTURE_KILLS={KILLS} WFKIT_TORTURE_CONCURRENCY={CONCURRENCY}), store {store_url.split(':')[0]}, {tmp_path}"
    )
    began = time.monotonic()
    engine = Engine(store_url)
    try:
        ids = [
            engine.start(
                # every other run async: a worker's event loop runs those (on SQLite)
                flows.torture_async if n % 2 else flows.torture,  # type: ignore[attr-defined]
                n,
                PACE_MS,
                doomed(n),  # type: ignore[attr-defined]
                workflow_id=f"t{n:04d}",
            ).id
            for n in range(RUNS)
        ]
        finished = threading.Event()
        self_exits: list[tuple[int, int | None]] = []
        with Workers(tmp_path, store_url, lease_seconds=LEASE, concurrency=CONCURRENCY) as workers:
            workers.start(WORKERS)
            killer = Killer(workers, tmp_path / "ledger.log", KILLS, seed, finished.is_set)
            killer.start()
            now = time.monotonic()
            deadline = now + 60 + 1.5 * RUNS
            rng = random.Random(seed)
            cancels = sorted(
                (now + rng.uniform(0.2, 0.3 * RUNS), run_id)
                for run_id in ids
                if cancelled(int(run_id[1:]))
            )
            while time.monotonic() < deadline and not terminal(engine, ids):
                time.sleep(0.2)
                while cancels and cancels[0][0] <= time.monotonic():
                    try:
                        engine.cancel(cancels.pop(0)[1], drive=False)
                    except InvalidRunState:
                        pass  # it ended first
                if killer.is_alive():
                    continue  # the killer restarts the workers it kills; wait for it
                for i, proc in enumerate(workers.procs):  # a worker that died on its own
                    if proc.poll() is not None:
                        self_exits.append((proc.pid, proc.returncode))
                        workers.procs[i] = workers.spawn()
            finished.set()
            killer.join(timeout=60)
            codes = workers.stop()
        runs, children = snapshot(engine, ids)
    finally:
        engine.close()
    elapsed = time.monotonic() - began

    normal = {
        run_id: frozenset({"COMPENSATED" if doomed(int(run_id[1:])) else "COMPLETED"})
        for run_id in ids
    }
    normal.update({child: frozenset({"COMPLETED"}) for child in children})
    expected = {run.id: allowed(run, normal[run.id]) for run in runs}
    verdict = check(read_ledger(tmp_path / "ledger.log"), workers.kills, runs, expected, SPEC)
    verdict.stats["workers"] = WORKERS
    verdict.stats["seconds"] = round(elapsed)
    verdict.violations += [
        Violation("worker", "-", "", f"worker pid {pid} exited on its own with code {code}")
        for pid, code in self_exits
    ]
    verdict.violations += [
        Violation("worker", "-", "", f"worker pid {pid} ended with code {code} after SIGTERM")
        for pid, code in codes
        if code != 0
    ]
    report = f"{about}\n{verdict.render()}"
    (tmp_path / "verdict.txt").write_text(report + "\n")
    print(report)
    if killer.error is not None:
        pytest.fail(f"{about}: the killer failed: {killer.error!r}", pytrace=False)
    if not verdict.ok:
        pytest.fail(f"{report}\n\n{workers.logs()}", pytrace=False)
