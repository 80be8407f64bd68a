"""TestWorkflowContext: mocks, virtual time, events, crashes and resume, auto-replay."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from wfkit import Context, NonDeterminismError, Retry, step, workflow
from wfkit.testing import (
    SimulatedCrash,
    TestWorkflowContext,
    UnusedEvent,
    UnusedFault,
    WorkflowFailed,
    WorkflowStuck,
)


@dataclass
class Order:
    id: str
    amount: int


@dataclass
class Payment:
    txn: str
    amount: int


class ShippingDown(Exception):
    pass


@step(retry=Retry(attempts=3, initial=1.0))
def charge_payment(order: Order) -> Payment:
    raise AssertionError("the real payment service must not be called in tests")


@charge_payment.compensation
def refund_payment(order: Order, payment: Payment) -> None:
    pass


@step(retry=Retry(attempts=2, initial=10.0))
def ship(order: Order) -> str:
    return f"ship-{order.id}"


@step
def send_email(address: str) -> None:
    raise ConnectionError("smtp down")


@workflow(name="process-order")
def process_order(ctx: Context, order: Order) -> dict:
    payment = ctx.step(charge_payment, order)
    tracking = ctx.step(ship, order)
    ctx.step(send_email, "a@example.com", optional=True)
    return {"txn": payment.txn, "tracking": tracking, "at": ctx.now().isoformat()}


ORDER = Order("o-1", 10)


def test_mocks_and_real_steps_run_and_the_result_comes_back():
    ctx = TestWorkflowContext(start="2026-01-01T00:00:00Z")
    ctx.mock(charge_payment, returns=Payment("txn-1", 10))
    result = ctx.run(process_order, ORDER)
    assert result["txn"] == "txn-1" and result["tracking"] == "ship-o-1"
    assert ctx.status == "COMPLETED" and ctx.result == result
    assert ctx.calls(charge_payment) == [(ORDER,)]
    assert ctx.calls("send_email") == [("a@example.com",)] * 3  # retried, then optional
    assert ctx.step_completed("charge_payment") and not ctx.step_completed("send_email")


def test_a_mocked_failure_compensates_and_raises_workflow_failed():
    ctx = TestWorkflowContext()
    ctx.mock(charge_payment, returns=Payment("txn-1", 10))
    ctx.mock("ship", raises=ShippingDown("no trucks"))
    with pytest.raises(WorkflowFailed) as failed:
        ctx.run(process_order, ORDER)
    assert failed.value.status == "COMPENSATED"
    assert isinstance(failed.value.cause, ShippingDown)
    assert ctx.compensations == ["charge_payment"]
    assert ctx.compensation_ran(charge_payment)
    assert len(ctx.calls("ship")) == 2


def test_side_effects_give_one_outcome_per_attempt_and_backoff_skips_virtual_time():
    ctx = TestWorkflowContext(start="2026-01-01T00:00:00Z")
    ctx.mock(charge_payment, side_effect=[TimeoutError(), TimeoutError(), Payment("txn-3", 10)])
    started = time.perf_counter()
    ctx.run(process_order, ORDER)
    assert time.perf_counter() - started < 2
    assert ctx.executions(charge_payment) == 3
    assert ctx.now() >= datetime(2026, 1, 1, 0, 0, 3, tzinfo=timezone.utc)


@workflow
def approval(ctx: Context) -> str:
    decision = ctx.wait_for_event("approval", timeout=timedelta(days=7))
    if decision is None:
        return "expired"
    return "approved" if decision["approved"] else "rejected"


def test_a_seven_day_timeout_takes_no_real_time():
    ctx = TestWorkflowContext(start="2026-01-01T00:00:00Z")
    started = time.perf_counter()
    assert ctx.run(approval) == "expired"
    assert time.perf_counter() - started < 1
    assert ctx.now() == datetime(2026, 1, 8, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "after, expected", [(timedelta(hours=3), "approved"), (timedelta(days=8), "expired")]
)
def test_events_arrive_at_virtual_times(after, expected):
    ctx = TestWorkflowContext()
    ctx.send_event("approval", {"approved": True}, after=after)
    assert ctx.run(approval) == expected


@workflow
def waits_without_timeout(ctx: Context) -> None:
    ctx.wait_for_event("never-sent")


def test_a_run_that_cannot_progress_raises_workflow_stuck_naming_the_wait():
    ctx = TestWorkflowContext()
    with pytest.raises(WorkflowStuck) as stuck:
        ctx.run(waits_without_timeout)
    assert "never-sent" in stuck.value.waiting_for


ledger: list[str] = []


@step
def debit(account: str) -> str:
    ledger.append(f"debit {account}")
    return "d-1"


@step
def notify(account: str) -> None:
    ledger.append(f"notify {account}")


@workflow
def transfer(ctx: Context, account: str) -> str:
    ref = ctx.step(debit, account)
    ctx.step(notify, account)
    return ref


def test_crash_after_the_effect_reruns_the_step_on_resume():
    ledger.clear()
    ctx = TestWorkflowContext()
    ctx.crash_after(debit)
    with pytest.raises(SimulatedCrash):
        ctx.run(transfer, "acc-1")
    assert ledger == ["debit acc-1"]
    assert ctx.resume(downtime=timedelta(minutes=5)) == "d-1"
    assert ctx.executions(debit) == 2  # the at-least-once window, made visible
    assert ledger == ["debit acc-1", "debit acc-1", "notify acc-1"]


def test_crash_after_the_checkpoint_does_not_rerun_the_step():
    ledger.clear()
    ctx = TestWorkflowContext()
    ctx.crash_after_checkpoint(debit)
    with pytest.raises(SimulatedCrash):
        ctx.run(transfer, "acc-2")
    ctx.resume()
    assert ctx.executions(debit) == 1 and ctx.executions(notify) == 1


def test_crash_at_an_operation_number():
    ledger.clear()
    ctx = TestWorkflowContext()
    ctx.crash_at(2)
    with pytest.raises(SimulatedCrash):
        ctx.run(transfer, "acc-3")
    assert ledger == ["debit acc-3"]
    ctx.resume()
    assert ledger == ["debit acc-3", "notify acc-3"]


@workflow
def reads_the_wall_clock(ctx: Context) -> str:
    ctx.step(debit, "x")
    deadline = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    if datetime.now(timezone.utc) < deadline:  # the bug: replay may take the other branch
        ctx.step(notify, "x")
    ctx.sleep(timedelta(days=1))
    return "done"


def test_auto_replay_catches_a_branch_on_the_wall_clock():
    ctx = TestWorkflowContext(start="2026-01-01T00:00:00Z")
    with pytest.raises(NonDeterminismError) as diverged:
        ctx.run(reads_the_wall_clock)
    assert diverged.value.position == 2


def test_freezegun_shows_user_code_the_virtual_time():
    seen = []

    @workflow(name="peek")
    def peek(ctx: Context) -> None:
        seen.append(datetime.now(timezone.utc))
        ctx.sleep(timedelta(hours=2))
        seen.append(datetime.now(timezone.utc))

    TestWorkflowContext(start="2030-05-01T00:00:00Z", auto_replay=False).run(peek)
    assert seen[0] == datetime(2030, 5, 1, tzinfo=timezone.utc)
    assert seen[-1] == datetime(2030, 5, 1, 2, tzinfo=timezone.utc)


def test_history_round_trips_through_json():
    from wfkit.testing import History, replay

    ctx = TestWorkflowContext()
    ctx.mock(charge_payment, returns=Payment("txn-1", 10))
    ctx.run(process_order, ORDER)
    again = History.from_json(ctx.history.to_json())
    assert [e.type for e in again.entries] == [e.type for e in ctx.history.entries]
    assert replay(again, process_order).reached_end


def test_a_context_runs_one_workflow():
    ctx = TestWorkflowContext()
    ctx.mock(charge_payment, returns=Payment("t", 1))
    ctx.run(process_order, ORDER)
    from wfkit.errors import UsageError

    with pytest.raises(UsageError):
        ctx.run(process_order, ORDER)


# -- faults that name a step by its function, and faults that never happen ----------------------
@step
def reserve_seat(flight: str) -> str:
    ledger.append(f"reserve {flight}")
    return f"seat-{flight}"


@workflow
def booking(ctx: Context, flight: str) -> str:
    return ctx.step(reserve_seat, flight, name="reserve")  # the call renames the step


@pytest.mark.parametrize("fault", ["crash_before", "crash_after", "crash_after_checkpoint"])
def test_a_crash_point_given_the_step_itself_fires_under_the_name_the_workflow_gives_it(
    fault: str,
) -> None:
    ledger.clear()
    ctx = TestWorkflowContext()
    getattr(ctx, fault)(reserve_seat)
    with pytest.raises(SimulatedCrash):
        ctx.run(booking, "LH400")
    assert ctx.resume() == "seat-LH400"


def test_mocks_and_failures_given_the_step_itself_apply_to_a_renamed_call() -> None:
    ledger.clear()
    ctx = TestWorkflowContext()
    ctx.mock(reserve_seat, returns="seat-mocked")
    assert ctx.run(booking, "LH400") == "seat-mocked" and ledger == []
    ctx = TestWorkflowContext()
    ctx.fail(reserve_seat, times=1)
    assert ctx.run(booking, "LH400") == "seat-LH400"
    assert [a.attempt for a in ctx.faults.call_log] == [1, 2]


def test_a_crash_that_never_happens_fails_the_test_and_says_what_ran() -> None:
    ctx = TestWorkflowContext()
    ctx.crash_after("reserve_seat")  # the workflow calls it "reserve"
    with pytest.raises(UnusedFault) as unused:
        ctx.run(booking, "LH400")
    message = str(unused.value)
    assert "the crash after the effect of step 'reserve_seat'" in message
    assert "steps that ran: reserve" in message and "name=" in unused.value.hint


def test_an_injected_failure_for_a_step_never_reached_fails_the_test() -> None:
    ctx = TestWorkflowContext()
    ctx.fail("charge_card")
    ctx.crash_at(9)
    with pytest.raises(UnusedFault) as unused:
        ctx.run(booking, "LH400")
    assert unused.value.missed == [
        "the crash as durable operation #9 was about to run",
        "fail('charge_card') (no attempt failed)",
    ]


# -- events nobody waits for --------------------------------------------------------------------
@workflow
def approval_misspelt(ctx: Context) -> str:
    decision = ctx.wait_for_event("aproval", timeout=timedelta(days=7))  # the planted typo
    return "expired" if decision is None else "decided"


def test_an_event_no_wait_was_for_fails_the_test_naming_what_the_workflow_waited_for():
    ctx = TestWorkflowContext()
    ctx.send_event("approval", {"approved": True}, after=timedelta(hours=1))
    with pytest.raises(UnusedEvent) as unused:
        ctx.run(approval_misspelt)
    assert unused.value.unused == ["approval"] and unused.value.waited == ["aproval"]
    assert "allow_unused=True" in unused.value.hint


def test_an_event_too_late_for_its_wait_is_no_unused_event():
    ctx = TestWorkflowContext()
    ctx.send_event("approval", {"approved": True}, after=timedelta(days=8))
    assert ctx.run(approval) == "expired"
    assert ctx.waited_events() == ["approval"]


def test_an_unused_event_can_be_allowed():
    ctx = TestWorkflowContext()
    ctx.send_event("approval", {"approved": True}, allow_unused=True)
    assert ctx.run(approval_misspelt) == "expired"


# -- run ids and history files ------------------------------------------------------------------
@workflow(workflow_id="order-{order.id}")
def keyed_order(ctx: Context, order: Order) -> str:
    return ctx.step(ship, order)


def test_the_run_id_follows_the_workflows_workflow_id_template():
    ctx = TestWorkflowContext()
    ctx.run(keyed_order, ORDER)
    assert ctx.run_id == f"order-{ORDER.id}"
    ctx = TestWorkflowContext()
    ctx.run(keyed_order, ORDER, workflow_id="mine")
    assert ctx.run_id == "mine"
    ctx = TestWorkflowContext()
    ctx.send_event("approval", {"approved": True})
    ctx.run(approval)
    assert ctx.run_id == "test-run"  # no template: a fixed, readable id


def test_two_runs_into_one_history_dir_keep_both_files(tmp_path):
    for outcome in ({"approved": True}, {"approved": False}):
        ctx = TestWorkflowContext(history_dir=tmp_path)
        ctx.send_event("approval", outcome)
        ctx.run(approval)
    ctx = TestWorkflowContext(history_dir=tmp_path)
    ctx.run(keyed_order, ORDER)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "approval-test-run-2.json",
        "approval-test-run.json",
        f"keyed_order-order-{ORDER.id}.json",
    ]
    texts = [p.read_text() for p in sorted(tmp_path.glob("approval-*.json"))]
    assert "rejected" in texts[0] and "approved" in texts[1]  # -2 is the second run
