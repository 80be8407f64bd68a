"""``step_info().lease_lost()``: a running step learns that its worker lost the run (issue 10,
item 8). In-process here (a second owner steals the lease through the store); with real
worker processes paused by SIGSTOP in test_reliability_processes.py."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

from wfkit import Context, Engine, step, step_info, workflow
from wfkit.engine.clock import ManualClock
from wfkit.engine.status import OpStatus
from wfkit.engine.store.memory import MemoryStore
from wfkit.engine.worker import Heartbeat

observed: list[bool] = []
inside = threading.Event()


@step
def chunks(n: int) -> str:
    """Polls lease_lost() between chunks of work, as a long step should."""
    info = step_info()
    assert info is not None
    inside.set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if info.lease_lost():
            observed.append(True)
            return "partial"  # must never be recorded
        if n == 0:
            observed.append(False)
            return "all done"
        time.sleep(0.01)
    observed.append(False)
    return "gave up waiting"


@workflow
def long_job(ctx: Context, n: int) -> str:
    return ctx.step(chunks, n)


def test_a_step_whose_lease_is_held_is_told_false() -> None:
    observed.clear()
    with Engine(MemoryStore(), clock=ManualClock()) as engine:
        assert engine.start(long_job, 0, workflow_id="j0").result(timeout=5) == "all done"
    assert observed == [False]


def test_a_step_learns_its_run_was_taken_over_and_its_result_is_never_recorded() -> None:
    observed.clear()
    inside.clear()
    store = MemoryStore()
    engine = Engine(store, lease_seconds=1)  # real time: the heartbeat beats every 1/3 s
    try:
        engine.start(long_job, 1, workflow_id="j1")
        worker = threading.Thread(target=engine.work_once, args=("j1",))
        worker.start()
        assert inside.wait(10)
        # Another worker whose clock says the lease expired takes the run (as a worker does
        # after this one was paused past its lease).
        later = datetime.now(timezone.utc) + timedelta(seconds=5)
        assert [r.id for r in store.claim("thief", later, later + timedelta(seconds=60))] == ["j1"]
        worker.join(20)
        assert not worker.is_alive()
    finally:
        engine.close()
    assert observed == [True]
    run = store.get_run("j1")
    assert run.lease_owner == "thief" and not run.status.terminal
    assert [op for op in store.operations("j1") if op.status == OpStatus.COMPLETED] == []
    assert "step_completed" not in [e.type for e in store.history("j1")]


class StillClock:
    """Real-time-like (not virtual) but moved by hand."""

    def __init__(self) -> None:
        self.at = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self.at


def test_a_lease_not_renewed_for_a_whole_lease_is_lost_for_good() -> None:
    clock = StillClock()
    beat = Heartbeat(MemoryStore(), clock, "w1", 30)  # type: ignore[arg-type]
    beat.add("r1", clock.at)
    assert not beat.lost("r1") and not beat.given_up("r1")
    clock.at += timedelta(seconds=30)
    assert not beat.lost("r1")  # valid up to and including its expiry
    clock.at += timedelta(seconds=1)
    assert beat.lost("r1") and beat.given_up("r1")
    clock.at -= timedelta(seconds=10)  # the verdict stands, whatever the clock does
    assert beat.lost("r1")
    beat.discard("r1")
    assert not beat.lost("r1") and not beat.given_up("r1")
    beat.stop()


def test_under_a_virtual_clock_only_the_store_says_a_lease_is_lost() -> None:
    clock = ManualClock()
    beat = Heartbeat(MemoryStore(), clock, "w1", 30)
    beat.add("r1", clock.now())
    clock.advance(3600)  # virtual time jumps; the thread beats in real time
    assert not beat.lost("r1")
    beat.stop()
