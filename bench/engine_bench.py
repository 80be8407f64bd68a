"""Engine throughput against the floor set by SQLite itself, measured in the same run.

    python bench/engine_bench.py [--runs 300] [--repeat 3] [--synchronous FULL,NORMAL]

For each ``synchronous`` level it measures:

- raw: a loop of ``INSERT`` + ``COMMIT`` on a WAL database with the same pragmas (the cost of
  one durable write, the floor for a durable step);
- a 1-step and a 10-step workflow of trivial steps, run one after another through
  ``Engine.start(...).result()`` on a SqliteStore;

and prints steps/s, workflows/s, per-step overhead ((t10 - t1) / 9, so per-run costs such as
start, claim and completion cancel out) and its ratio to the raw commit, plus store commits
per step (the target is exactly one). If ``dbos`` is importable, the same 10-step workflow runs
on DBOS's SQLite setup too and the ratio is printed.

Each measurement is taken ``--repeat`` times (raw, 1-step and 10-step interleaved) and the
fastest is kept, wall and CPU separately: on a shared machine other processes only ever add
time, so the minimum is the steadiest estimate. CPU time (``time.process_time``) is the robust
figure there; wall time also counts waiting for the CPU and for fsync.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from wfkit import Context, Engine, step, workflow  # noqa: E402
from wfkit.store.sqlite import SqliteStore  # noqa: E402


@step
def trivial(i: int) -> int:
    return i + 1


@workflow(name="bench-one")
def one_step(ctx: Context) -> int:
    return ctx.step(trivial, 0)


@workflow(name="bench-ten")
def ten_steps(ctx: Context) -> int:
    total = 0
    for i in range(10):
        total += ctx.step(trivial, i)
    return total


class CountingStore:
    """Delegates to a store and counts its durable commits (checkpoints and new runs; a claim
    is a lease-only write, not fsynced even at FULL)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.commits = 0
        self.url = inner.url

    def commit(self, *args: Any, **kwargs: Any) -> bool:
        self.commits += 1
        return self._inner.commit(*args, **kwargs)  # the cancel flag the engine reads

    def create_run(self, *args: Any, **kwargs: Any) -> Any:
        self.commits += 1
        return self._inner.create_run(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def raw_commit_seconds(path: str, synchronous: str, n: int) -> tuple[float, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, run TEXT, seq INT, body TEXT)")
    body = '{"result": 1}'
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (run, seq, body) VALUES (?, ?, ?)", ("run", i, body))
        conn.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    conn.close()
    return elapsed / n, cpu / n


def workflow_seconds(path: str, synchronous: str, wf: Any,
                     runs: int) -> tuple[float, float, float]:
    store = CountingStore(SqliteStore(f"sqlite:///{path}?synchronous={synchronous}"))
    engine = Engine(store, workflows=[wf])  # type: ignore[arg-type]
    for i in range(5):  # warm up caches and prepared statements
        engine.start(wf, workflow_id=f"warm-{i}").result(timeout=30)
    store.commits = 0
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(runs):
        engine.start(wf, workflow_id=f"run-{i}").result(timeout=30)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    commits = store.commits / runs
    engine.close()
    return elapsed / runs, cpu / runs, commits


def dbos_seconds(runs: int) -> float | None:  # pragma: no cover - optional comparison
    try:
        from dbos import DBOS  # type: ignore[import-not-found]
    except ImportError:
        return None
    tmp = tempfile.mkdtemp()
    DBOS(config={"name": "wfkit-bench",
                 "system_database_url": f"sqlite:///{tmp}/dbos.sqlite"})

    @DBOS.step()
    def d_trivial(i: int) -> int:
        return i + 1

    @DBOS.workflow()
    def d_ten() -> int:
        return sum(d_trivial(i) for i in range(10))

    DBOS.launch()
    for _ in range(5):
        d_ten()
    start = time.perf_counter()
    for _ in range(runs):
        d_ten()
    elapsed = time.perf_counter() - start
    DBOS.destroy()
    return elapsed / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3,
                        help="measure each figure this many times and keep the fastest")
    parser.add_argument("--synchronous", default="FULL,NORMAL")
    options = parser.parse_args()
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
          f"{options.runs} sequential runs per workflow, best of {options.repeat}\n")
    ten_dbos, ten_commits, raw_full = None, 0.0, 0.0
    for level in [s.strip().upper() for s in options.synchronous.split(",")]:
        raws, ones, tens = [], [], []
        for _ in range(max(options.repeat, 1)):
            with tempfile.TemporaryDirectory() as tmp:
                raws.append(raw_commit_seconds(os.path.join(tmp, "raw.db"), level,
                                               options.runs * 10))
                ones.append(workflow_seconds(os.path.join(tmp, "one.db"), level, one_step,
                                             options.runs))
                tens.append(workflow_seconds(os.path.join(tmp, "ten.db"), level, ten_steps,
                                             options.runs))
        raw, raw_cpu = min(r[0] for r in raws), min(r[1] for r in raws)
        t1, cpu1, c1 = min(r[0] for r in ones), min(r[1] for r in ones), ones[0][2]
        t10, cpu10, c10 = min(r[0] for r in tens), min(r[1] for r in tens), tens[0][2]
        per_step, per_step_cpu = (t10 - t1) / 9, (cpu10 - cpu1) / 9
        print(f"synchronous={level}            wall time     (CPU time of this process)")
        print(f"  raw WAL INSERT+COMMIT         {raw * 1e6:9.1f} µs  ({raw_cpu * 1e6:7.1f} µs)")
        print(f"  1-step workflow               {t1 * 1e6:9.1f} µs/run  "
              f"({cpu1 * 1e6:7.1f} µs; {1 / t1:6.0f} workflows/s; {c1:.0f} durable commits)")
        print(f"  10-step workflow              {t10 * 1e6:9.1f} µs/run  "
              f"({cpu10 * 1e6:7.1f} µs; {1 / t10:6.0f} workflows/s; {c10:.0f} durable commits)")
        print(f"  per step                      {per_step * 1e6:9.1f} µs  "
              f"({per_step_cpu * 1e6:7.1f} µs) = {per_step / raw:.2f}x the raw commit "
              f"({per_step_cpu / raw_cpu:.2f}x in CPU); {(c10 - c1) / 9:.2f} commits per step")
        print(f"  steps/s                       {1 / per_step:9.0f}     "
              f"({1 / per_step_cpu:7.0f} on CPU time)\n")
        if level == "FULL":
            ten_dbos, ten_commits, raw_full = t10, c10, raw
    d = dbos_seconds(options.runs)
    if d is None:
        print("dbos not installed: skipped the DBOS comparison (pip install dbos)")
    elif ten_dbos:
        floor = ten_commits * raw_full
        print(f"DBOS 10-step workflow {d * 1e6:.0f} µs/run: wfkit is {d / ten_dbos:.1f}x faster")
        print(f"  (at FULL a 10-step run needs {ten_commits:.0f} fsynced commits, at least "
              f"{floor * 1e6:.0f} µs at this disk's raw commit: DBOS / that floor = "
              f"{d / floor:.1f}x, the most any engine could show here)")


if __name__ == "__main__":
    main()
