"""Pause and resume runs and workflows with a worker thread on a real SQLite file.

A step blocks on a threading.Event, so a test decides exactly when a pause arrives: between
steps (the run asleep) or while a step runs. Every step appends its name to a list, so "each
step executed once" is checked, not assumed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wfkit import Context, step, workflow
from wfkit.engine.engine import Engine
from wfkit.engine.progress import RunParked
from wfkit.engine.status import OpStatus, RunStatus
from wfkit.errors import InvalidRunState, RunFailed, UsageError

EXECUTED: list[str] = []
GATE = threading.Event()  # step "a" waits for it
IN_A = threading.Event()  # set while step "a" runs


@step
def a() -> str:
    EXECUTED.append("a")
    IN_A.set()
    assert GATE.wait(10), "the test never opened the gate"
    return "A"


@step
def b(x: str) -> str:
    EXECUTED.append("b")
    return x + "B"


@step
def c(x: str) -> str:
    EXECUTED.append("c")
    return x + "C"


@workflow
def three(ctx: Context) -> str:
    x = ctx.step(a)
    x = ctx.step(b, x)
    return ctx.step(c, x)


@workflow
def napping(ctx: Context) -> str:
    x = ctx.step(b, "")
    ctx.sleep(1.5)  # longer than inline_wait: the run parks SLEEPING
    return ctx.step(c, x)


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    EXECUTED.clear()
    GATE.clear()
    IN_A.clear()
    yield
    GATE.set()


class Seen:
    """An observer that keeps every progress event."""

    def __init__(self) -> None:
        self.events: list[object] = []

    def notify(self, event: object) -> None:
        self.events.append(event)


SEEN = Seen()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    SEEN.events.clear()
    with Engine(
        f"sqlite:///{tmp_path}/wf.db",
        workflows=[three, napping],
        inline_wait=0.5,
        lease_seconds=5,
        poll_interval=0.01,
        observer=SEEN,
    ) as e:
        yield e


@pytest.fixture
def worker(engine: Engine) -> Iterator[Callable[[], None]]:
    """Starts a worker thread on demand; stopped and joined after the test."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start() -> None:
        t = threading.Thread(
            target=engine.run_worker, kwargs={"stop": stop, "idle_interval": 0.02}, daemon=True
        )
        t.start()
        threads.append(t)

    yield start
    stop.set()
    GATE.set()
    for t in threads:
        t.join(10)


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def history_types(engine: Engine, run_id: str) -> list[str]:
    return [h.type for h in engine.history(run_id)]


def test_a_pause_during_a_step_records_it_and_starts_no_other(
    engine: Engine, worker: Callable[[], None]
) -> None:
    run_id = engine.start(three, workflow_id="r1").id
    worker()
    assert IN_A.wait(10)
    assert engine.pause(run_id) is True
    GATE.set()  # step a finishes after the pause arrived
    wait_for(lambda: "run_held" in history_types(engine, run_id))
    time.sleep(0.3)  # a worker that ignored the pause would start b in this time
    run = engine.get_run(run_id)
    assert EXECUTED == ["a"]
    assert [(op.name, op.status) for op in engine.operations(run_id)] == [("a", OpStatus.COMPLETED)]
    assert run.paused and run.status == RunStatus.RUNNING
    assert run.lease_owner is None  # let go of, not held by a spinning worker
    held = [h for h in engine.history(run_id) if h.type == "run_held"]
    assert len(held) == 1 and held[0].data["next_step"] == "b"
    assert held[0].data["reason"] == "run paused"
    parked = [e for e in SEEN.events if isinstance(e, RunParked) and e.run_id == run_id]
    assert [(e.status, e.reason) for e in parked] == [
        (RunStatus.RUNNING, "run paused: step 'b' waits for `wfkit resume`")
    ]

    engine.resume(run_id)
    assert engine.result(run_id, timeout=10, drive=False) == "ABC"
    assert EXECUTED == ["a", "b", "c"]
    types = history_types(engine, run_id)
    assert types.index("run_paused") < types.index("run_held") < types.index("run_resumed")


def test_a_run_paused_between_steps_sleeps_through_its_timer_and_goes_on_at_resume(
    engine: Engine, worker: Callable[[], None]
) -> None:
    run_id = engine.start(napping, workflow_id="r2").id
    worker()
    wait_for(lambda: engine.get_run(run_id).status == RunStatus.SLEEPING)
    assert engine.pause(run_id) is True
    assert engine.pause(run_id) is False  # already paused: nothing written
    time.sleep(2.0)  # the timer ends while paused
    run = engine.get_run(run_id)
    assert run.status == RunStatus.SLEEPING and EXECUTED == ["b"]
    assert history_types(engine, run_id).count("run_paused") == 1
    assert engine.store.next_wake() is None  # idle workers are not woken for it
    engine.resume(run_id)
    assert engine.result(run_id, timeout=10, drive=False) == "BC"
    assert EXECUTED == ["b", "c"]


