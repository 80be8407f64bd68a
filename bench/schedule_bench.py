"""What schedules cost a worker: a scheduler pass, and a tick against starting the run by hand.

Not a test: run it by hand and read the figures (docs/performance.md records them).

    python bench/schedule_bench.py                  # 1, 10 and 100 schedules, 5 rounds
    python bench/schedule_bench.py --schedules 1000 --rounds 3

On one SQLite file at synchronous=FULL (the default), with N workflows each declaring
``Every(minutes=1)``, on a virtual clock:

* idle pass: ``engine.schedules.fire()`` when no tick is due, what every worker pays about
  once a second (one read of the schedules' state);
* tick: a pass in which every schedule has one tick due, per tick (the run started and the
  schedule's state recorded), against ``engine.start`` of a run by hand in the same round
  (the floor: a tick must at least create its run).

Medians over the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wfkit import Context, Engine, Every, workflow
from wfkit.engine.clock import ManualClock

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def flows(count: int) -> list[Any]:
    made = []
    for i in range(count):

        @workflow(name=f"job{i}", schedule=Every(minutes=1, overlap="allow"))
        def job(ctx: Context) -> None:
            return None

        made.append(job)
    return made


def one_round(directory: Path, count: int, round_no: int) -> tuple[float, float, float]:
    """(idle pass s, seconds per tick, seconds per manual start)."""
    workflows = flows(count)
    engine = Engine(
        f"sqlite:///{directory / f'sched-{count}-{round_no}.db'}",
        workflows=workflows,
        clock=ManualClock(T0),
    )
    engine.schedules.fire()  # first look: every schedule's state recorded
    engine.clock.advance(1)
    started = time.perf_counter()
    idle_passes = 20
    for _ in range(idle_passes):
        engine.schedules.fire()
    idle = (time.perf_counter() - started) / idle_passes
    engine.clock.advance(60)  # one tick due on every schedule
    started = time.perf_counter()
    fired = engine.schedules.fire()
    per_tick = (time.perf_counter() - started) / len(fired)
    assert len(fired) == count
    started = time.perf_counter()
    for i, wf in enumerate(workflows):
        engine.start(wf, workflow_id=f"by-hand-{i}")
    per_start = (time.perf_counter() - started) / count
    engine.close()
    return idle, per_tick, per_start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", default="1,10,100", help="comma-separated counts")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("| schedules | idle pass ms | per tick ms | per start by hand ms | tick / start |")
    print("|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(c) for c in args.schedules.split(",")):
            rounds = [one_round(Path(tmp), count, r) for r in range(args.rounds)]
            idle = statistics.median(r[0] for r in rounds)
            tick = statistics.median(r[1] for r in rounds)
            start = statistics.median(r[2] for r in rounds)
            print(
                f"| {count} | {idle * 1000:.2f} | {tick * 1000:.2f} | {start * 1000:.2f} "
                f"| {tick / start:.2f}x |"
            )


if __name__ == "__main__":
    main()
