"""Engine invariants under crashes, cancels and store faults (issue: five violations found by a
torture run). In-process: a crash is a ``BaseException`` out of a step (nothing in the engine
catches it, as nothing survives a SIGKILL); store faults come from a wrapper that fails the
real store's writes, from SQLite's own page limit (a full disk) and from a second connection
holding SQLite's write lock. The same scenarios with real worker processes and SIGKILL are in
the torture tests.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest

from wfkit import Context, Engine, step, workflow
from wfkit.engine.core.numbering import COMPENSATION_SEQ_BASE
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import Checkpoint, OperationRecord
from wfkit.engine.store.memory import MemoryStore
from wfkit.engine.store.sqlite import SqliteStore
from wfkit.errors import RunFailed, StoreError

effects: list[str] = []
die_in: set[str] = set()
fail_once: set[str] = set()


@pytest.fixture(autouse=True)
def _reset():
    effects.clear()
    die_in.clear()
    fail_once.clear()


class Die(BaseException):
    """The process dying mid-step."""


def _effect(text: str) -> None:
    effects.append(text)
    if text in die_in:
        die_in.discard(text)
        raise Die()
    if text in fail_once:
        fail_once.discard(text)
        raise ConnectionError(f"{text}: try again")


@step
def book_hotel(city: str) -> str:
    _effect(f"hotel {city}")
    return f"H-{city}"


@book_hotel.compensation
def cancel_hotel(city: str, booking: str) -> None:
    _effect(f"cancel {booking}")


@step
def book_flight(city: str) -> str:
    _effect(f"flight {city}")
    return f"F-{city}"


@book_flight.compensation
def cancel_flight(city: str, booking: str) -> None:
    _effect(f"cancel {booking}")


@workflow
def trip(ctx: Context, city: str) -> list[str]:
    hotel = ctx.step(book_hotel, city)
    flight = ctx.step(book_flight, city)
    return [hotel, flight]


def _crash(engine: Engine, run_id: str) -> None:
    with pytest.raises(Die):
        engine.work_once(run_id=run_id)


def _comps(engine: Engine, run_id: str) -> list[OperationRecord]:
    return [op for op in engine.operations(run_id) if op.kind == OpKind.COMPENSATION]


# -- compensations have numbers of their own ---------------------------------------------------
def test_a_crash_while_a_cancel_compensates_does_not_meet_the_in_flight_step(make_engine):
    # The hotel is booked, the flight step dies in flight (never recorded), the run is
    # cancelled. Its compensation fails once and parks, so the next activation replays the
    # body past the flight's slot: the compensation's record must not be found there.
    engine = make_engine(lease_seconds=10, inline_wait=0)
    engine.start(trip, "rome", workflow_id="t1")
    die_in.add("flight rome")
    _crash(engine, "t1")
    engine.cancel("t1", drive=False)
    engine.clock.advance(11)
    fail_once.add("cancel H-rome")
    with pytest.raises(RunFailed):
        engine.result("t1", timeout=5)
    assert engine.get_run("t1").status == RunStatus.CANCELLED
    assert effects == ["hotel rome", "flight rome", "cancel H-rome", "cancel H-rome"]
    [undo] = _comps(engine, "t1")
    assert (undo.seq, undo.compensates, undo.status, undo.attempt) == (
        COMPENSATION_SEQ_BASE + 1,
        1,
        OpStatus.COMPLETED,
        2,
    )
    # its source is the workflow line that booked the hotel, not the engine's caller
    assert undo.source is not None and undo.source.startswith(__file__)
    assert undo.source == engine.operations("t1")[0].source


def test_a_compensation_stored_in_a_body_slot_by_an_older_release_replays(make_engine):
    # Stores written before compensations had their own numbers may hold one in the slot of
    # the step that was in flight: the body's replay treats that slot as unrecorded.
    engine = make_engine(lease_seconds=10)
    engine.start(trip, "oslo", workflow_id="old")
    die_in.add("flight oslo")
    _crash(engine, "old")
    [hotel] = engine.operations("old")
    now = engine.clock.now()
    legacy = OperationRecord(
        "old",
        2,
        OpKind.COMPENSATION,
        "book_hotel",
        OpStatus.RETRYING,
        attempt=1,
        started_at=now,
        error='{"type": "ConnectionError"}',
        wake_at=now,
        compensates=1,
    )
    engine.store.commit(
        "old",
        Checkpoint(
            run={"status": RunStatus.COMPENSATING, "cancel_requested": True}, operations=[legacy]
        ),
    )
    engine.clock.advance(11)
    with pytest.raises(RunFailed):
        engine.result("old", timeout=5)
    assert engine.get_run("old").status == RunStatus.CANCELLED
    assert effects == ["hotel oslo", "flight oslo", "cancel H-oslo"]
    assert [(op.seq, op.status) for op in _comps(engine, "old")] == [(2, OpStatus.COMPLETED)]


def test_retry_of_a_run_whose_compensation_replay_failed_goes_back_to_compensating(make_engine):
    engine = make_engine()
    engine.start(trip, "kyiv", workflow_id="r1")
    die_in.add("flight kyiv")
    _crash(engine, "r1")
    engine.cancel("r1", drive=False)
    engine.clock.advance(31)
    original = trip.fn
    try:
        trip.fn = lambda ctx, city: ctx.step(book_flight, city)  # the code changed under it
        engine.work_once(run_id="r1")
    finally:
        trip.fn = original
    run = engine.get_run("r1")
    assert run.status == RunStatus.FAILED and "NonDeterminism" in (run.error or "")
    engine.retry("r1")
    assert engine.get_run("r1").status == RunStatus.COMPENSATING
    with pytest.raises(RunFailed):
        engine.result("r1", timeout=5)
    assert engine.get_run("r1").status == RunStatus.CANCELLED
    assert effects == ["hotel kyiv", "flight kyiv", "cancel H-kyiv"]


# -- a parallel group replays all its calls ----------------------------------------------------
@workflow
def two_at_once(ctx: Context) -> list[str]:
    return ctx.parallel(ctx.call(book_flight, "lima"), ctx.call(book_hotel, "lima"))


def test_completed_calls_of_a_parallel_group_are_compensated_after_a_crash(make_engine):
    engine = make_engine(lease_seconds=10)
    engine.start(two_at_once, workflow_id="p1")
    die_in.add("flight lima")  # the first call dies in flight; the second completes
    _crash(engine, "p1")
    assert [(op.seq, op.status) for op in engine.operations("p1")] == [(2, OpStatus.COMPLETED)]
    engine.cancel("p1", drive=False)
    engine.clock.advance(11)
    with pytest.raises(RunFailed):
        engine.result("p1", timeout=5)
    assert engine.get_run("p1").status == RunStatus.CANCELLED
    assert sorted(effects) == ["cancel H-lima", "flight lima", "hotel lima"]
    assert [(c.compensates, c.status) for c in _comps(engine, "p1")] == [(2, OpStatus.COMPLETED)]


def test_parallel_calls_record_where_each_was_written_and_their_undoing_says_so(make_engine):
    engine = make_engine()
    engine.start(two_at_once, workflow_id="p2")
    assert engine.result("p2", timeout=5) == ["F-lima", "H-lima"]
    line = two_at_once.fn.__code__.co_firstlineno + 2  # the ctx.parallel(ctx.call(...)) line
    assert [op.source for op in engine.operations("p2")] == [f"{__file__}:{line}"] * 2


# -- a cancel that arrives late still wins over completing ---------------------------------------
CANCEL: dict[str, Any] = {}


@step
def last_step(order_id: str) -> str:
    _effect(f"last {order_id}")
    if order_id in CANCEL:  # someone cancels the run while its last step runs
        CANCEL.pop(order_id)()
    return f"L-{order_id}"


@last_step.compensation
def undo_last(order_id: str, result: str) -> None:
    _effect(f"undo {result}")


@workflow
def one_more(ctx: Context, order_id: str) -> str:
    ctx.step(book_hotel, order_id)
    return ctx.step(last_step, order_id)


@pytest.mark.parametrize("compensate", [True, False])
def test_a_cancel_during_the_last_step_is_obeyed_with_its_own_compensate(make_engine, compensate):
    engine = make_engine()
    engine.start(one_more, "bonn", workflow_id="l1")
    CANCEL["bonn"] = lambda: engine.cancel("l1", compensate=compensate, drive=False)
    with pytest.raises(RunFailed):
        engine.result("l1", timeout=5)
    assert engine.get_run("l1").status == RunStatus.CANCELLED
    undone = ["undo L-bonn", "cancel H-bonn"] if compensate else []
    assert effects == ["hotel bonn", "last bonn", *undone]


class CancelsBeforeCompleting:
    """A store on which a cancel request lands just before the run's completing commit: after
    the last step's checkpoint read the flag, before the run's own last write."""

    def __init__(self, inner: Any, cancel: Any) -> None:
        self._inner, self._cancel = inner, cancel
        self.url = inner.url

    def commit(self, run_id: str, checkpoint: Checkpoint, **kwargs: Any) -> bool:
        if checkpoint.run.get("status") == RunStatus.COMPLETED and self._cancel is not None:
            cancel, self._cancel = self._cancel, None
            cancel()
        return self._inner.commit(run_id, checkpoint, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_cancel_that_lands_before_the_completing_write_wins(kind, tmp_path):
    inner = MemoryStore() if kind == "memory" else SqliteStore(f"sqlite:///{tmp_path}/c.db")
    other = Engine(inner)  # another process's `wfkit cancel`
    store = CancelsBeforeCompleting(inner, lambda: other.cancel("c1", drive=False))
    engine = Engine(store)
    engine.start(trip, "riga", workflow_id="c1")
    with pytest.raises(RunFailed):
        engine.result("c1", timeout=5)
    assert engine.get_run("c1").status == RunStatus.CANCELLED
    assert effects == ["hotel riga", "flight riga", "cancel F-riga", "cancel H-riga"]
    types = [e.type for e in engine.history("c1")]
    assert "run_completed" not in types and types[-1] == "run_cancelled"


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_two_cancels_at_the_same_moment_write_one_request(kind, tmp_path):
    inner = MemoryStore() if kind == "memory" else SqliteStore(f"sqlite:///{tmp_path}/c.db")
    first, second = Engine(inner), Engine(inner)
    first.start(trip, "kiel", workflow_id="c2")

    class Interleaved:  # both read "not requested", then the first one writes
        url = inner.url

        def commit(self, run_id: str, checkpoint: Checkpoint, **kwargs: Any) -> bool:
            assert first.cancel("c2", compensate=False, drive=False) is True
            return inner.commit(run_id, checkpoint, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

    late = Engine(Interleaved())
    assert late.cancel("c2", compensate=True, drive=False) is False
    types = [e.type for e in first.history("c2")]
    assert types.count("cancel_requested") == 1
    assert first.get_run("c2").compensate_on_cancel is False  # the first request stands
    second.close()


# -- store faults are not the workflow's failure ------------------------------------------------
class FlakyStore:
    """A real store whose writes fail while ``down`` is set (as a lock timeout or a restart
    would make them fail), counting the failures."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.down = False
        self.failures = 0
        self.url = inner.url

    def _check(self) -> None:
        if self.down:
            self.failures += 1
            raise StoreError("database is locked by another process (simulated)")

    def commit(self, *args: Any, **kwargs: Any) -> bool:
        self._check()
        return self._inner.commit(*args, **kwargs)

    def claim(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        return self._inner.claim(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@step
def flaky_charge(order: str) -> str:
    _effect(f"charge {order}")
    if FLAKY.get("store") is not None and FLAKY["store"].failures == 0:
        FLAKY["store"].down = True  # the store fails right after the step's effect
    return f"T-{order}"


@flaky_charge.compensation
def refund(order: str, txn: str) -> None:
    _effect(f"refund {txn}")


@step
def ship(order: str) -> str:
    _effect(f"ship {order}")
    return "shipped"


@workflow
def order(ctx: Context, order_id: str) -> str:
    ctx.step(flaky_charge, order_id)
    return ctx.step(ship, order_id)


FLAKY: dict[str, FlakyStore] = {}


@pytest.fixture(params=["memory", "sqlite"])
def flaky(request: pytest.FixtureRequest, tmp_path):
    store = FlakyStore(
        MemoryStore()
        if request.param == "memory"
        else SqliteStore(f"sqlite:///{tmp_path}/flaky.db")
    )
    FLAKY["store"] = store
    yield store
    FLAKY.clear()


class Healer:
    """Brings the store back after ``after`` seconds of the engine's (virtual) clock."""

    def __init__(self, engine: Engine, store: FlakyStore, after: float) -> None:
        self.engine, self.store, self.after = engine, store, after
        self.start: Any = None
        original = engine.clock.sleep

        def sleep(seconds: float) -> None:
            original(seconds)
            if self.store.down:
                self.start = self.start or engine.clock.now()
                if (engine.clock.now() - self.start).total_seconds() >= self.after:
                    self.store.down = False

        engine.clock.sleep = sleep  # type: ignore[method-assign]


def test_a_checkpoint_that_fails_for_a_while_is_retried_and_the_run_completes(flaky):
    from wfkit.engine.clock import ManualClock

    engine = Engine(flaky, clock=ManualClock(), lease_seconds=30)
    Healer(engine, flaky, after=7)
    assert engine.start(order, "o-1", workflow_id="o-1").result(timeout=5) == "shipped"
    assert effects == ["charge o-1", "ship o-1"]  # nothing ran twice, nothing undone
    assert flaky.failures >= 3
    [fault] = [e for e in engine.history("o-1") if e.type == "store_fault"]
    assert fault.data["during"] == "checkpointing step 'flaky_charge' (#1)"
    assert fault.data["attempts"] == flaky.failures and fault.data["waited_seconds"] >= 7
    assert "database is locked" in fault.data["error"]


def test_a_store_down_longer_than_the_lease_releases_the_run_which_resumes_later(flaky):
    from wfkit.engine.clock import ManualClock

    engine = Engine(flaky, clock=ManualClock(), lease_seconds=5)
    Healer(engine, flaky, after=8)  # past the lease: the activation gives up at 5 s
    assert engine.start(order, "o-2", workflow_id="o-2").result(timeout=5) == "shipped"
    # the charge's checkpoint was lost, so it ran again (at least once); nothing was undone
    assert effects == ["charge o-2", "charge o-2", "ship o-2"]
    run = engine.get_run("o-2")
    assert run.status == RunStatus.COMPLETED and run.recoveries == 1
    types = [e.type for e in engine.history("o-2")]
    assert "compensation_started" not in types
    assert "run_recovered" in types or "run_released" in types


@workflow
def slow_order(ctx: Context, order_id: str) -> str:
    ctx.step(book_hotel, order_id)
    return ctx.step(ship, order_id)


@step
def scan(order_id: str) -> str:
    _effect(f"scan {order_id}")
    return "x" * 200_000  # a result that needs new pages in the database


@workflow
def scanned_order(ctx: Context, order_id: str) -> str:
    ctx.step(scan, order_id)
    return ctx.step(ship, order_id)


def test_a_full_disk_stops_the_run_without_compensating_and_it_resumes(tmp_path):
    from wfkit.engine.clock import ManualClock

    engine = Engine(
        f"sqlite:///{tmp_path}/full.db", clock=ManualClock(), lease_seconds=5, max_recoveries=2
    )
    engine.start(scanned_order, "o-3", workflow_id="o-3")
    engine.start(scanned_order, "o-4", workflow_id="o-4")
    conn = engine.store._conn  # SQLite's own limit: writes that grow the file fail (FULL)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")
    assert engine.work_once(run_id="o-3")
    run = engine.get_run("o-3")
    assert run.status == RunStatus.PENDING and run.lease_owner is None and run.recoveries == 1
    [released] = [e for e in engine.history("o-3") if e.type == "run_released"]
    assert "disk is full" in released.data["reason"]
    conn.execute("PRAGMA max_page_count=1073741823")  # space is back
    engine.clock.advance(6)
    assert engine.result("o-3", timeout=5) == "shipped"
    # the scan's checkpoint never made it, so it ran again; nothing was undone
    assert effects == ["scan o-3", "scan o-3", "ship o-3"]

    effects.clear()  # a disk that stays full: the run ends FAILED, not undone
    # (room for a few small writes, so the engine can record why; never for the scan's result)
    conn.execute(f"PRAGMA max_page_count={conn.execute('PRAGMA page_count').fetchone()[0] + 8}")
    with pytest.raises(RunFailed):
        engine.result("o-4", timeout=5)
    run = engine.get_run("o-4")
    assert run.status == RunStatus.FAILED and "the store failed 3 times" in (run.error or "")
    assert effects == ["scan o-4"] * 3
    conn.execute("PRAGMA max_page_count=1073741823")
    engine.retry("o-4")  # a person frees space and retries: it completes
    assert engine.result("o-4", timeout=5) == "shipped"


def test_a_real_sqlite_lock_held_past_the_busy_timeout_does_not_fail_healthy_runs(tmp_path):
    url = f"sqlite:///{tmp_path}/locked.db?timeout=0.2"
    engine = Engine(url, lease_seconds=10)
    handles = [engine.start(slow_order, f"o-{i}", workflow_id=f"o-{i}") for i in range(6)]
    held = threading.Event()

    def hold_the_lock() -> None:
        other = sqlite3.connect(f"{tmp_path}/locked.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(1.5)  # far past the store's 0.2 s busy timeout
        other.execute("COMMIT")
        other.close()

    for handle in handles[:2]:
        assert handle.result(timeout=10) == "shipped"
    locker = threading.Thread(target=hold_the_lock)
    locker.start()
    held.wait(5)
    try:
        results = [handle.result(timeout=30) for handle in handles[2:]]
    finally:
        locker.join()
    assert results == ["shipped"] * 4
    assert all(engine.get_run(f"o-{i}").status == RunStatus.COMPLETED for i in range(6))
    assert not [e for e in effects if e.startswith("cancel")]
    engine.close()


# -- workers outlive store outages ----------------------------------------------------------------
def test_a_worker_waits_out_a_failing_store_and_goes_on(flaky):
    from wfkit.engine.clock import ManualClock

    engine = Engine(flaky, clock=ManualClock(), lease_seconds=30, workflows=[order])
    engine.start(order, "o-4", workflow_id="o-4")
    FLAKY.clear()  # no fault from inside the step: the store fails at claims
    flaky.down = True
    told: list[float] = []
    stop = threading.Event()

    def on_store_error(error: StoreError, pause: float) -> None:
        told.append(pause)
        if len(told) == 4:
            flaky.down = False

    def on_idle() -> None:
        if engine.get_run("o-4").status.terminal:
            stop.set()

    engine.run_worker(stop=stop, on_store_error=on_store_error, on_idle=on_idle)
    assert told == [0.5, 1.0, 2.0, 4.0]  # backoff, told each time
    assert engine.get_run("o-4").status == RunStatus.COMPLETED


def test_a_worker_says_when_a_running_activation_meets_an_outage_and_when_it_ends(flaky):
    """The outage is met inside an activation (its checkpoint is retried there), never by the
    claim loop: the worker still says, once, that the store failed, and once that it is back."""
    from wfkit.engine.clock import ManualClock

    engine = Engine(flaky, clock=ManualClock(), lease_seconds=30, workflows=[order])
    Healer(engine, flaky, after=7)
    engine.start(order, "o-5", workflow_id="o-5")
    told: list[tuple[str, float]] = []
    stop = threading.Event()

    def on_idle() -> None:
        if engine.get_run("o-5").status.terminal:
            stop.set()

    engine.run_worker(
        stop=stop,
        on_idle=on_idle,
        on_store_error=lambda error, pause: told.append((error.message, pause)),
        on_store_back=lambda seconds: told.append(("back", seconds)),
    )
    assert engine.get_run("o-5").status == RunStatus.COMPLETED
    assert flaky.failures >= 3  # retried, but told once
    assert [what for what, _ in told] == [
        "database is locked by another process (simulated)",
        "back",
    ]
    assert told[1][1] >= 7


def test_a_run_released_in_an_outage_is_not_taken_for_the_store_being_back(flaky):
    """The activation gives up after a lease and hands the run back while the store is still
    down: the worker must not say the store is back until a call really succeeds."""
    from wfkit.engine.clock import ManualClock

    engine = Engine(flaky, clock=ManualClock(), lease_seconds=5, workflows=[order])
    engine.start(order, "o-6", workflow_id="o-6")
    told: list[str] = []
    stop = threading.Event()

    def on_store_error(error: StoreError, pause: float) -> None:
        told.append("error")
        if told.count("error") == 3:  # the activation's fault, then two failed claims
            flaky.down = False

    def on_idle() -> None:
        if engine.get_run("o-6").status.terminal:
            stop.set()

    engine.run_worker(
        stop=stop,
        on_idle=on_idle,
        on_store_error=on_store_error,
        on_store_back=lambda seconds: told.append("back"),
    )
    assert engine.get_run("o-6").status == RunStatus.COMPLETED
    assert told == ["error", "error", "error", "back"]
    assert (
        "run_released" in [e.type for e in engine.history("o-6")]
        or engine.get_run("o-6").recoveries == 1
    )
