"""Test-harness speed: durable operations per second through ``TestWorkflowContext``, and the
wall time of ``verify`` exploring 200 fault plans of a 10-step workflow with compensations.

    python bench/harness_bench.py [--steps 2000] [--repeat 5] [--examples 200]

Targets (docs/performance.md, "Test harness"): >= 20,000 durable operations/s on one core, and
``verify`` with 200 examples in <= 5 s. Not a timed test: a shared CI machine would make such a
test flaky, so the figures are recorded by hand.

Throughput runs one workflow of ``--steps`` trivial steps (each step is one durable operation:
an activation, a checkpoint in the in-memory store, a history entry) in four configurations:
the defaults (virtual time through freezegun, auto-replay of the final history), and each of
the two switched off, to show what they cost.

The clock: freezegun fakes ``time.perf_counter`` and rewrites module globals that hold the real
function, so the real one is kept inside a tuple, where freezegun's module scan does not look.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from wfkit import Context, step, workflow  # noqa: E402
from wfkit.testing import TestWorkflowContext, WorkflowFailed  # noqa: E402

_REAL_CLOCKS: tuple[Callable[[], float], Callable[[], float]] = (
    time.perf_counter,
    time.process_time,
)


def _now() -> float:
    return _REAL_CLOCKS[0]()


def _cpu() -> float:
    return _REAL_CLOCKS[1]()


# -- throughput --------------------------------------------------------------------------------
@step
def trivial(i: int) -> int:
    return i + 1


@workflow(name="harness-bench-many")
def many_steps(ctx: Context, n: int) -> int:
    total = 0
    for i in range(n):
        total += ctx.step(trivial, i)
    return total


def throughput(steps: int, repeat: int, **options: Any) -> tuple[float, float]:
    """(CPU, wall) durable operations per second, best of ``repeat`` runs (other work on a
    shared machine only adds time). CPU time is the one-core figure; wall time also counts
    whatever else the machine was doing."""
    cpu_rates, wall_rates = [], []
    ctx = TestWorkflowContext(**options)
    ctx.run(many_steps, 50)  # warm-up: imports, first freezegun start
    for _ in range(repeat):
        ctx = TestWorkflowContext(**options)
        wall, cpu = _now(), _cpu()
        ctx.run(many_steps, steps)
        cpu_rates.append(steps / (_cpu() - cpu))
        wall_rates.append(steps / (_now() - wall))
    return max(cpu_rates), max(wall_rates)


# -- verify --------------------------------------------------------------------------------------
class OutOfStock(Exception):
    pass


def _make_step(i: int) -> Any:
    def effect(order: str) -> str:
        return f"{order}-{i}"

    def undo(order: str, result: str) -> None:
        pass

    effect.__name__ = effect.__qualname__ = f"stage_{i}"
    undo.__name__ = undo.__qualname__ = f"undo_stage_{i}"
    defined = step(effect)
    defined.compensation(undo)
    return defined


STAGES = [_make_step(i) for i in range(10)]


@workflow(name="harness-bench-ten")
def ten_with_compensations(ctx: Context, order: str) -> list[str]:
    return [ctx.step(stage, order) for stage in STAGES]


def bench_verify(examples: int, repeat: int) -> tuple[float, float, int] | str:
    """(CPU seconds, wall seconds, runs checked), best of ``repeat``, for ``verify`` with
    ``examples`` examples (derandomized: every repeat explores the same plans), or why it was
    skipped."""
    try:
        from wfkit.testing import verify
    except (ImportError, AttributeError) as exc:
        return f"skipped: verify is not available ({exc})"
    best: tuple[float, float, int] | None = None
    for _ in range(repeat):
        checked = 0

        def invariant(run: TestWorkflowContext) -> bool:
            nonlocal checked
            checked += 1
            return run.status in ("COMPLETED", "COMPENSATED", "FAILED")

        wall, cpu = _now(), _cpu()
        verify(
            ten_with_compensations,
            "o-1",
            invariant=invariant,
            max_examples=examples,
            derandomize=True,
            database=None,
        )
        took = (_cpu() - cpu, _now() - wall, checked)
        best = took if best is None or took[1] < best[1] else best
    assert best is not None
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--verify-repeat", type=int, default=3)
    args = parser.parse_args(argv)

    print(
        f"Python {sys.version.split()[0]}, {args.steps} trivial steps per run, best of "
        f"{args.repeat} runs (CPU time = one core; wall time includes machine load)"
    )
    configs = [
        ("defaults (freezegun + auto-replay)", {}),
        ("freeze_time=False", {"freeze_time": False}),
        ("auto_replay=False", {"auto_replay": False}),
        ("both off", {"freeze_time": False, "auto_replay": False}),
    ]
    for label, options in configs:
        cpu, wall = throughput(args.steps, args.repeat, **options)
        print(f"  {label:<36} {cpu:>9,.0f} ops/s CPU   {wall:>9,.0f} ops/s wall")

    try:
        outcome = bench_verify(args.examples, args.verify_repeat)
    except (AssertionError, WorkflowFailed) as exc:  # a verify bug, not a bench result
        print(f"verify: FAILED on a correct workflow: {exc}")
        return 1
    if isinstance(outcome, str):
        print(f"verify: {outcome}")
    else:
        cpu_s, wall_s, checked = outcome
        print(
            f"verify, 10 steps with compensations, max_examples={args.examples}, best of "
            f"{args.verify_repeat}: {cpu_s:.2f} s CPU, {wall_s:.2f} s wall ({checked} runs "
            "checked by the invariant)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
