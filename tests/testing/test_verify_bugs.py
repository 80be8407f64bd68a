"""verify catches the bugs durable workflows really have, and passes their corrected twins.

Each pair is a buggy workflow and its fix, against a small fake of the outside world that the
test keeps (it survives simulated crashes, as real services would).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from wfkit import Context, Retry, step, workflow
from wfkit.errors import NonDeterminismError
from wfkit.testing import TestWorkflowContext, UnusedEvent, VerificationError, replay, verify

EXAMPLES = 60


@dataclass
class FakeBank:
    """A payment provider that honours idempotency keys, like real ones do."""

    charges: list[tuple[str, int]] = field(default_factory=list)
    refunds: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    shipped: list[str] = field(default_factory=list)
    reserved: set[str] = field(default_factory=set)

    def charge(self, order: str, amount: int, key: str | None = None) -> str:
        if key is not None and key in self.seen:
            return f"txn-{order}"
        if key is not None:
            self.seen.add(key)
        self.charges.append((order, amount))
        return f"txn-{order}"

    def refund(self, txn: str, key: str | None = None) -> None:
        if key is not None and key in self.seen:
            return
        if key is not None:
            self.seen.add(key)
        self.refunds.append(txn)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


bank = FakeBank()


def paid_at_most_once(run: TestWorkflowContext) -> bool:
    return len(bank.charges) <= 1 and len(bank.refunds) <= len(bank.charges)


# -- 1. a charge without an idempotency key: double charge after a crash window --------------
@step
def charge_no_key(order: str) -> str:
    return bank.charge(order, 10)


@step
def charge_with_key(order: str) -> str:
    return bank.charge(order, 10, key=f"charge-{order}")


@workflow
def pay_buggy(ctx: Context, order: str) -> str:
    return ctx.step(charge_no_key, order)


@workflow
def pay_fixed(ctx: Context, order: str) -> str:
    return ctx.step(charge_with_key, order)


def test_double_charge_after_a_crash_window_is_caught():
    with pytest.raises(VerificationError) as found:
        verify(
            pay_buggy, "o-1", setup=bank.reset, invariant=paid_at_most_once, max_examples=EXAMPLES
        )
    assert "invariant" in str(found.value) and "CRASH" in str(found.value)
    assert found.value.plan.crashes


def test_an_idempotency_key_fixes_it():
    verify(pay_fixed, "o-1", setup=bank.reset, invariant=paid_at_most_once, max_examples=EXAMPLES)


# -- 2. a refund compensation that is not idempotent: crash during compensation -------------
@step(retry=Retry(attempts=1))
def ship_never(order: str) -> None:
    raise ConnectionError("no trucks")


@step
def charge_for_refund(order: str) -> str:
    return bank.charge(order, 10, key=f"charge-{order}")


@charge_for_refund.compensation
def refund_twice(order: str, txn: str) -> None:
    bank.refund(txn)


@step
def charge_for_safe_refund(order: str) -> str:
    return bank.charge(order, 10, key=f"charge-{order}")


@charge_for_safe_refund.compensation
def refund_once(order: str, txn: str) -> None:
    bank.refund(txn, key=f"refund-{txn}")


@workflow
def refund_buggy(ctx: Context, order: str) -> None:
    ctx.step(charge_for_refund, order)
    ctx.step(ship_never, order)


@workflow
def refund_fixed(ctx: Context, order: str) -> None:
    ctx.step(charge_for_safe_refund, order)
    ctx.step(ship_never, order)


def test_a_double_refund_when_compensation_crashes_is_caught():
    with pytest.raises(VerificationError) as found:
        verify(
            refund_buggy,
            "o-2",
            setup=bank.reset,
            invariant=paid_at_most_once,
            max_examples=EXAMPLES,
        )
    assert any(c.point == "after" for c in found.value.plan.crashes)


def test_an_idempotent_refund_fixes_it():
    verify(
        refund_fixed, "o-2", setup=bank.reset, invariant=paid_at_most_once, max_examples=EXAMPLES
    )


# -- 3. a branch on datetime.now() against a deadline: diverges after a long downtime -------
@step
def stamp(label: str) -> str:
    return label


DEADLINE = datetime(2026, 1, 2, tzinfo=timezone.utc)


@step
def on_time(order: str) -> str:
    return "on time"


@step
def late(order: str) -> str:
    return "late"


@workflow
def deadline_buggy(ctx: Context) -> str:
    ctx.step(stamp, "received")
    if datetime.now(timezone.utc) < DEADLINE:
        outcome = ctx.step(on_time, "o-3")
    else:
        outcome = ctx.step(late, "o-3")
    ctx.step(stamp, "recorded")
    return outcome


@workflow
def deadline_fixed(ctx: Context) -> str:
    ctx.step(stamp, "received")
    if ctx.now() < DEADLINE:
        outcome = ctx.step(on_time, "o-3")
    else:
        outcome = ctx.step(late, "o-3")
    ctx.step(stamp, "recorded")
    return outcome


def test_a_wall_clock_branch_is_caught():
    with pytest.raises(VerificationError) as found:
        verify(deadline_buggy, start="2026-01-01T00:00:00Z", max_examples=EXAMPLES)
    assert "a year later" in str(found.value) and "ctx.now()" in str(found.value)


def test_ctx_now_fixes_it():
    verify(deadline_fixed, start="2026-01-01T00:00:00Z", max_examples=EXAMPLES)


# -- 4. a branch on random.random() ----------------------------------------------------------
@workflow
def coin_buggy(ctx: Context) -> str:
    if random.random() < 0.5:
        return ctx.step(stamp, "heads")
    return ctx.step(stamp, "tails")


@workflow
def coin_fixed(ctx: Context) -> str:
    if ctx.random() < 0.5:
        return ctx.step(stamp, "heads")
    return ctx.step(stamp, "tails")


def test_a_random_branch_is_caught():
    with pytest.raises(VerificationError):
        verify(coin_buggy, max_examples=EXAMPLES)


def test_ctx_random_fixes_it():
    verify(coin_fixed, max_examples=EXAMPLES)


# -- 5. a swallowed step failure ships an unpaid order ---------------------------------------
@step(retry=Retry(attempts=2, initial=1))
def take_payment(order: str) -> str:
    return bank.charge(order, 10, key=f"pay-{order}")


@take_payment.compensation
def give_back(order: str, txn: str) -> None:
    bank.refund(txn, key=f"refund-{txn}")


@step
def ship_it(order: str) -> None:
    if order not in bank.shipped:
        bank.shipped.append(order)


@workflow
def swallow_buggy(ctx: Context, order: str) -> None:
    try:
        ctx.step(take_payment, order)
    except Exception:
        ctx.logger.warning("payment failed; shipping anyway")
    ctx.step(ship_it, order)


@workflow
def swallow_fixed(ctx: Context, order: str) -> None:
    ctx.step(take_payment, order)
    ctx.step(ship_it, order)


def shipped_only_if_paid(run: TestWorkflowContext) -> None:
    net_paid = len(bank.charges) - len(bank.refunds)
    assert not bank.shipped or net_paid == 1, f"shipped {bank.shipped} with {net_paid} paid"


def test_a_swallowed_payment_failure_is_caught():
    with pytest.raises(VerificationError) as found:
        verify(
            swallow_buggy,
            "o-5",
            setup=bank.reset,
            invariant=shipped_only_if_paid,
            max_examples=EXAMPLES,
        )
    assert found.value.plan.failures


def test_letting_the_failure_roll_back_fixes_it():
    verify(
        swallow_fixed,
        "o-5",
        setup=bank.reset,
        invariant=shipped_only_if_paid,
        max_examples=EXAMPLES,
    )


# -- 6. a reservation without compensation leaks on rollback --------------------------------
@step
def reserve_leaky(item: str) -> str:
    bank.reserved.add(item)
    return item


@step
def reserve_safe(item: str) -> str:
    bank.reserved.add(item)
    return item


@reserve_safe.compensation
def release(item: str, reservation: str) -> None:
    bank.reserved.discard(reservation)


@step
def charge_card(item: str) -> str:
    return bank.charge(item, 5, key=f"card-{item}")


@charge_card.compensation
def refund_card(item: str, txn: str) -> None:
    bank.refund(txn, key=f"refund-{txn}")


@workflow
def reserve_buggy(ctx: Context, item: str) -> None:
    ctx.step(reserve_leaky, item)
    ctx.step(charge_card, item)


@workflow
def reserve_fixed(ctx: Context, item: str) -> None:
    ctx.step(reserve_safe, item)
    ctx.step(charge_card, item)


def nothing_held_after_rollback(run: TestWorkflowContext) -> None:
    if run.status != "COMPLETED":
        assert not bank.reserved, f"still reserved after {run.status}: {bank.reserved}"


def test_a_leaked_reservation_is_caught():
    with pytest.raises(VerificationError):
        verify(
            reserve_buggy,
            "lamp",
            setup=bank.reset,
            invariant=nothing_held_after_rollback,
            max_examples=EXAMPLES,
        )


def test_a_compensation_fixes_it():
    verify(
        reserve_fixed,
        "lamp",
        setup=bank.reset,
        invariant=nothing_held_after_rollback,
        max_examples=EXAMPLES,
    )


# -- 7. an approval wait whose timeout path indexes None -------------------------------------
@workflow
def approval_buggy(ctx: Context) -> str:
    decision = ctx.wait_for_event("approval", timeout=timedelta(days=7))
    return "approved" if decision["approved"] else "rejected"


@workflow
def approval_fixed(ctx: Context) -> str:
    decision = ctx.wait_for_event("approval", timeout=timedelta(days=7))
    if decision is None:
        return "expired"
    return "approved" if decision["approved"] else "rejected"


APPROVALS = {"approval": [{"approved": True}, {"approved": False}]}


def test_a_crash_on_the_timeout_path_is_caught():
    with pytest.raises(VerificationError) as found:
        verify(approval_buggy, events=APPROVALS, max_examples=EXAMPLES)
    assert "TypeError" in str(found.value)


def test_handling_the_timeout_fixes_it():
    verify(approval_fixed, events=APPROVALS, max_examples=EXAMPLES)


# -- 7b. an event name misspelt on the wait: the test's events are never consumed -----------
@workflow
def approval_misspelt(ctx: Context) -> str:
    decision = ctx.wait_for_event("aproval", timeout=timedelta(days=7))  # the typo
    if decision is None:
        return "expired"
    return "approved" if decision["approved"] else "rejected"


def test_a_misspelt_event_name_is_caught():
    with pytest.raises(UnusedEvent) as unused:
        verify(approval_misspelt, events=APPROVALS, max_examples=EXAMPLES)
    assert unused.value.unused == ["approval"] and unused.value.waited == ["aproval"]


def test_the_right_event_name_fixes_it():
    verify(approval_fixed, events=APPROVALS, max_examples=EXAMPLES)


# -- 7c. steps ordered by iterating a set: another process replays them in another order ----
CHANNELS = ["email", "sms", "push", "slack", "webhook", "pager"]


@step
def notify(channel: str) -> str:
    return f"sent {channel}"


@workflow
def notify_buggy(ctx: Context, channels: list[str]) -> list[str]:
    return [ctx.step(notify, c) for c in set(channels)]  # dedupe: order follows the hashes


@workflow
def notify_fixed(ctx: Context, channels: list[str]) -> list[str]:
    return [ctx.step(notify, c) for c in sorted(set(channels))]


@pytest.mark.slow  # two fresh interpreters
def test_steps_in_set_order_are_caught():
    with pytest.raises(VerificationError) as found:
        verify(notify_buggy, CHANNELS, max_examples=10, hash_seeds=(1, 2))
    assert "PYTHONHASHSEED=" in str(found.value) and "sorted(" in str(found.value)
    seed = 1 if "PYTHONHASHSEED=1" in str(found.value) else 2
    assert f", hash_seeds=({seed},))" in str(found.value)  # the regression reproduces it
    with pytest.raises(VerificationError):
        verify(notify_buggy, CHANNELS, plan=found.value.plan, hash_seeds=(seed,))


@pytest.mark.slow
def test_sorting_the_set_fixes_it():
    summary = verify(notify_fixed, CHANNELS, max_examples=10, hash_seeds=(1, 2))
    assert "replayed under PYTHONHASHSEED=1,2" in summary.line()


# -- 8. a v2 that inserts a step without ctx.patched() breaks in-flight v1 runs -------------
@workflow(name="onboard")
def onboard_v1(ctx: Context, user: str) -> str:
    ctx.step(stamp, f"create {user}")
    ctx.sleep(timedelta(days=1))
    return ctx.step(stamp, f"welcome {user}")


@workflow(name="onboard", version=2)
def onboard_v2_buggy(ctx: Context, user: str) -> str:
    ctx.step(stamp, f"create {user}")
    ctx.step(stamp, f"audit {user}")
    ctx.sleep(timedelta(days=1))
    return ctx.step(stamp, f"welcome {user}")


@workflow(name="onboard", version=2)
def onboard_v2_fixed(ctx: Context, user: str) -> str:
    ctx.step(stamp, f"create {user}")
    if ctx.patched("audit-step"):
        ctx.step(stamp, f"audit {user}")
    ctx.sleep(timedelta(days=1))
    return ctx.step(stamp, f"welcome {user}")


def v1_history():
    ctx = TestWorkflowContext()
    ctx.run(onboard_v1, "ada")
    return ctx.history


def test_an_unpatched_new_step_fails_replay_of_v1_histories():
    with pytest.raises(NonDeterminismError) as diverged:
        replay(v1_history(), onboard_v2_buggy)
    assert diverged.value.position == 2
    # the recorded operation is the timer (its text names the file it was recorded at, so only
    # its kind and name are compared: the checkout's path must not matter)
    assert diverged.value.recorded.startswith("sleep 'sleep'")
    assert diverged.value.current == "step 'stamp'"


def test_a_patched_new_step_replays_v1_histories():
    assert replay(v1_history(), onboard_v2_fixed).reached_end
    verify(onboard_v2_fixed, "ada", max_examples=20)


def test_the_report_is_a_readable_timeline_with_a_pasteable_plan():
    with pytest.raises(VerificationError) as found:
        verify(
            pay_buggy, "o-1", setup=bank.reset, invariant=paid_at_most_once, max_examples=EXAMPLES
        )
    text = str(found.value)
    assert "Timeline (virtual time since start):" in text
    assert "def test_pay_buggy_regression():" in text
    call = text.split("def test_pay_buggy_regression():", 1)[1].strip().splitlines()[0]
    assert call.startswith("verify(pay_buggy, 'o-1', plan=Plan(")
    from wfkit.testing import Arrival, Crash, Failure, Plan  # noqa: F401 - used by eval

    plan = eval(call.split("plan=", 1)[1].rsplit(")", 1)[0])
    with pytest.raises(VerificationError):
        verify(pay_buggy, "o-1", setup=bank.reset, invariant=paid_at_most_once, plan=plan)
