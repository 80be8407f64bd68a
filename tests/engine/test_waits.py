"""Durable timers, events, child workflows, parallel calls, versioning, async workflows."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from wfkit import ChildWorkflowFailed, Context, step, workflow
from wfkit.engine.status import OpKind, RunStatus
from wfkit.errors import InvalidRunState, NonDeterminismError, RunFailed


@step
def stamp(label: str) -> str:
    return label


@workflow
def napper(ctx: Context) -> str:
    before = ctx.now()
    ctx.sleep(timedelta(hours=1))
    return str(ctx.now() - before)


def test_sleep_parks_the_run_and_wakes_it_when_due(engine):
    handle = engine.start(napper, workflow_id="n")
    assert engine.work_once() and handle.status() == RunStatus.SLEEPING
    assert engine.work_once() is False
    assert handle.result(timeout=5) == "1:00:00"


@workflow
def approval(ctx: Context) -> str:
    decision = ctx.wait_for_event("approval", timeout=timedelta(days=7))
    if decision is None:
        return "timed out"
    return "approved" if decision["approved"] else "rejected"


def test_an_event_wakes_a_waiting_run(engine):
    handle = engine.start(approval, workflow_id="a")
    engine.work_once()
    assert handle.status() == RunStatus.WAITING
    engine.send_event("a", "approval", {"approved": True})
    assert handle.result(timeout=5) == "approved"


def test_an_event_sent_before_the_wait_is_buffered(engine):
    handle = engine.start(approval, workflow_id="b")
    engine.send_event("b", "approval", {"approved": False})
    assert handle.result(timeout=5) == "rejected"


def test_a_wait_times_out_on_the_clock(engine):
    start = engine.clock.now()
    assert engine.start(approval, workflow_id="t").result(timeout=5) == "timed out"
    assert engine.clock.now() - start >= timedelta(days=7)


def test_events_for_finished_or_unknown_runs_are_refused(engine):
    engine.start(approval, workflow_id="d")
    engine.send_event("d", "approval", {"approved": True})
    engine.result("d", timeout=5)
    with pytest.raises(InvalidRunState):
        engine.send_event("d", "approval", {})
    from wfkit.errors import RunNotFound

    with pytest.raises(RunNotFound):
        engine.send_event("nope", "approval", {})


@workflow
def child_wf(ctx: Context, n: int) -> int:
    if n < 0:
        raise ValueError("negative")
    return ctx.step(stamp, str(n * 10)) and n * 10


@workflow
def parent_wf(ctx: Context, n: int) -> int:
    return ctx.child(child_wf, n) + 1


def test_a_child_workflow_runs_as_its_own_run(engine):
    assert engine.start(parent_wf, 4, workflow_id="p").result(timeout=5) == 41
    child = engine.get_run("p/1")
    assert child.parent_id == "p" and child.status == RunStatus.COMPLETED


def test_a_failed_child_fails_the_parent_step(engine):
    with pytest.raises(RunFailed) as failed:
        engine.start(parent_wf, -1, workflow_id="q").result(timeout=5)
    assert failed.value.error["type"] == "ChildWorkflowFailed"
    assert ChildWorkflowFailed.__name__ in failed.value.error["type"]


order_seen: list[str] = []
b_finished = threading.Event()


@step
def slow(label: str, after_b: bool) -> str:
    """Finishes after "b" when ``after_b`` (an event, not a sleep: load cannot reorder it)."""
    if after_b:
        b_finished.wait(5)
    order_seen.append(label)
    if label == "b":
        b_finished.set()
    return label


@workflow
def fan_out(ctx: Context) -> list:
    return ctx.parallel(
        ctx.call(slow, "a", True), ctx.call(slow, "b", False), ctx.call(slow, "c", True)
    )


def test_parallel_records_in_call_order_whatever_finishes_first(engine):
    order_seen.clear()
    b_finished.clear()
    assert engine.start(fan_out, workflow_id="f").result(timeout=5) == ["a", "b", "c"]
    assert [op.name for op in engine.operations("f")] == ["slow"] * 3
    assert order_seen[0] == "b"


@step
async def async_double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


@workflow
async def async_flow(ctx: Context, x: int) -> list:
    a = await ctx.step(async_double, x)
    b = await async_double(a)
    c = await ctx.step(stamp, "sync-in-async")
    pair = await ctx.parallel(ctx.call(async_double, 1), ctx.call(async_double, 2))
    await ctx.sleep(5)
    return [a, b, c, pair]


def test_async_workflows_and_steps(engine):
    assert engine.start(async_flow, 3, workflow_id="as").result(timeout=5) == [
        6,
        12,
        "sync-in-async",
        [2, 4],
    ]


versions = {"current": 1}


@workflow(name="versioned")
def versioned(ctx: Context) -> str:
    ctx.step(stamp, "one")
    if versions["current"] >= 2:
        if ctx.patched("extra-step"):
            ctx.step(stamp, "extra")
    ctx.wait_for_event("go")
    return "done"


@workflow(name="changed")
def changed(ctx: Context) -> str:
    ctx.step(stamp, "one")
    if versions["current"] >= 2:
        ctx.step(stamp, "unguarded")
    ctx.wait_for_event("go")
    return "done"


def test_patched_keeps_old_runs_on_the_old_path(engine):
    versions["current"] = 1
    old = engine.start(versioned, workflow_id="v-old")
    engine.work_once()
    versions["current"] = 2
    new = engine.start(versioned, workflow_id="v-new")
    engine.work_once(run_id="v-new")
    engine.send_event("v-old", "go")
    engine.send_event("v-new", "go")
    assert old.result(timeout=5) == new.result(timeout=5) == "done"
    assert [op.kind for op in engine.operations("v-old")] == [OpKind.STEP, OpKind.EVENT]
    assert [op.kind for op in engine.operations("v-new")] == [
        OpKind.STEP,
        OpKind.PATCH,
        OpKind.STEP,
        OpKind.EVENT,
    ]
    versions["current"] = 1


def test_an_unguarded_change_is_a_non_determinism_error_naming_the_position(engine):
    versions["current"] = 1
    handle = engine.start(changed, workflow_id="nd")
    engine.work_once()
    versions["current"] = 2
    engine.send_event("nd", "go")
    with pytest.raises(RunFailed) as failed:
        handle.result(timeout=5)
    versions["current"] = 1
    assert failed.value.status == "FAILED"
    error = failed.value.error
    assert error["type"] == "NonDeterminismError"
    assert error["fields"]["position"] == 2
    assert "event 'go'" in error["fields"]["recorded"]
    assert "step 'stamp'" in error["fields"]["current"]
    assert "test_waits.py" in error["fields"]["source"]
    assert NonDeterminismError.__name__ == error["type"]


@workflow
def helpers(ctx: Context) -> list:
    return [str(ctx.uuid4()), ctx.random(), ctx.now().isoformat()]


def test_deterministic_helpers_repeat_on_replay(engine):
    handle = engine.start(helpers, workflow_id="h")
    first = handle.result(timeout=5)
    from wfkit.engine.core.runner import execute

    run = engine.get_run("h")
    act = execute(engine.rt, run, helpers, lease_owner=None, operations=engine.operations("h"))
    assert act.outcome is None or act.outcome == RunStatus.COMPLETED
    assert first[0].count("-") == 4 and 0 <= first[1] < 1
