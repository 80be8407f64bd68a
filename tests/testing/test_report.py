"""What a failing test shows: the timeline's order, where the code raised, the step that
failed, and a regression snippet that runs as pasted."""

from __future__ import annotations

import pytest

from wfkit import Context, step, workflow
from wfkit.testing import SimulatedCrash, TestWorkflowContext
from wfkit.testing.verification import timeline


@step
def first(x: int) -> int:
    return x


@step
def second(x: int) -> int:
    return x


@workflow
def two_steps(ctx: Context) -> int:
    ctx.step(first, 1)
    return ctx.step(second, 2)


@pytest.mark.parametrize("crash", ["crash_before", "crash_after", "crash_after_checkpoint"])
@pytest.mark.parametrize("target", [first, second])
def test_a_resume_after_no_downtime_comes_after_the_crash_it_recovers_from(crash, target):
    ctx = TestWorkflowContext()
    getattr(ctx, crash)(target)
    with pytest.raises(SimulatedCrash):
        ctx.run(two_steps)
    ctx.resume(downtime=0)
    lines = timeline(ctx)
    crashed = next(i for i, line in enumerate(lines) if "CRASH" in line)
    resumed = next(i for i, line in enumerate(lines) if "resumed by a new process" in line)
    assert crashed + 1 == resumed, "\n".join(lines)
    assert lines[-1].endswith("run COMPLETED")


def test_a_crash_at_the_first_operation_is_the_first_line():
    ctx = TestWorkflowContext()
    ctx.crash_at(1)
    with pytest.raises(SimulatedCrash):
        ctx.run(two_steps)
    ctx.resume()
    lines = timeline(ctx)
    assert "CRASH as durable operation #1" in lines[0]
    assert "resumed by a new process after 0s down" in lines[1]
