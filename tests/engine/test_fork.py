"""Forking a run: results before the chosen operation are kept, the rest runs on the current
code, once; the original is untouched."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfkit import Context, Engine, Retry, RunFailed, RunStatus, step, workflow
from wfkit.engine.history import History, replay
from wfkit.engine.store.memory import MemoryStore
from wfkit.engine.store.sqlite import SqliteStore
from wfkit.errors import UsageError

executed: list[str] = []
broken = {"ship": True}


@step
def reserve(order: str) -> str:
    executed.append(f"reserve {order}")
    return f"R-{order}"


@step
def charge(order: str, amount: int) -> str:
    executed.append(f"charge {order} {amount}")
    return f"C-{order}-{amount}"


@step(retry=Retry(attempts=1))  # fails for good at once
def ship(order: str) -> str:
    executed.append(f"ship {order}")
    if broken["ship"]:
        raise ValueError("label printer bug")
    return f"S-{order}"


@workflow(name="checkout")
def checkout(ctx: Context, order: str, amount: int = 10) -> dict[str, Any]:
    reservation = ctx.step(reserve, order)
    lucky = ctx.random()  # the fork replays with the same seed: the same value
    payment = ctx.step(charge, order, amount)
    return {"r": reservation, "c": payment, "s": ctx.step(ship, order), "lucky": lucky}


@pytest.fixture(params=["memory", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Any) -> Engine:
    store = (
        MemoryStore() if request.param == "memory" else SqliteStore(f"sqlite:///{tmp_path}/f.db")
    )
    executed.clear()
    broken["ship"] = True
    return Engine(store, workflows=[checkout])


def failed_run(engine: Engine) -> str:
    with pytest.raises(RunFailed):
        engine.start(checkout, "o1", workflow_id="o1").result(timeout=30)
    return "o1"


def test_a_fork_from_the_failed_step_runs_only_that_step_again(engine: Engine) -> None:
    failed_run(engine)
    lucky = engine.store.operations("o1")  # the recorded operations of the original
    assert [op.status.value for op in lucky] == ["COMPLETED", "COMPLETED", "FAILED"]
    plan = engine.fork_plan("o1")
    assert plan.from_step == 3 and plan.steps_again == ["#3 ship"]
    assert [op.name for op in plan.kept] == ["reserve", "charge"]
    broken["ship"] = False  # the bug is fixed
    executed.clear()
    handle = engine.fork("o1", workflow_id="o1-fixed")
    result = handle.result(timeout=30)
    assert executed == ["ship o1"]  # reserve and charge were not run again
    assert result["r"] == "R-o1" and result["c"] == "C-o1-10" and result["s"] == "S-o1"
    assert engine.get_run("o1").status == RunStatus.COMPENSATED  # the original is untouched
    started = engine.history("o1-fixed")[0]
    assert started.data["forked_from"] == "o1" and started.data["from_step"] == 3


def test_a_fork_keeps_the_seed_so_the_body_replays_the_same_values(engine: Engine) -> None:
    broken["ship"] = False
    first = engine.start(checkout, "o2", workflow_id="o2").result(timeout=30)
    again = engine.fork("o2", 3, workflow_id="o2-again").result(timeout=30)
    assert again["lucky"] == first["lucky"]


def test_a_fork_from_an_earlier_step_with_a_new_input(engine: Engine) -> None:
    failed_run(engine)
    broken["ship"] = False
    executed.clear()
    result = engine.fork("o1", 2, kwargs={"order": "o1", "amount": 25}).result(timeout=30)
    assert executed == ["charge o1 25", "ship o1"]
    assert result["r"] == "R-o1" and result["c"] == "C-o1-25"


def test_a_forked_runs_history_exports_and_replays(engine: Engine) -> None:
    failed_run(engine)
    broken["ship"] = False
    fork_id = engine.fork("o1").id
    engine.result(fork_id, timeout=30)
    # Through the export format, as `wfkit export` then `wfkit replay` would: no divergence.
    document = History.from_json(History.from_store(engine.store, fork_id).to_json())
    assert replay(document, checkout).reached_end


@pytest.mark.parametrize(
    ("from_step", "message"),
    [
        (0, "from_step must be an operation number >= 1"),
        (9, "recorded operations #1 to #3; it cannot be forked from #9"),
        (4, None),  # everything recorded kept: allowed only when all of it completed
    ],
)
def test_a_fork_that_cannot_be_made_is_refused(engine: Engine, from_step, message) -> None:
    failed_run(engine)
    with pytest.raises(UsageError, match=message or "#3 .* is FAILED: a fork can only keep"):
        engine.fork("o1", from_step)
    assert [r.id for r in engine.list_runs()] == ["o1"]  # nothing was created


def test_a_fork_id_that_is_taken_is_refused(engine: Engine) -> None:
    failed_run(engine)
    engine.fork("o1", 1, workflow_id="again")
    with pytest.raises(UsageError, match="a run named 'again' exists already"):
        engine.fork("o1", 1, workflow_id="again")


def test_a_new_input_needs_the_workflow_loaded(tmp_path: Any) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path}/f.db")
    broken["ship"] = True
    with pytest.raises(RunFailed):
        Engine(store, workflows=[checkout]).start(checkout, "o9", workflow_id="o9").result(30)
    bare = Engine(SqliteStore(f"sqlite:///{tmp_path}/f.db"))  # no workflow registered
    with pytest.raises(UsageError, match="workflow 'checkout' is not loaded here"):
        bare.fork("o9", kwargs={"order": "o9"})
    assert bare.fork("o9").id.startswith("o9-fork-")  # the recorded input needs no code


# -- the property: whatever the fork point, nothing before it runs again ----------------------
ran: list[int] = []


@step
def numbered(i: int) -> int:
    ran.append(i)
    return i * i


@workflow(name="chain")
def chain(ctx: Context, length: int) -> list[int]:
    return [ctx.step(numbered, i) for i in range(length)]


@settings(max_examples=25, deadline=None)
@given(length=st.integers(1, 8), data=st.data())
def test_a_fork_reuses_every_result_before_its_step_and_runs_none_of_them(length, data) -> None:
    engine = Engine(MemoryStore(), workflows=[chain])
    original = engine.start(chain, length, workflow_id="o").result(timeout=30)
    from_step = data.draw(st.integers(1, length + 1), label="from_step")
    ran.clear()
    forked = engine.fork("o", from_step).result(timeout=30)
    assert forked == original
    # Operation #k is step numbered(k - 1): the ones before from_step were not run again.
    assert ran == list(range(from_step - 1, length))
