"""End-to-end workflows on PostgreSQL: steps, retries, compensation, events, lease takeover.

The engine suite (tests/engine) runs on memory and SQLite; these few runs show the engine and
the PostgreSQL store agree on the whole path, each engine opening its own connection pool on
a fresh schema, as separate machines would.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from wfkit import Context, Retry, step, workflow
from wfkit.engine.clock import ManualClock, OffsetClock
from wfkit.engine.engine import Engine
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.postgres import PostgresStore
from wfkit.errors import RunFailed

pytestmark = pytest.mark.postgres

ledger: list[str] = []
die_in: set[str] = set()
calls: dict[str, int] = {}


@pytest.fixture(autouse=True)
def _reset() -> None:
    ledger.clear()
    die_in.clear()
    calls.clear()


@pytest.fixture
def make_engine(postgres_database: Any) -> Iterator[Callable[..., Engine]]:
    """Engines on one fresh schema: each call is another worker on the same database. Their
    virtual clocks measure the leases too (``lease_clock="caller"``): the server's clock
    would not move when a test advances time."""
    url = postgres_database.new_url()
    engines: list[Engine] = []

    def make(**options: Any) -> Engine:
        options.setdefault("clock", ManualClock())
        options.setdefault("rng", random.Random(7))
        engine = Engine(PostgresStore(url, lease_clock="caller"), **options)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


class Die(BaseException):
    """Stands in for the process dying mid-step (nothing below catches a BaseException)."""


@step(retry=Retry(attempts=4, backoff="fixed", initial=2.0))
def flaky(name: str) -> str:
    calls[name] = calls.get(name, 0) + 1
    if calls[name] <= 2:
        raise ConnectionError(f"down #{calls[name]}")
    return f"{name} up"


@step
def record(text: str) -> str:
    ledger.append(text)
    if text in die_in:
        die_in.discard(text)
        raise Die()
    return text


@workflow
def pipeline(ctx: Context, name: str) -> list[str]:
    return [ctx.step(record, f"{name}:a"), ctx.step(flaky, name), ctx.step(record, f"{name}:b")]


def test_steps_and_retries(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine()
    start = engine.clock.now()
    assert engine.start(pipeline, "p", workflow_id="p1").result(timeout=10) == [
        "p:a",
        "p up",
        "p:b",
    ]
    ops = engine.operations("p1")
    assert [(o.name, o.status, o.attempt) for o in ops] == [
        ("record", OpStatus.COMPLETED, 1),
        ("flaky", OpStatus.COMPLETED, 3),
        ("record", OpStatus.COMPLETED, 1),
    ]
    assert engine.clock.now() - start >= timedelta(seconds=4)
    types = [e.type for e in engine.history("p1")]
    assert types.count("step_retrying") == 2 and types[-1] == "run_completed"
    assert [e.index for e in engine.history("p1")] == list(range(len(types)))


@step
def reserve(item: str) -> str:
    ledger.append(f"reserve {item}")
    return f"res-{item}"


@reserve.compensation
def unreserve(item: str, reservation: str) -> None:
    ledger.append(f"release {reservation}")


@step(retry=Retry(attempts=2, initial=0.1))
def ship(item: str) -> None:
    raise ConnectionError("no trucks")


@workflow
def order(ctx: Context, item: str) -> str:
    ctx.step(reserve, item)
    ctx.step(ship, item)
    return "shipped"


def test_a_failure_compensates(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine()
    with pytest.raises(RunFailed) as failed:
        engine.start(order, "book", workflow_id="o1").result(timeout=10)
    assert failed.value.status == "COMPENSATED"
    assert ledger == ["reserve book", "release res-book"]
    comps = [o for o in engine.operations("o1") if o.kind == OpKind.COMPENSATION]
    assert [(c.name, c.compensates, c.status) for c in comps] == [
        ("reserve", 1, OpStatus.COMPLETED)
    ]


@workflow
def approval(ctx: Context) -> str:
    decision = ctx.wait_for_event("approval", timeout=timedelta(days=7))
    if decision is None:
        return "timed out"
    return "approved" if decision["approved"] else "rejected"


def test_events_wake_a_waiting_run_and_early_ones_are_kept(
    make_engine: Callable[..., Engine],
) -> None:
    engine = make_engine()
    handle = engine.start(approval, workflow_id="a")
    engine.work_once()
    assert handle.status() == RunStatus.WAITING
    engine.send_event("a", "approval", {"approved": True})
    assert handle.result(timeout=10) == "approved"
    early = engine.start(approval, workflow_id="b")
    engine.send_event("b", "approval", {"approved": False})
    assert early.result(timeout=10) == "rejected"


@workflow
def two_notes(ctx: Context) -> list[str]:
    return [ctx.step(record, "first"), ctx.step(record, "second")]


def test_a_second_engine_takes_over_a_crashed_workers_run(
    make_engine: Callable[..., Engine],
) -> None:
    clock = ManualClock()
    crashed = make_engine(clock=clock, lease_seconds=10, owner="crashed")
    survivor = make_engine(clock=clock, lease_seconds=10, owner="survivor")
    survivor.register(two_notes)
    crashed.start(two_notes, workflow_id="t1")
    die_in.add("second")
    with pytest.raises(Die):
        crashed.work_once(run_id="t1")
    assert survivor.get_run("t1").lease_owner == "crashed"
    assert survivor.work_once() is False  # the dead worker's lease still holds
    clock.advance(11)
    assert survivor.result("t1", timeout=10) == ["first", "second"]
    assert ledger == ["first", "second", "second"]  # the first step is not run again
    run = survivor.get_run("t1")
    assert run.recoveries == 1 and run.status == RunStatus.COMPLETED
    assert [e.type for e in survivor.history("t1")].count("run_recovered") == 1


# -- one clock for leases (issue 10, item 7) ------------------------------------------------------
held = threading.Event()  # the first execution of `hold` is inside its body
let_go = threading.Event()  # ... until the test lets it go


@step
def hold(name: str) -> str:
    ledger.append(name)
    if len(ledger) == 1:
        held.set()
        assert let_go.wait(30), "the test never let the step go"
    return name


@workflow
def holder(ctx: Context) -> str:
    return ctx.step(hold, "held")


@pytest.mark.parametrize("lease_clock", ["server", "caller"])
def test_a_worker_whose_clock_runs_a_minute_ahead_cannot_take_a_live_run(
    postgres_database: Any, lease_clock: str
) -> None:
    """A normal worker holds a run (its 30 s lease is renewed as usual) while a worker whose
    clock is 60 s ahead looks for work. On the server's clock (the default) the lease is live
    for both. On the caller's clock the skewed worker sees it expired and takes the run over
    while its owner is still executing it: the failure the server's clock prevents."""
    held.clear()
    let_go.clear()
    url = postgres_database.new_url()
    owner = Engine(PostgresStore(url, lease_clock=lease_clock), workflows=[holder], owner="on-time")
    ahead = Engine(
        PostgresStore(url, lease_clock=lease_clock),
        workflows=[holder],
        clock=OffsetClock(60),
        owner="ahead",
    )
    try:
        owner.start(holder, workflow_id="h1")
        running = threading.Thread(target=owner.work_once, args=("h1",))
        running.start()
        try:
            assert held.wait(10), "the owner never started the step"
            taken = ahead.work_once()
        finally:
            let_go.set()
            running.join(30)
        run = owner.get_run("h1")
        recovered = [
            e.data.get("previous_owner") for e in owner.history("h1") if e.type == "run_recovered"
        ]
        if lease_clock == "server":
            assert taken is False and ahead.recover() == []
            assert recovered == [] and run.recoveries == 0
            assert run.status == RunStatus.COMPLETED and ledger == ["held"]
        else:
            assert taken is True and recovered == ["on-time"]
            assert ledger == ["held", "held"]  # executed twice, once in each worker
    finally:
        owner.close()
        ahead.close()
