"""A pause reaches every shape of workflow the same way, on the memory store and SQLite: a
step that pauses its own run (a stand-in for `wfkit pause` arriving while it runs) is recorded,
and no later step starts until resume, in a plain body, inside ctx.parallel, and in an
``async def`` workflow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from wfkit import Context, step, workflow
from wfkit.engine.engine import Engine
from wfkit.engine.status import OpStatus, RunStatus

DONE: list[str] = []
ENGINES: list[Engine] = []  # the engine under test, for the step that pauses its run


@step
def pausing(run_id: str) -> str:
    DONE.append("pausing")
    ENGINES[-1].pause(run_id)
    return "p"


@step
def plain(tag: str) -> str:
    DONE.append(tag)
    return tag


@step
async def pausing_async(run_id: str) -> str:
    DONE.append("pausing")
    ENGINES[-1].pause(run_id)
    return "p"


@workflow
def body(ctx: Context) -> str:
    return ctx.step(pausing, ctx.workflow_id) + ctx.step(plain, "after")


@workflow
def fanned(ctx: Context) -> list[str]:
    first = ctx.parallel(ctx.call(pausing, ctx.workflow_id), ctx.call(plain, "beside"))
    return [*first, ctx.step(plain, "after")]


@workflow
async def awaited(ctx: Context) -> str:
    got = await ctx.step(pausing_async, ctx.workflow_id)
    return got + await ctx.step(plain, "after")


@pytest.mark.parametrize(
    ("wf", "steps", "result"),
    [
        (body, ["after", "pausing"], "pafter"),
        (fanned, ["after", "beside", "pausing"], ["p", "beside", "after"]),
        (awaited, ["after", "pausing"], "pafter"),
    ],
    ids=["body", "parallel", "async"],
)
def test_a_pause_during_a_step_stops_before_the_next_one(
    make_engine: Callable[..., Engine], wf: Any, steps: list[str], result: Any
) -> None:
    DONE.clear()
    engine = make_engine(workflows=[wf])
    ENGINES.append(engine)
    run_id = engine.start(wf, workflow_id=f"{wf.name}-1").id
    assert engine.work_once(run_id) is True
    run = engine.get_run(run_id)
    # "beside" runs in parallel with "pausing": it started before the pause, or it waits.
    assert "pausing" in DONE and "after" not in DONE
    assert run.paused and run.lease_owner is None
    assert run.status == RunStatus.RUNNING
    assert all(op.status == OpStatus.COMPLETED for op in engine.operations(run_id))
    assert engine.work_once() is False  # nobody takes it while paused
    engine.resume(run_id)
    assert engine.result(run_id) == result
    assert sorted(DONE) == steps  # each step once
