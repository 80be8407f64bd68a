"""wfkit.step_info(): a running step's run, place and attempt, and its idempotency key."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from pathlib import Path

import pytest

from wfkit import (
    Context,
    Engine,
    Retry,
    RunFailed,
    RunStatus,
    StepInfo,
    step,
    step_info,
    workflow,
)
from wfkit.engine.clock import ManualClock
from wfkit.engine.core.numbering import COMPENSATION_SEQ_BASE
from wfkit.testing import SimulatedCrash, TestWorkflowContext

seen: list[StepInfo | None] = []


@pytest.fixture(autouse=True)
def clear_seen() -> None:
    seen.clear()


@step(retry=Retry(attempts=3, backoff="fixed", initial=2.0))
def flaky_charge(order_id: str) -> str:
    info = step_info()
    seen.append(info)
    assert info is not None
    if not info.last_attempt:
        raise ConnectionError(f"gateway down on attempt {info.attempt}")
    return f"txn for {info.idempotency_key}"


@workflow(name="checkout")
def checkout(ctx: Context, order_id: str) -> str:
    seen.append(step_info())  # the workflow body is not a step
    return ctx.step(flaky_charge, order_id, name="charge")


def test_each_attempt_sees_its_number_and_the_same_key(engine: Engine) -> None:
    assert engine.start(checkout, "o-1", workflow_id="run-1").result(timeout=5) == "txn for run-1:1"
    infos = [i for i in seen if i is not None]
    assert [i.attempt for i in infos] == [1, 2, 3]
    assert {
        (i.run_id, i.workflow, i.seq, i.name, i.kind, i.attempts, i.idempotency_key) for i in infos
    } == {("run-1", "checkout", 1, "charge", "step", 3, "run-1:1")}
    assert [i.last_attempt for i in infos] == [False, False, True]
    assert seen[0] is None  # from the body
    assert step_info() is None  # and outside any run


def test_a_plain_call_outside_a_workflow_has_no_step_info() -> None:
    @step
    def plain() -> StepInfo | None:
        return step_info()

    assert plain() is None


@step(retry=Retry(attempts=2, backoff="fixed", initial=600.0, max_delay=600.0))
def slow_retry() -> int:
    info = step_info()
    assert info is not None
    seen.append(info)
    if info.attempt == 1:
        raise TimeoutError("first try")
    return info.attempt


@workflow(name="slow")
def uses_slow_retry(ctx: Context) -> int:
    return ctx.step(slow_retry)


def test_the_attempt_number_survives_a_new_worker(tmp_path: Path) -> None:
    """The first attempt fails and the run parks for ten minutes; another engine on the same
    file (as after a restart) runs attempt 2, and the step is told so."""
    url = f"sqlite:///{tmp_path / 'wf.db'}"
    clock = ManualClock()
    with Engine(url, clock=clock, rng=random.Random(1)) as first:
        first.start(uses_slow_retry, workflow_id="s")
        assert first.work_once() is True
        assert first.get_run("s").status == RunStatus.SLEEPING
    clock.advance(601)
    with Engine(url, clock=clock, workflows=[uses_slow_retry]) as second:
        assert second.result("s", timeout=5) == 2
    assert [(i.attempt, i.idempotency_key) for i in seen] == [(1, "s:1"), (2, "s:1")]


@step
async def async_step() -> StepInfo | None:
    await asyncio.sleep(0)
    return step_info()


@step(timeout=5)
def step_with_timeout() -> StepInfo | None:
    return step_info()  # runs in its own thread, so a late result can be dropped


@step
def parallel_part(n: int) -> StepInfo | None:
    return step_info()


@workflow(name="shapes")
async def shapes(ctx: Context) -> list[int]:
    a = await ctx.step(async_step)
    b = await ctx.step(step_with_timeout)
    c, d = await ctx.parallel(ctx.call(parallel_part, 1), ctx.call(parallel_part, 2))
    for info in (a, b, c, d):
        seen.append(info)
    return [info.seq if info else 0 for info in (a, b, c, d)]


def test_async_timed_and_parallel_steps_see_their_own_step(engine: Engine) -> None:
    assert engine.start(shapes, workflow_id="p").result(timeout=5) == [1, 2, 3, 4]
    assert [(i.name, i.attempt) for i in seen if i] == [
        ("async_step", 1),
        ("step_with_timeout", 1),
        ("parallel_part", 1),
        ("parallel_part", 1),
    ]


undone: list[StepInfo | None] = []


@step
def reserve(item: str) -> str:
    return f"r-{item}"


@reserve.compensation
def release(item: str, reservation: str) -> None:
    undone.append(step_info())


@step(retry=Retry(attempts=1))
def always_fails() -> None:
    raise ValueError("out of stock")


@workflow(name="reserve-then-fail")
def reserve_then_fail(ctx: Context) -> None:
    ctx.step(reserve, "book")
    ctx.step(always_fails)


def test_a_compensation_knows_it_is_one(engine: Engine) -> None:
    undone.clear()
    handle = engine.start(reserve_then_fail, workflow_id="c")
    with pytest.raises(RunFailed):
        handle.result(timeout=5)
    assert handle.status() == RunStatus.COMPENSATED
    [info] = undone
    assert info is not None
    # A compensation's operation carries the name of the step it undoes.
    assert (info.kind, info.name, info.attempt, info.run_id) == ("compensation", "reserve", 1, "c")
    # compensations are numbered apart from the body, which can never reach their numbers
    assert info.seq == COMPENSATION_SEQ_BASE + 1


def test_a_crash_in_the_middle_reruns_the_attempt_with_the_same_key() -> None:
    """A crash after the step's effect and before its checkpoint runs the step again with the
    same attempt number and key: what lets the service on the other end deduplicate it."""
    ctx = TestWorkflowContext()
    ctx.crash_after("charge")  # the name the workflow gives it
    with pytest.raises(SimulatedCrash):
        ctx.run(checkout, "o-2")
    assert ctx.resume(downtime=timedelta(minutes=1)).startswith("txn for ")
    attempts = [(i.attempt, i.idempotency_key) for i in seen if i is not None]
    key = attempts[0][1]
    assert attempts == [(1, key), (1, key), (2, key), (3, key)]
