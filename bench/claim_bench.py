"""What a claim costs behind a backlog of runnable runs (a benchmark, not a test).

    python bench/claim_bench.py                       # SQLite: 1,000 / 10,000 / 50,000 pending runs
    python bench/claim_bench.py --store postgres      # a throwaway PostgreSQL server (initdb)

A worker claims one run at a time (``Store.claim(limit=1)``); before the claim indexes a claim
sorted every live run, so a worker draining a backlog of 50,000 runs spent 18 ms choosing
each one. This measures the mean of ``--claims`` claims at each backlog size on a store
holding that many pending runs (created through the engine on SQLite, copied by SQL on
PostgreSQL, then ANALYZEd).
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


def claims(store: Any, engine: Engine, count: int, tag: str) -> float:
    now = engine.clock.now() + timedelta(seconds=5)
    began = time.perf_counter()
    for k in range(count):
        store.claim(f"{tag}-{k}", now, now + timedelta(minutes=10), limit=1)
    return (time.perf_counter() - began) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--backlog", default="1000,10000,50000")
    parser.add_argument("--claims", type=int, default=50)
    options = parser.parse_args()
    sizes = [int(n) for n in options.backlog.split(",")]
    print(f"python {sys.version.split()[0]}, {options.store}, load {os.getloadavg()[0]:.1f}")
    print("| pending runs | ms per claim |")
    print("|---:|---:|")
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
            engine = Engine(store, workflows=[one_step])
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
                print(f"| {size:,} | {claims(store, engine, options.claims, f'c{size}'):.2f} |")
        finally:
            store.close()
            if server is not None:
                server.close()


if __name__ == "__main__":
    main()
