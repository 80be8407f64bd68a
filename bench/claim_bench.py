"""What a claim costs behind a backlog of runnable runs (a benchmark, not a test).

    python bench/claim_bench.py                       # SQLite: 1,000 / 10,000 / 50,000 pending runs
    python bench/claim_bench.py --store postgres      # a throwaway PostgreSQL server (initdb)

A worker claims one run at a time (``Store.claim(limit=1)``); before the claim indexes a claim
sorted every live run, so a worker draining a backlog of 50,000 runs spent 18 ms choosing
each one; then, with the indexes in claim order across workflows, a claim stepped over every
older run it could not take. This measures the mean of ``--claims`` claims at each backlog
size on a store holding that many pending runs of one workflow (created through the engine on
SQLite, copied by SQL on PostgreSQL, then ANALYZEd), four ways:

- **own**: a worker of that workflow takes the next run (``workflows=[it]``, as a worker
  claims);
- **any**: a claim for any workflow (``workflows=None``);
- **other**: a worker of another workflow, whose one run is newer than the backlog (taken by
  the first claim; the others find nothing, as an idle worker's claims do);
- **paused**: the backlog's workflow paused, a worker of both workflows claiming.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from wfkit import Context, Engine, step, workflow  # noqa: E402


@step
def trivial(i: int) -> int:
    return i + 1


@workflow(name="bench-claim")
def one_step(ctx: Context) -> int:
    return ctx.step(trivial, 0)


@workflow(name="bench-other")
def other_step(ctx: Context) -> int:
    return ctx.step(trivial, 1)


def claims(store: Any, engine: Engine, count: int, tag: str, workflows: Any) -> float:
    now = engine.clock.now() + timedelta(seconds=5)
    began = time.perf_counter()
    for k in range(count):
        store.claim(f"{tag}-{k}", now, now + timedelta(minutes=10), limit=1, workflows=workflows)
    return (time.perf_counter() - began) / count * 1000


def four_ways(store: Any, engine: Engine, count: int, size: int) -> str:
    """own, any, other, paused (see the module docstring), in ms per claim."""
    own = claims(store, engine, count, f"own{size}", ["bench-claim"])
    every = claims(store, engine, count, f"any{size}", None)
    engine.start(other_step, workflow_id=f"other{size}")
    other = claims(store, engine, count, f"other{size}", ["bench-other"])
    engine.pause_workflow("bench-claim")
    paused = claims(store, engine, count, f"paused{size}", ["bench-claim", "bench-other"])
    engine.resume_workflow("bench-claim")
    return f"{own:.2f} | {every:.2f} | {other:.2f} | {paused:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--backlog", default="1000,10000,50000")
    parser.add_argument("--claims", type=int, default=50)
    options = parser.parse_args()
    sizes = [int(n) for n in options.backlog.split(",")]
    print(f"python {sys.version.split()[0]}, {options.store}, load {os.getloadavg()[0]:.1f}")
    print("| pending runs | own ms/claim | any | other | paused |")
    print("|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        server = None
        if options.store == "postgres":
            import psycopg
            from postgres_server import PostgresServer

            from wfkit.engine.store.postgres import PostgresStore

            server = PostgresServer()
            store: Any = PostgresStore(server.url)
        else:
            from wfkit.engine.store.sqlite import SqliteStore

            store = SqliteStore(f"sqlite:///{tmp}/claims.db?synchronous=NORMAL")
        try:
            engine = Engine(store, workflows=[one_step, other_step])
            engine.start(one_step, workflow_id="r0")
            made = 1
            for size in sizes:
                if server is not None:
                    with psycopg.connect(server.url, autocommit=True) as conn:
                        conn.execute(
                            "INSERT INTO runs (id, workflow, version, status, input, seed, "
                            "created_at, updated_at) SELECT 'r' || g, workflow, version, status, "
                            "input, seed, created_at + g * interval '1 microsecond', updated_at "
                            "FROM runs, generate_series(%s::int, %s::int) g WHERE id = 'r0'",
                            (made, size - 1),
                        )
                        conn.execute("ANALYZE runs")
                else:
                    for n in range(made, size):
                        engine.start(one_step, workflow_id=f"r{n}")
                made = size
                print(f"| {size:,} | {four_ways(store, engine, options.claims, size)} |")
        finally:
            store.close()
            if server is not None:
                server.close()


if __name__ == "__main__":
    main()
