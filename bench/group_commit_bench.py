"""Durable steps per second with many runs in flight in one worker: the event loop, threads,
and no group commit.

    python bench/group_commit_bench.py [--inflight 1,8,32,128] [--runs-per-thread 4] [--rounds 3]

For each number of runs in flight N, one worker (``Engine.run_worker(concurrency=N)``) runs
``max(N * runs-per-thread, 64)`` workflows of ten trivial steps on a fresh SQLite file at
``synchronous=FULL``, three ways, taking turns, ``--rounds`` times:

- **loop**: an ``async def`` workflow with async steps: the worker runs the runs as tasks
  on its event loop and their checkpoints share group commits (wfkit.engine.task_lane);
- **threads**: the same workflow written with ``def``: a thread per run in flight, the
  checkpoints still grouped;
- **ungrouped**: the ``def`` workflow with ``group_commit=off``, a thread per run and a
  commit per checkpoint: the engine before issue 18, the baseline of its ">= 4x".

It reports durable steps per second (ten per run, from the worker's start to the last run's
end), the p99 of a checkpoint's commit latency (what a step waits for its durability), the
CPU time per step (user + system of the whole process), and, as the floor, raw one-row
``INSERT`` + ``COMMIT``s per second on the same disk in the same round. Medians over the
rounds; ratios within a round.

Targets (issue 18): >= 20,000 steps/s with 32 runs in flight, >= 4x the worker without
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


@step
async def trivial_async(i: int) -> int:
    return i + 1


@workflow(name="bench-ten-async")
async def ten_steps_async(ctx: Context) -> int:
    total = 0
    for _ in range(10):
        total = await ctx.step(trivial_async, total)
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

    async def commit_async(self, *args: Any, **kwargs: Any) -> bool:
        began = time.perf_counter()
        try:
            return await self._inner.commit_async(*args, **kwargs)
        finally:
            spent = time.perf_counter() - began
            with self._lock:
                self.latencies.append(spent)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


MODES = ("loop", "threads", "ungrouped")


def worker_run(tmp: str, inflight: int, runs: int, mode: str) -> tuple[float, float, float]:
    """(steps per second, p99 commit latency in ms, CPU microseconds per step: user + system
    time of the whole process, so what a step costs the machine beside the disk's wait)."""
    path = os.path.join(tmp, f"g-{inflight}-{mode}-{time.monotonic_ns()}.db")
    option = "?group_commit=off" if mode == "ungrouped" else ""
    store = Timed(SqliteStore(f"sqlite:///{path}{option}"))
    flow = ten_steps_async if mode == "loop" else ten_steps
    engine = Engine(store, workflows=[flow], lease_seconds=60)
    for n in range(runs):
        engine.start(flow, workflow_id=f"r{n}")
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
        "| runs in flight | steps/s loop | steps/s threads | steps/s ungrouped | "
        "loop / ungrouped | loop / threads | p99 commit ms loop | p99 threads | p99 ungrouped | "
        "CPU us/step loop | CPU threads | CPU ungrouped | raw commits/s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for inflight in levels:
            runs = max(
                inflight * options.runs_per_thread, 64
            )  # >= 640 steps: a round of 8 runs was ~40 ms, all noise
            rounds = []
            for _ in range(options.rounds):
                measured = {mode: worker_run(tmp, inflight, runs, mode) for mode in MODES}
                rounds.append((measured, raw_commits(tmp)))

            def med(mode: str, i: int, rounds: list[Any] = rounds) -> float:
                return statistics.median(r[0][mode][i] for r in rounds)

            def ratio(a: str, b: str, rounds: list[Any] = rounds) -> float:
                return statistics.median(r[0][a][0] / r[0][b][0] for r in rounds)

            print(
                f"| {inflight} | {med('loop', 0):,.0f} | {med('threads', 0):,.0f} | "
                f"{med('ungrouped', 0):,.0f} | {ratio('loop', 'ungrouped'):.2f}x | "
                f"{ratio('loop', 'threads'):.2f}x | {med('loop', 1):.2f} | "
                f"{med('threads', 1):.2f} | {med('ungrouped', 1):.2f} | "
                f"{med('loop', 2):.0f} | {med('threads', 2):.0f} | {med('ungrouped', 2):.0f} | "
                f"{statistics.median(r[1] for r in rounds):,.0f} |"
            )


if __name__ == "__main__":
    main()
