"""Durable steps per second with several worker processes on one store (a benchmark, not a test).

    python bench/worker_throughput_bench.py --store postgres [--workers 3] [--inflight 1,8,32]
    python bench/worker_throughput_bench.py --store sqlite   [--workers 3] [--inflight 1,8,32]

Issue 18 asks for steps/s "on PostgreSQL with 3 worker processes (a throwaway local server)".
For each N, ``--workers`` real ``wfkit worker flows.py --concurrency N`` processes run
``workers * N * --runs-per-slot`` runs of ten trivial steps, created before the workers start.
The rate is measured from the store's own timestamps, so process start-up is not counted: ten
steps per run over the span from the first step's start to the last run's end. p99 is the
time from one step's end to the next step's end in a run (a step's cost as its run sees it:
the checkpoint's commit and the worker's own work), over every run.

``--store postgres`` starts a throwaway server (``initdb`` + ``pg_ctl`` from the PostgreSQL
packages, as the test suite does) with durable settings: ``fsync=on``, ``synchronous_commit=on``
(every step's commit waits for its WAL flush; concurrent commits of different connections
share flushes, PostgreSQL's own group commit). ``--store sqlite`` uses one file at
``synchronous=FULL``. The raw floor is one connection's one-row ``INSERT`` + ``COMMIT`` rate on
the same store.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from group_commit_bench import raw_commits  # noqa: E402  (this folder: the same floor)

from wfkit.engine.engine import Engine  # noqa: E402
from wfkit.engine.loader import load_modules  # noqa: E402
from wfkit.engine.status import RunStatus  # noqa: E402
from wfkit.engine.store import open_store  # noqa: E402

FLOWS = textwrap.dedent(
    """\
    from wfkit import Context, step, workflow


    @step
    def trivial(i: int) -> int:
        return i + 1


    @workflow(name="bench-ten")
    def ten_steps(ctx: Context) -> int:
        total = 0
        for _ in range(10):
            total = ctx.step(trivial, total)
        return total
    """
)

DURABLE_PG = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=300"


def measure(directory: Path, url: str, workers: int, inflight: int, runs: int) -> dict[str, Any]:
    """One round on a fresh, empty store at ``url``."""
    flows = directory / "flows.py"
    if not flows.exists():
        flows.write_text(FLOWS)
    (workflow,) = load_modules([str(flows)])
    with Engine(open_store(url), workflows=[workflow]) as engine:
        ids = [engine.start(workflow, workflow_id=f"r{i}").id for i in range(runs)]
        env = {**os.environ, "WFKIT_STORE": url}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "wfkit", "-q", "worker", str(flows)]
                + ["--concurrency", str(inflight), "--idle-interval", "0.01"],
                cwd=directory,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(workers)
        ]
        try:
            deadline = time.monotonic() + 600
            while engine.store.count_runs().get(RunStatus.COMPLETED, 0) < runs:
                if time.monotonic() > deadline:
                    raise SystemExit("the runs did not finish in 10 minutes")
                if any(p.poll() is not None for p in procs):
                    errors = b"".join(p.stderr.read() for p in procs if p.stderr)
                    raise SystemExit(f"a worker exited: {errors.decode(errors='replace')}")
                time.sleep(0.05)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(timeout=60)
        starts, ends, gaps = [], [], []
        for run_id in ids:
            ops = engine.operations(run_id)
            done = [op.finished_at for op in ops if op.finished_at is not None]
            starts += [op.started_at for op in ops if op.started_at is not None]
            finished = engine.get_run(run_id).finished_at
            assert finished is not None
            ends.append(finished)
            gaps += [(b - a).total_seconds() for a, b in zip(done, done[1:])]
    span = (max(ends) - min(starts)).total_seconds()
    gaps.sort()
    return {"steps_per_s": runs * 10 / span, "p99_ms": gaps[int(len(gaps) * 0.99) - 1] * 1000}


def raw_commits_postgres(url: str, n: int = 300) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS raw (k serial PRIMARY KEY, v text)")
        began = time.perf_counter()
        for _ in range(n):
            with conn.transaction():
                conn.execute("INSERT INTO raw (v) VALUES (%s)", ("x" * 40,))
        return n / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--inflight", default="1,8,32")
    parser.add_argument("--runs-per-slot", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    levels = [int(n) for n in options.inflight.split(",")]
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {options.store}, "
        f"{options.workers} worker processes, load {os.getloadavg()[0]:.1f}"
    )
    print("| runs in flight per worker | runs | steps/s | p99 step ms | raw commits/s |")
    print("|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        server = None
        if options.store == "postgres":
            import psycopg
            from postgres_server import PostgresServer

            server = PostgresServer(options=DURABLE_PG)
        try:
            for inflight in levels:
                runs = max(options.workers * inflight * options.runs_per_slot, 12)
                rows = []
                for round_ in range(options.rounds):
                    name = f"r{inflight}x{round_}"
                    if server is not None:
                        with psycopg.connect(server.url, autocommit=True) as admin:
                            admin.execute(f"CREATE DATABASE {name}")
                        url = server.url.rsplit("/", 1)[0] + f"/{name}"
                        floor = raw_commits_postgres(server.url)  # not in wfkit's database
                    else:
                        url = f"sqlite:///{directory / name}.db"
                        floor = raw_commits(str(directory))
                    rows.append((measure(directory, url, options.workers, inflight, runs), floor))
                print(
                    f"| {inflight} | {runs} | "
                    f"{statistics.median(r[0]['steps_per_s'] for r in rows):,.0f} | "
                    f"{statistics.median(r[0]['p99_ms'] for r in rows):.2f} | "
                    f"{statistics.median(r[1] for r in rows):,.0f} |"
                )
        finally:
            if server is not None:
                server.close()


if __name__ == "__main__":
    main()
