"""Engine throughput against the floor set by SQLite itself, measured in the same run.

    python bench/engine_bench.py [--rounds 9] [--runs 60] [--synchronous FULL,NORMAL]

For each ``synchronous`` level it measures, interleaved in turns (``--block`` runs of each
workflow, ten raw commits of each kind per run, over and over):

- raw: a loop of ``INSERT`` + ``COMMIT`` on a WAL database with the same pragmas (the cost of
  one durable write, the floor for a durable step);
- raw, two tables: the same with a second ``INSERT`` into another table per commit, which is
  what a step's checkpoint must write at least (its operation's current-state row and its
  history line live in two tables), with no lease fence and no Python around it;
- a 1-step and a 10-step workflow of trivial steps, run one after another through
  ``Engine.start(...).result()`` on a SqliteStore;
- with ``dbos`` importable, at FULL, the same 10-step workflow on DBOS's default SQLite setup.

Per step = (t10 - t1) / 9, so per-run costs such as start, claim and completion cancel out.
This disk's fsync latency drifts by tens of percent from one second to the next, so figures
taken one after another (or the best of each) mostly measure the drift: everything takes
turns of a few milliseconds, a round's figures are its totals, ratios are taken within a round,
and the median round is reported with the range. (Turns much shorter than that would measure
something else: each switch between four workloads leaves the CPU caches cold.) Wall time is what the targets speak of; CPU time
(``time.process_time``, which at FULL includes the kernel's fsync work) is printed beside it.
Store commits per step are counted (the target is exactly one).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from wfkit import Context, Engine, step, workflow  # noqa: E402
from wfkit.engine.store.sqlite import SqliteStore  # noqa: E402


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


class RawLoop:
    """INSERT + COMMIT on a WAL file, into one table or (``tables=2``) one row in each of two."""

    def __init__(self, path: str, synchronous: str, tables: int = 1) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={synchronous}")
        names = [f"t{k}" for k in range(tables)]
        for name in names:
            self.conn.execute(
                f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, run TEXT, seq INT, body TEXT)"
            )
        self.inserts = [f"INSERT INTO {name} (run, seq, body) VALUES (?, ?, ?)" for name in names]

    def __call__(self, n: int) -> tuple[float, float]:
        conn, inserts, body = self.conn, self.inserts, '{"result": 1}'
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            conn.execute("BEGIN IMMEDIATE")
            for insert in inserts:
                conn.execute(insert, ("run", i, body))
            conn.execute("COMMIT")
        return (time.perf_counter() - start) / n, (time.process_time() - cpu) / n


class WorkflowLoop:
    """Sequential runs of one workflow on one engine; counts durable commits per run."""

    def __init__(self, path: str, synchronous: str, wf: Any) -> None:
        self.store = CountingStore(SqliteStore(f"sqlite:///{path}?synchronous={synchronous}"))
        self.engine = Engine(self.store, workflows=[wf])  # type: ignore[arg-type]
        self.wf = wf
        self.started = 0
        self.commits_per_run = 0.0
        self(5)  # warm up caches and prepared statements

    def __call__(self, runs: int) -> tuple[float, float]:
        engine, wf = self.engine, self.wf
        before = self.store.commits
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(runs):
            self.started += 1
            engine.start(wf, workflow_id=f"run-{self.started}").result(timeout=30)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        self.commits_per_run = (self.store.commits - before) / runs
        return elapsed / runs, cpu / runs


DBOS_WORKER = """
import sys, tempfile, time
from dbos import DBOS
DBOS(config={"name": "wfkit-bench",
             "system_database_url": f"sqlite:///{tempfile.mkdtemp()}/dbos.sqlite"})

@DBOS.step()
def d_trivial(i: int) -> int:
    return i + 1

@DBOS.workflow()
def d_ten() -> int:
    return sum(d_trivial(i) for i in range(10))

DBOS.launch()
for _ in range(5):
    d_ten()
print("ready", flush=True)
for line in sys.stdin:
    runs = int(line)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        d_ten()
    print((time.perf_counter() - start) / runs, (time.process_time() - cpu) / runs, flush=True)
