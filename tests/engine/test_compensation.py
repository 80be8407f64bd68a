"""Saga compensation: reverse completion order, durable retries, cancel, retry, skip-step."""

from __future__ import annotations

import pytest

from wfkit import Context, Retry, step, workflow
from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.errors import InvalidRunState, RunFailed

ledger: list[str] = []
broken: set[str] = set()


@pytest.fixture(autouse=True)
def _reset():
    ledger.clear()
    broken.clear()


@step
def reserve(item: str) -> str:
    ledger.append(f"reserve {item}")
    return f"res-{item}"


@reserve.compensation
def release(item: str, reservation: str) -> None:
    if "release" in broken:
        raise RuntimeError("inventory service down")
    ledger.append(f"release {reservation}")


@step
def charge(amount: int) -> str:
    ledger.append(f"charge {amount}")
    return "txn-9"


@charge.compensation
def refund(amount: int, txn: str) -> None:
    ledger.append(f"refund {txn} {amount}")


@step(retry=Retry(attempts=2, initial=0.1))
def ship(item: str) -> None:
    raise ConnectionError("no trucks")


@step
def note(text: str) -> None:
    ledger.append(text)


@workflow
def order(ctx: Context, item: str, amount: int) -> str:
    ctx.step(reserve, item)
    ctx.step(charge, amount)
    ctx.step(note, "no compensation for me")
    ctx.step(ship, item)
    return "shipped"


def test_failure_compensates_completed_steps_in_reverse_order(engine):
    handle = engine.start(order, "book", 30, workflow_id="o1")
    with pytest.raises(RunFailed) as failed:
        handle.result(timeout=5)
    assert failed.value.status == "COMPENSATED"
    assert failed.value.error["type"] == "ConnectionError"
    assert ledger == [
        "reserve book",
        "charge 30",
        "no compensation for me",
        "refund txn-9 30",
        "release res-book",
    ]
    comps = [op for op in engine.operations("o1") if op.kind == OpKind.COMPENSATION]
    assert [(c.name, c.compensates, c.status) for c in comps] == [
        ("charge", 2, OpStatus.COMPLETED),
        ("reserve", 1, OpStatus.COMPLETED),
    ]


def test_a_compensation_that_keeps_failing_leaves_the_run_failed_then_retry_finishes(make_engine):
    engine = make_engine(inline_wait=10_000)
    broken.add("release")
    handle = engine.start(order, "lamp", 5, workflow_id="o2")
    with pytest.raises(RunFailed) as failed:
        handle.result(timeout=5)
    assert failed.value.status == "FAILED"
    assert "compensation of step 'reserve'" in failed.value.error["during"]
    assert ledger.count("refund txn-9 5") == 1
    broken.clear()
    engine.retry("o2")
    with pytest.raises(RunFailed) as again:
        handle.result(timeout=5)
    assert again.value.status == "COMPENSATED"
    assert ledger.count("release res-lamp") == 1 and ledger.count("refund txn-9 5") == 1
    assert engine.get_run("o2").error is not None  # the original failure stays on record


def test_skip_step_marks_a_failed_compensation_done(make_engine):
    engine = make_engine(inline_wait=10_000)
    broken.add("release")
    handle = engine.start(order, "desk", 7, workflow_id="o3")
    with pytest.raises(RunFailed):
        handle.result(timeout=5)
    with pytest.raises(InvalidRunState) as wrong:
        engine.skip_step("o3", "charge")
    assert "did not fail" in wrong.value.message and "reserve" in (wrong.value.hint or "")
    engine.skip_step("o3", "reserve")
    with pytest.raises(RunFailed) as done:
        handle.result(timeout=5)
    assert done.value.status == "COMPENSATED"
    assert not any(line.startswith("release") for line in ledger)


@workflow
def waits_forever(ctx: Context, item: str) -> None:
    ctx.step(reserve, item)
    ctx.wait_for_event("never")


def test_cancel_compensates_then_ends_cancelled(engine):
    handle = engine.start(waits_forever, "pen", workflow_id="c1")
    engine.work_once()
    assert handle.status() == RunStatus.WAITING
    engine.cancel("c1")
    assert handle.status() == RunStatus.CANCELLED
    assert ledger == ["reserve pen", "release res-pen"]
    with pytest.raises(InvalidRunState):
        engine.cancel("c1")


def test_a_second_cancel_writes_nothing_and_says_so(engine):
    handle = engine.start(waits_forever, "ink", workflow_id="c3")
    engine.work_once()
    assert engine.cancel("c3", drive=False) is True
    history = engine.history("c3")
    assert engine.cancel("c3", compensate=False, drive=False) is False
    assert engine.history("c3") == history  # no second cancel_requested line
    assert engine.get_run("c3").compensate_on_cancel  # the first request stands
    engine.work_once(run_id="c3")
    assert handle.status() == RunStatus.CANCELLED
    assert ledger == ["reserve ink", "release res-ink"]


def test_cancel_without_compensation(engine):
    handle = engine.start(waits_forever, "cup", workflow_id="c2")
    engine.work_once()
    engine.cancel("c2", compensate=False)
    assert handle.status() == RunStatus.CANCELLED
    assert ledger == ["reserve cup"]


def test_retry_and_skip_step_refuse_runs_that_did_not_fail(engine):
    handle = engine.start(order, "x", 1, workflow_id="o4")
    with pytest.raises(RunFailed):
        handle.result(timeout=5)
    with pytest.raises(InvalidRunState):
        engine.retry("o4")
    with pytest.raises(InvalidRunState):
        engine.skip_step("o4", "ship")


@workflow
def parent_of_waiter(ctx: Context, item: str) -> None:
    ctx.step(reserve, f"outer-{item}")
    ctx.child(waits_forever, item)


def test_cancelling_a_parent_cancels_its_running_children_first(engine):
    handle = engine.start(parent_of_waiter, "mug", workflow_id="p1")
    engine.work_once(run_id="p1")
    engine.work_once(run_id="p1/2")
    assert engine.get_run("p1/2").status == RunStatus.WAITING
    engine.cancel("p1")
    assert engine.get_run("p1/2").status == RunStatus.CANCELLED
    assert handle.status() == RunStatus.CANCELLED
    assert ledger == [
        "reserve outer-mug",
        "reserve mug",
        "release res-mug",
        "release res-outer-mug",
    ]


fragile_fails = {"on": True}


@step(retry=Retry(attempts=1))
def fragile(n: int) -> int:
    if fragile_fails["on"]:
        raise ConnectionError("down")
    return n


@workflow
def uses_fragile(ctx: Context) -> int:
    ctx.step(reserve, "pen")
    return ctx.step(fragile, 2) + 1


def test_a_skip_step_value_of_the_wrong_type_fails_the_run_and_can_be_skipped_again(make_engine):
    engine = make_engine(inline_wait=10_000)
    broken.add("release")  # compensation fails, so the run stops FAILED for a person
    handle = engine.start(uses_fragile, workflow_id="w1")
    with pytest.raises(RunFailed):
        handle.result(timeout=5)
    broken.clear()
    engine.skip_step("w1", "fragile", "not a number")
    with pytest.raises(RunFailed) as wrong:
        handle.result(timeout=5)
    assert wrong.value.status == "FAILED"
    assert wrong.value.error["type"] == "RecordedValueError"
    assert "release res-pen" not in ledger  # nothing undone over a typo
    engine.skip_step("w1", "fragile", 41)
    assert handle.result(timeout=5) == 42
