"""What replay compares beyond an operation's kind and name: the duration of the timer or
wait a run is parked on; not a fired timer's, not a step's arguments (docs/testing.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wfkit import Context, step, workflow
from wfkit.engine.engine import Engine
from wfkit.engine.history import History
from wfkit.engine.store.memory import MemoryStore
from wfkit.errors import NonDeterminismError
from wfkit.testing import TestWorkflowContext, replay


@step
def remind(user: str) -> str:
    return f"reminded {user}"


@workflow(name="reminder")
def reminder_v1(ctx: Context, user: str) -> str:
    ctx.sleep(timedelta(days=1))
    return ctx.step(remind, user)


@workflow(name="reminder")
def reminder_longer(ctx: Context, user: str) -> str:
    ctx.sleep(timedelta(days=2))
    return ctx.step(remind, user)


@workflow(name="reminder")
def reminder_other_args(ctx: Context, user: str) -> str:
    ctx.sleep(timedelta(days=1))
    return ctx.step(remind, user.upper())


@workflow(name="approval")
def approval_v1(ctx: Context) -> str:
    decision = ctx.wait_for_event("approval", timeout=timedelta(days=7))
    return "expired" if decision is None else "decided"


@workflow(name="approval")
def approval_split(ctx: Context) -> str:
    decision = ctx.wait_for_event("approval", timeout=timedelta(days=3))
    if decision is None:
        decision = ctx.wait_for_event("approval", timeout=timedelta(days=4))
    return "expired" if decision is None else "decided"


def parked(workflow, *args) -> History:
    """The history of a run parked on its first timer or wait (as exported in flight)."""
    store = MemoryStore()
    engine = Engine(store, workflows=[workflow])
    handle = engine.start(workflow, *args)
    engine.work_once()
    assert store.get_run(handle.id).status.value in ("SLEEPING", "WAITING")
    return History.from_store(store, handle.id)


def finished(workflow, *args) -> History:
    ctx = TestWorkflowContext()
    ctx.run(workflow, *args)
    return ctx.history


def test_a_changed_duration_of_the_timer_a_run_is_parked_on_diverges():
    with pytest.raises(NonDeterminismError) as diverged:
        replay(parked(reminder_v1, "ada"), reminder_longer)
    assert diverged.value.position == 1
    assert diverged.value.recorded.startswith("sleep 'sleep' for 86400s (the run is parked")
    assert diverged.value.current == "sleep 'sleep' for 172800s"


def test_a_split_wait_diverges_for_a_run_parked_on_the_wait():
    with pytest.raises(NonDeterminismError) as diverged:
        replay(parked(approval_v1), approval_split)
    assert "wait for event 'approval' for 604800s" in diverged.value.recorded


def test_the_same_durations_replay_a_parked_run():
    assert not replay(parked(reminder_v1, "ada"), reminder_v1).reached_end
    assert not replay(parked(approval_v1), approval_v1).reached_end


def test_a_fired_timers_duration_and_a_steps_arguments_are_history():
    done = finished(reminder_v1, "ada")
    assert replay(done, reminder_longer).reached_end
    assert replay(done, reminder_other_args).reached_end
