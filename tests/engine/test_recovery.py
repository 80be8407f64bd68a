"""Leases, takeover after a crash, at-most-once steps, crash loops, step timeouts."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from wfkit import Context, Retry, step, workflow
from wfkit.engine.status import OpStatus, RunStatus
from wfkit.engine.store.base import Checkpoint, LeaseLost
from wfkit.errors import RunFailed, StepInterrupted

effects: list[str] = []


@pytest.fixture(autouse=True)
def _reset():
    effects.clear()


class Die(BaseException):
    """Stands in for the process dying mid-step (nothing below catches a BaseException)."""


die_in: set[str] = set()


@step(at_most_once=True)
def wire_money(amount: int) -> str:
    effects.append(f"wire {amount}")
    if "wire" in die_in:
        die_in.discard("wire")
        raise Die()
    return "wired"


@step
def log_it(text: str) -> None:
    effects.append(text)
    if text in die_in:
        die_in.discard(text)
        raise Die()


@workflow
def payout(ctx: Context, amount: int) -> str:
    try:
        return ctx.step(wire_money, amount)
    except StepInterrupted:
        ctx.step(log_it, "check the bank before wiring again")
        return "needs a person"


def _crash(engine, run_id: str) -> None:
    with pytest.raises(Die):
        engine.work_once(run_id=run_id)


def test_an_interrupted_at_most_once_step_is_failed_not_run_twice(make_engine):
    engine = make_engine(lease_seconds=10)
    engine.start(payout, 100, workflow_id="p1")
    die_in.add("wire")
    _crash(engine, "p1")
    (op,) = engine.operations("p1")
    assert op.status == OpStatus.STARTED and op.attempt == 1  # committed before the effect
    assert engine.work_once() is False  # the dead worker's lease still holds
    engine.clock.advance(11)
    assert engine.result("p1", timeout=5) == "needs a person"
    assert effects == ["wire 100", "check the bank before wiring again"]
    run = engine.get_run("p1")
    assert run.recoveries == 1
    assert [e.type for e in engine.history("p1")].count("run_recovered") == 1


@workflow
def chatty(ctx: Context) -> None:
    ctx.step(log_it, "one")
    ctx.step(log_it, "two")


def test_an_at_least_once_step_reruns_after_a_crash_and_committed_steps_do_not(make_engine):
    engine = make_engine(lease_seconds=10)
    engine.start(chatty, workflow_id="c2")
    die_in.add("two")
    _crash(engine, "c2")
    assert effects == ["one", "two"]
    assert [op.status for op in engine.operations("c2")] == [OpStatus.COMPLETED]
    engine.clock.advance(11)
    engine.result("c2", timeout=5)
    assert effects == ["one", "two", "two"]  # only the in-flight step ran again
    assert engine.get_run("c2").recoveries == 1


def test_a_crash_loop_stops_with_a_clear_status(make_engine):
    engine = make_engine(lease_seconds=1, max_recoveries=2)
    engine.start(chatty, workflow_id="loop")
    for _ in range(3):
        die_in.add("one")
        _crash(engine, "loop")
        engine.clock.advance(2)
    assert engine.work_once(run_id="loop") is True
    run = engine.get_run("loop")
    assert run.status == RunStatus.FAILED
    with pytest.raises(RunFailed) as failed:
        engine.result("loop", timeout=1)
    assert failed.value.error["type"] == "CrashLoop"
    engine.retry("loop")
    assert engine.get_run("loop").recoveries == 0
    engine.result("loop", timeout=5)


def test_a_stale_worker_cannot_write_after_its_lease_was_taken(make_engine):
    engine = make_engine(lease_seconds=5)
    engine.start(chatty, workflow_id="fenced")
    now = engine.clock.now()
    (claimed,) = engine.store.claim("old-worker", now, now + timedelta(seconds=5), run_id="fenced")
    engine.clock.advance(6)
    now = engine.clock.now()
    assert engine.store.claim("new-worker", now, now + timedelta(seconds=5), run_id="fenced")
    with pytest.raises(LeaseLost):
        engine.store.commit(
            "fenced", Checkpoint(run={"updated_at": now}), lease_owner="old-worker", now=now
        )


@step(timeout=0.05, retry=Retry(attempts=1))
def hangs() -> None:
    threading.Event().wait(2)


@step(timeout=0.05, retry=Retry(attempts=1))
async def hangs_async() -> None:
    await asyncio.sleep(2)


@workflow
def times_out(ctx: Context) -> None:
    ctx.step(hangs)


@workflow
async def times_out_async(ctx: Context) -> None:
    await ctx.step(hangs_async)


@pytest.mark.parametrize("wf", [times_out, times_out_async])
def test_step_timeouts_fail_the_attempt(engine, wf):
    with pytest.raises(RunFailed) as failed:
        engine.start(wf, workflow_id="t").result(timeout=5)
    assert failed.value.error["type"] == "StepTimeout"
    (op,) = engine.operations("t")
    assert op.status == OpStatus.FAILED