DBOS.destroy()
"""


class DbosLoop:  # pragma: no cover - optional comparison
    """DBOS's 10-step workflow on its default SQLite setup, in a process of its own: DBOS runs
    background threads once launched, which in this process would compete for the GIL with
    what is being measured. Commands go over a pipe, so its turns interleave with ours."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", DBOS_WORKER],
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the DBOS benchmark process did not start")

    def __call__(self, runs: int) -> tuple[float, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{runs}\n")
        self.proc.stdin.flush()
        wall, cpu = self.proc.stdout.readline().split()
        return float(wall), float(cpu)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def dbos_loop() -> DbosLoop | None:
    """The DBOS comparison, or None when dbos is not installed."""
    if importlib.util.find_spec("dbos") is None:
        return None
    return DbosLoop()


@dataclass
class Rounds:
    """Per-round figures (wall, CPU) by name."""

    values: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def add(self, name: str, value: tuple[float, float]) -> None:
        self.values.setdefault(name, []).append(value)

    def series(self, name: str, cpu: bool = False) -> list[float]:
        return [v[1] if cpu else v[0] for v in self.values[name]]

    def ratio(self, top: str, bottom: str, cpu: bool = False) -> list[float]:
        return [a / b for a, b in zip(self.series(top, cpu), self.series(bottom, cpu))]


def med(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    return (
        f"{med(values) * scale:.{digits}f} "
        f"({min(values) * scale:.{digits}f}-{max(values) * scale:.{digits}f})"
    )


def measure_level(level: str, options: argparse.Namespace, tmp: str, dbos: DbosLoop | None) -> None:
    raw = RawLoop(os.path.join(tmp, f"raw-{level}.db"), level)
    two = RawLoop(os.path.join(tmp, f"two-{level}.db"), level, tables=2)
    one = WorkflowLoop(os.path.join(tmp, f"one-{level}.db"), level, one_step)
    ten = WorkflowLoop(os.path.join(tmp, f"ten-{level}.db"), level, ten_steps)
    rounds = Rounds()
    for _ in range(options.rounds):
        totals: dict[str, list[float]] = {}
        block = options.block
        for _start in range(0, options.runs, block):
            batch = [
                ("ten", ten, block),
                ("raw", raw, 10 * block),
                ("one", one, block),
                ("two", two, 10 * block),
            ]
            if dbos is not None:
                batch.append(("dbos", dbos, max(block // 5, 1)))
            for name, loop, n in batch:
                wall, cpu = loop(n)
                total = totals.setdefault(name, [0.0, 0.0, 0])
                total[0] += wall * n
                total[1] += cpu * n
                total[2] += n
        for name, (wall, cpu, n) in totals.items():
            rounds.add(name, (wall / n, cpu / n))
        t1, t10 = rounds.values["one"][-1], rounds.values["ten"][-1]
        rounds.add("step", ((t10[0] - t1[0]) / 9, (t10[1] - t1[1]) / 9))
    per_step = (ten.commits_per_run - one.commits_per_run) / 9
    us = 1e6
    print(
        f"synchronous={level}: median of {options.rounds} rounds (min-max); wall time, "
        "CPU time of this process in brackets"
    )
    print(
        f"  raw WAL INSERT+COMMIT       {spread(rounds.series('raw'), us)} µs  "
        f"[{med(rounds.series('raw', True)) * us:.1f} µs]"
    )
    print(
        f"  raw, two tables per commit  {spread(rounds.ratio('two', 'raw'), 1, 2)}x the raw "
        "commit: a step's two rows, nothing else"
    )
    for name, label, loop in (("one", "1-step", one), ("ten", "10-step", ten)):
        wall = rounds.series(name)
        print(
            f"  {label} workflow{' ' * (13 - len(label))}{spread(wall, us)} µs/run  "
            f"[{med(rounds.series(name, True)) * us:.1f} µs]; {1 / med(wall):.0f} "
            f"workflows/s; {loop.commits_per_run:.0f} durable commits"
        )
    step = rounds.series("step")
    print(
        f"  per step                    {spread(step, us)} µs  "
        f"[{med(rounds.series('step', True)) * us:.1f} µs]; {per_step:.2f} commits per step"
    )
    print(
        f"  per step / raw commit       {spread(rounds.ratio('step', 'raw'), 1, 2)}x  "
        f"[CPU {med(rounds.ratio('step', 'raw', True)):.2f}x]"
    )
    print(
        f"  steps/s                     {1 / med(step):.0f}, best round {1 / min(step):.0f}  "
        f"[{1 / med(rounds.series('step', True)):.0f} on CPU time]\n"
    )
    if dbos is not None:
        ratios = rounds.ratio("dbos", "ten")
        floor = [
            d / (ten.commits_per_run * r)
            for d, r in zip(rounds.series("dbos"), rounds.series("raw"))
        ]
        print(
            f"DBOS 10-step workflow {spread(rounds.series('dbos'), 1e3, 2)} ms/run: wfkit "
            f"is {spread(ratios, 1, 1)}x faster"
        )
        print(
            f"  (at FULL a 10-step run needs {ten.commits_per_run:.0f} fsynced commits: "
            f"DBOS over that many raw commits is {spread(floor, 1, 1)}x, the most any "
            "engine could show on this disk)\n"
        )
    for loop in (one, ten):
        loop.engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=9, help="report the median (and range) of this many rounds"
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=60,
        help="runs of each workflow per round (raw commits: ten per run)",
    )
    parser.add_argument(
        "--block", type=int, default=10, help="runs of one workflow before the next one's turn"
    )
    parser.add_argument("--synchronous", default="FULL,NORMAL")
    options = parser.parse_args()
    if min(options.rounds, options.runs, options.block) < 1:
        parser.error("--rounds, --runs and --block must be at least 1")
    levels = [s.strip().upper() for s in options.synchronous.split(",")]
    print(
        f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
        f"{options.rounds} rounds of {options.runs} sequential runs per workflow\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for level in levels:
            dbos = dbos_loop() if level == "FULL" else None  # compared at the durable level
            try:
                measure_level(level, options, tmp, dbos)
            finally:
                if dbos is not None:
                    dbos.close()
            if dbos is None and level == "FULL":
                print("dbos not installed: skipped the DBOS comparison (pip install dbos)\n")


if __name__ == "__main__":
    main()
