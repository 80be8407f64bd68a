"""The Temporal test environment's speed (issue 15's benchmark; a benchmark, not a test).

    python bench/temporal_harness_bench.py [--runs 50] [--examples 200]

1. A workflow of ten sequential activities (trivial sync functions) run to its end in
   ``TemporalTestEnvironment``, ``--runs`` times, each in a fresh environment: runs/s, and the
   time of one run.
2. ``verify_temporal`` exploring ``--examples`` plans (activity failures and worker crashes)
   of a ten-activity saga with a compensation per activity: its wall time. Target (issue 15):
   <= 10 s for 200 examples on the reference machine.

No Temporal server can be started here (the test server is a download), so there is no peer
figure: ours are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import timedelta
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from temporalio import activity, workflow  # noqa: E402
from temporalio.common import RetryPolicy  # noqa: E402
from temporalio.exceptions import ActivityError, ApplicationError  # noqa: E402

from wfkit.testing.temporal import (  # noqa: E402
    TemporalOutcome,
    TemporalTestEnvironment,
    verify_temporal,
)

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)
OPTIONS: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=5), "retry_policy": RETRY}
LEDGER: dict[str, int] = {}


@activity.defn
def work(i: int) -> int:
    return i + 1


# Idempotent, as activities must be: a crash can lose an attempt's outcome after its work is
# done, and the next attempt runs it again (a first version of this bench counted bookings
# and verify_temporal found a step booked twice and undone once).
@activity.defn
def book(i: int) -> int:
    LEDGER[f"step{i}"] = 1
    return i


@activity.defn
def unbook(i: int) -> int:
    LEDGER[f"step{i}"] = 0  # whether or not its step happened
    return i


@workflow.defn
class TenActivities:
    @workflow.run
    async def run(self) -> int:
        total = 0
        for _ in range(10):
            total = await workflow.execute_activity(work, total, **OPTIONS)
        return total


@workflow.defn
class TenStepSaga:
    @workflow.run
    async def run(self) -> list[int]:
        done: list[int] = []
        try:
            for i in range(10):
                await workflow.execute_activity(book, i, **OPTIONS)
                done.append(i)
        except ActivityError:
            for i in reversed(range(len(done) + 1)):  # the failed step may have happened
                await workflow.execute_activity(unbook, i, **OPTIONS)
            raise ApplicationError("rolled back", non_retryable=True) from None
        return done


def throughput(runs: int) -> float:
    async def all_runs() -> None:
        for n in range(runs):
            env = TemporalTestEnvironment(workflows=[TenActivities], activities=[work])
            assert await env.execute(TenActivities.run, id=f"ten-{n}") == 10

    began = time.perf_counter()
    asyncio.run(all_runs())
    return runs / (time.perf_counter() - began)


def explore(examples: int) -> tuple[float, Any]:
    def reset(env: TemporalTestEnvironment) -> None:
        LEDGER.clear()

    def balanced(outcome: TemporalOutcome) -> bool:
        if outcome.status == "COMPLETED":
            return all(LEDGER.get(f"step{i}", 0) >= 1 for i in range(10))
        return all(count == 0 for count in LEDGER.values())

    began = time.perf_counter()
    summary = verify_temporal(
        TenStepSaga.run,
        activities=[book, unbook],
        setup=reset,
        invariant=balanced,
        max_examples=examples,
    )
    return time.perf_counter() - began, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--examples", type=int, default=200)
    options = parser.parse_args()
    print(f"python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")
    rate = throughput(options.runs)
    print(
        f"10-activity workflow: {rate:,.1f} runs/s ({1000 / rate:.1f} ms a run), {options.runs} runs"
    )
    seconds, summary = explore(options.examples)
    print(f"verify_temporal, 10-activity saga: {seconds:.1f} s; {summary.line()}")


if __name__ == "__main__":
    main()
