"""What a queue's limits cost: runs/s through a limited queue against the same runs on none.

Not a test: run it by hand and read the figures (docs/performance.md records them).

    python bench/queue_bench.py                  # 400 runs, 3 rounds, SQLite at FULL
    python bench/queue_bench.py --runs 1000 --rounds 5 --steps 1 --synchronous NORMAL
    python bench/queue_bench.py --store postgresql://... (a fresh, empty schema each round)

Each round starts ``--runs`` runs of a workflow of ``--steps`` steps on one store, then one
engine drains them (``work_once`` until nothing is runnable; one thread, so the figures are
the store's and the engine's cost, not the machine's parallelism):

* plain: the runs started on no queue;
* queued: the same runs on ``Queue("bench", concurrency=5, per_key=1, rate=(1_000_000, 1.0))``
  with 50 keys: every limit is counted on every dequeue pass (none binds: a single-thread
  drainer never has more than one run going), so the figure is what the bookkeeping costs.

Both the start and the drain are timed; runs/s is runs over start + drain. Medians over rounds.
Target (issue 17): queued time <= 1.2x plain.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from wfkit import Context, Engine, Queue, step, workflow

QUEUE = Queue("bench", concurrency=5, per_key=1, rate=(1_000_000, 1.0))
KEYS = 50


@step
def touch(n: int) -> int:
    return n + 1


def make_flow(steps: int) -> Any:
    @workflow(name=f"bench{steps}")
    def flow(ctx: Context, n: int) -> int:
        for _ in range(steps):
            n = touch(n)
        return n

    return flow


def one_round(url: str, flow: Any, runs: int, queued: bool) -> float:
    """Seconds to start and drain ``runs`` runs."""
    engine = Engine(url, workflows=[flow], queues=[QUEUE] if queued else [])
    started = time.perf_counter()
    for n in range(runs):
        if queued:
            engine.start(flow, n, queue="bench", queue_key=f"k{n % KEYS}")
        else:
            engine.start(flow, n)
    while engine.work_once():
        pass
    took = time.perf_counter() - started
    left = engine.count_runs()
    engine.close()
    assert set(left) == {_completed()} and sum(left.values()) == runs, left
    return took


def _completed() -> Any:
    from wfkit.engine.status import RunStatus

    return RunStatus.COMPLETED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--store", help="a PostgreSQL URL (default: a new SQLite file per round)", default=None
    )
    parser.add_argument(
        "--synchronous",
        choices=["FULL", "NORMAL"],
        default="FULL",
        help="the SQLite files' synchronous mode (NORMAL: no fsync per commit, so the "
        "figures show the queue's CPU cost rather than the disk's)",
    )
    args = parser.parse_args()
    flow = make_flow(args.steps)
    times: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            for queued in (False, True):  # alternate, so drift on a shared machine hits both
                url = args.store or (
                    f"sqlite:///{Path(tmp) / f'q-{round_no}-{queued}.db'}"
                    f"?synchronous={args.synchronous}"
                )
                if args.store:
                    url = _fresh_schema(args.store, f"qbench_{round_no}_{int(queued)}")
                times[queued].append(one_round(url, flow, args.runs, queued))
    plain, limited = statistics.median(times[False]), statistics.median(times[True])
    where = "PostgreSQL" if args.store else f"SQLite synchronous={args.synchronous}"
    print(f"{args.runs} runs of {args.steps} steps on {where}, median of {args.rounds} rounds")
    print(f"  plain:  {plain:7.3f} s  {args.runs / plain:8.1f} runs/s")
    print(f"  queued: {limited:7.3f} s  {args.runs / limited:8.1f} runs/s")
    print(f"  queued / plain: {limited / plain:.2f}x (target <= 1.2x)")


def _fresh_schema(url: str, name: str) -> str:
    """A new empty schema on the server (dropped first if a run before left it)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{name}"


if __name__ == "__main__":
    main()
