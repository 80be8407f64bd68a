"""Durable steps per second with many runs in flight in one worker: group commit on and off.

    python bench/group_commit_bench.py [--inflight 1,8,32,128] [--runs-per-thread 4] [--rounds 3]

For each number of runs in flight N, one worker (``Engine.run_worker(concurrency=N)``) runs
``N * runs-per-thread`` workflows of ten trivial steps on a fresh SQLite file at
``synchronous=FULL``, once with group commit (the default) and once with ``group_commit=off``,
taking turns, ``--rounds`` times. It reports durable steps per second (ten per run, from the
worker's start to the last run's end), the p99 of a checkpoint's commit latency (what a step
waits for its durability), and, as the floor, raw one-row ``INSERT`` + ``COMMIT``s per second
on the same disk in the same round. Medians over the rounds; ratios within a round.

Targets (issue 18): >= 20,000 steps/s with 32 runs in flight, >= 4x the same worker without
group commit, p99 step latency <= 5 ms; with 1 run in flight no regression.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from wfkit import Context, Engine, step, workflow  # noqa: E402
from wfkit.engine.status import RunStatus  # noqa: E402
from wfkit.engine.store.sqlite import SqliteStore  # noqa: E402


@step
def trivial(i: int) -> int:
    return i + 1


@workflow(name="bench-ten")
def ten_steps(ctx: Context) -> int:
    total = 0
    for _ in range(10):
        total = ctx.step(trivial, total)
    return total


class Timed:
    """The store with each checkpoint's commit latency recorded."""

    def __init__(self, inner: SqliteStore) -> None:
        self._inner = inner
        self.url = inner.url
        self.latencies: list[float] = []
        self._lock = threading.Lock()

    def commit(self, *args: Any, **kwargs: Any) -> bool:
        began = time.perf_counter()
        try:
            return self._inner.commit(*args, **kwargs)
        finally:
            spent = time.perf_counter() - began
            with self._lock:
                self.latencies.append(spent)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def worker_run(tmp: str, inflight: int, runs: int, grouped: bool) -> tuple[float, float, float]:
    """(steps per second, p99 commit latency in ms, CPU microseconds per step: user + system
    time of the whole process, so what a step costs the machine beside the disk's wait)."""
    path = os.path.join(tmp, f"g-{inflight}-{grouped}-{time.monotonic_ns()}.db")
    option = "" if grouped else "?group_commit=off"
    store = Timed(SqliteStore(f"sqlite:///{path}{option}"))
    engine = Engine(store, workflows=[ten_steps], lease_seconds=60)
    for n in range(runs):
        engine.start(ten_steps, workflow_id=f"r{n}")
    store.latencies.clear()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            # A count, not a listing: the watcher shares the GIL with the worker it measures
            # (listing the finished runs every 10 ms took half the GIL).
            if engine.store.count_runs().get(RunStatus.COMPLETED, 0) >= runs:
                stop.set()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    watcher.start()
    engine.run_worker(stop=stop, concurrency=inflight, idle_interval=0.01)
    elapsed = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    spent = after.ru_utime - cpu.ru_utime + after.ru_stime - cpu.ru_stime
    watcher.join()
    engine.close()
    latencies = sorted(store.latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0
    return runs * 10 / elapsed, p99, spent / (runs * 10) * 1e6


def raw_commits(tmp: str, n: int = 300) -> float:
    path = os.path.join(tmp, f"raw-{time.monotonic_ns()}.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    began = time.perf_counter()
    for _ in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", ("x" * 40,))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    conn.close()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inflight", default="1,8,32,128")
    parser.add_argument("--runs-per-thread", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    levels = [int(n) for n in options.inflight.split(",")]
    print(
        f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} cores, synchronous=FULL"
    )
    print(
        "| runs in flight | steps/s grouped | steps/s ungrouped | grouped / ungrouped | "
        "p99 commit ms grouped | p99 ungrouped | CPU us/step grouped | CPU us/step ungrouped | "
        "raw commits/s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for inflight in levels:
            runs = max(
                inflight * options.runs_per_thread, 64
            )  # >= 640 steps: a round of 8 runs was ~40 ms, all noise
            rows = []
            for _ in range(options.rounds):
                grouped = worker_run(tmp, inflight, runs, True)
                plain = worker_run(tmp, inflight, runs, False)
                rows.append((grouped, plain, raw_commits(tmp)))
            g = statistics.median(r[0][0] for r in rows)
            p = statistics.median(r[1][0] for r in rows)
            ratio = statistics.median(r[0][0] / r[1][0] for r in rows)
            print(
                f"| {inflight} | {g:,.0f} | {p:,.0f} | {ratio:.2f}x | "
                f"{statistics.median(r[0][1] for r in rows):.2f} | "
                f"{statistics.median(r[1][1] for r in rows):.2f} | "
                f"{statistics.median(r[0][2] for r in rows):.0f} | "
                f"{statistics.median(r[1][2] for r in rows):.0f} | "
                f"{statistics.median(r[2] for r in rows):,.0f} |"
            )


if __name__ == "__main__":
    main()