def test_a_paused_workflow_queues_new_runs_and_holds_running_ones(
    engine: Engine, worker: Callable[[], None]
) -> None:
    first = engine.start(three, workflow_id="w1").id
    worker()
    assert IN_A.wait(10)
    assert engine.pause_workflow("three") is True
    assert engine.pause_workflow("three") is False
    second = engine.start(three, workflow_id="w2").id  # created while paused: it waits
    GATE.set()
    wait_for(lambda: "run_held" in history_types(engine, first))
    time.sleep(0.3)
    assert EXECUTED == ["a"]
    assert engine.get_run(second).status == RunStatus.PENDING
    assert [h.data["reason"] for h in engine.history(first) if h.type == "run_held"] == [
        "workflow paused"
    ]
    assert list(engine.paused_workflows()) == ["three"]
    # The runs themselves are not paused: their workflow is.
    with pytest.raises(InvalidRunState) as caught:
        engine.resume(first)
    assert "--workflow" in (caught.value.hint or "")

    engine.resume_workflow("three")
    assert engine.result(first, timeout=10, drive=False) == "ABC"
    assert engine.result(second, timeout=10, drive=False) == "ABC"
    assert sorted(EXECUTED) == ["a", "a", "b", "b", "c", "c"]
    assert engine.paused_workflows() == {}


def test_bad_pause_and_resume_requests_change_nothing(engine: Engine) -> None:
    GATE.set()
    run_id = engine.start(three, workflow_id="done").id
    assert engine.result(run_id) == "ABC"
    before = engine.history(run_id)
    with pytest.raises(InvalidRunState) as finished:
        engine.pause(run_id)
    assert finished.value.status == "COMPLETED"
    with pytest.raises(InvalidRunState):
        engine.resume(run_id)
    with pytest.raises(UsageError):
        engine.resume_workflow("three")  # not paused
    with pytest.raises(UsageError):
        engine.pause_workflow("")
    assert engine.history(run_id) == before
    assert engine.paused_workflows() == {}


def test_a_cancel_of_a_paused_run_waits_for_resume_unless_forced(engine: Engine) -> None:
    GATE.set()
    waiting = engine.start(three, workflow_id="p1").id
    engine.pause(waiting)
    assert engine.cancel(waiting, drive=True) is True
    assert engine.get_run(waiting).status == RunStatus.PENDING  # no worker takes it
    engine.resume(waiting)
    with pytest.raises(RunFailed, match="CANCELLED"):
        engine.result(waiting, timeout=10)
    assert engine.get_run(waiting).status == RunStatus.CANCELLED

    forced = engine.start(three, workflow_id="p2").id
    engine.pause(forced)
    assert engine.cancel(forced, force=True) is True
    run = engine.get_run(forced)
    assert (run.status, run.paused) == (RunStatus.CANCELLED, False)
    assert EXECUTED == []


def test_cancel_force_fences_off_the_worker_holding_the_run(
    engine: Engine, worker: Callable[[], None]
) -> None:
    run_id = engine.start(three, workflow_id="f1").id
    worker()
    assert IN_A.wait(10)
    assert engine.get_run(run_id).lease_owner == engine.owner  # the worker holds it
    assert engine.cancel(run_id, force=True, drive=False) is True
    run = engine.get_run(run_id)
    assert (run.status, run.lease_owner, run.compensate_on_cancel) == (
        RunStatus.CANCELLED,
        None,
        False,
    )
    GATE.set()  # step a finishes its side effect; its checkpoint is fenced off
    time.sleep(0.5)
    assert EXECUTED == ["a"]
    assert engine.operations(run_id) == []  # a's result was discarded
    assert engine.get_run(run_id).status == RunStatus.CANCELLED
    assert [h.type for h in engine.history(run_id)][-1] == "run_cancelled"


def test_cancel_force_does_not_overwrite_a_run_that_completed_meanwhile(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run completes between cancel's read and its write: the read is stale (RUNNING),
    the forced cancel must find out and leave the completed run as it is."""
    GATE.set()
    run_id = engine.start(three, workflow_id="raced").id
    stale = engine.get_run(run_id)
    assert engine.result(run_id) == "ABC"
    reads = iter([stale])
    real = engine.get_run
    monkeypatch.setattr(engine, "get_run", lambda rid: next(reads, None) or real(rid))
    with pytest.raises(InvalidRunState) as ended:
        engine.cancel(run_id, force=True)
    assert ended.value.status == "COMPLETED"
    run = real(run_id)
    assert (run.status, run.result) == (RunStatus.COMPLETED, '"ABC"')
    assert "run_cancelled" not in history_types(engine, run_id)
