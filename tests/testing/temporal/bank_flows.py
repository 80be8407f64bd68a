"""A bank transfer saga for ``verify_temporal``: the fixed workflow and its planted-bug twins
(a missing compensation; a charge that is not idempotent, so a crash charges twice; a deadline
checked against the wall clock; an activity timeout left unhandled), each with a fixed twin.

The activities move money in ``BANK``; each example's ``setup`` resets it, and the invariant
is that money is conserved (and a completed transfer moved exactly the amount)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)
OPTIONS = {"start_to_close_timeout": timedelta(seconds=5), "retry_policy": RETRY}
OPENING = {"a": 100, "b": 100}
BANK: dict[str, int] = dict(OPENING)
DONE: set[str] = set()  # idempotency keys of the effects applied


def reset(env: object = None) -> None:
    BANK.clear()
    BANK.update(OPENING)
    DONE.clear()


@dataclass
class Move:
    source: str
    target: str
    amount: int
    reference: str


def _once(key: str) -> bool:
    """True the first time ``key`` is seen: the effect should be applied."""
    if key in DONE:
        return False
    DONE.add(key)
    return True


@activity.defn
def charge(move: Move) -> str:
    """Not idempotent: every run takes the money again."""
    DONE.add(f"{move.reference}:charge")
    BANK[move.source] -= move.amount
    return "charged"


@activity.defn
def charge_once(move: Move) -> str:
    if _once(f"{move.reference}:charge"):
        BANK[move.source] -= move.amount
    return "charged"


@activity.defn
def credit(move: Move) -> str:
    if _once(f"{move.reference}:credit"):
        BANK[move.target] += move.amount
    return "credited"


@activity.defn
def uncredit(move: Move) -> str:
    """Takes a credit back, if it happened (an attempt whose outcome was lost may have)."""
    if f"{move.reference}:credit" in DONE and _once(f"{move.reference}:uncredit"):
        BANK[move.target] -= move.amount
    return "uncredited"


@activity.defn
def uncharge(move: Move) -> str:
    """Refunds a charge, if it happened."""
    if f"{move.reference}:charge" in DONE and _once(f"{move.reference}:uncharge"):
        BANK[move.source] += move.amount
    return "refunded"


async def _transfer(move: Move, take: object, compensate: bool) -> list[str]:
    """Charge, credit; when either fails for good, undo both (each undo checks its effect:
    a step whose outcome a crash lost may have happened although its retry failed)."""
    steps: list[str] = []
    try:
        steps.append(await workflow.execute_activity(take, move, **OPTIONS))  # type: ignore[call-overload]
        steps.append(await workflow.execute_activity(credit, move, **OPTIONS))
    except ActivityError:
        if compensate:
            try:
                await workflow.execute_activity(uncredit, move, **OPTIONS)
                await workflow.execute_activity(uncharge, move, **OPTIONS)
            except ActivityError:
                raise ApplicationError("refund failed", type="RefundFailed") from None
        raise ApplicationError("transfer rolled back", type="Reverted") from None
    return steps


@workflow.defn
class SafeTransfer:
    """Idempotent charge, credit, refund on a failed credit: correct."""

    @workflow.run
    async def run(self, move: Move) -> list[str]:
        return await _transfer(move, charge_once, compensate=True)


@workflow.defn
class NoRefundTransfer:
    """Planted bug: a failed credit is not compensated, the charged money vanishes."""

    @workflow.run
    async def run(self, move: Move) -> list[str]:
        return await _transfer(move, charge_once, compensate=False)


@workflow.defn
class DoubleChargeTransfer:
    """Planted bug: the charge is not idempotent, so a retried attempt charges twice."""

    @workflow.run
    async def run(self, move: Move) -> list[str]:
        return await _transfer(move, charge, compensate=True)


ACTIVITIES = [charge, charge_once, credit, uncredit, uncharge]
MOVE = Move("a", "b", 10, "m-1")


def conserved(outcome: object) -> None:
    """The invariant: no money created or lost; a completed transfer moved the amount (a
    failed refund is an operator's alert, not a silent loss: it is allowed)."""
    error = getattr(outcome, "error", None)
    if getattr(error, "type", None) == "RefundFailed":
        return
    assert sum(BANK.values()) == sum(OPENING.values()), f"money not conserved: {BANK}"
    if getattr(outcome, "status", None) == "COMPLETED":
        assert BANK == {"a": 90, "b": 110}, f"completed, but the balances are {BANK}"


# How many workflow instances Forgetful made: a new worker after a crash makes another.
INSTANCES = {"made": 0}


@workflow.defn
class Forgetful:
    """Planted bug: picks its first activity from process state, so a rebuilt instance (after
    a crash) takes another path than the history recorded."""

    def __init__(self) -> None:
        INSTANCES["made"] += 1
        self.first = charge_once if INSTANCES["made"] % 2 else credit

    @workflow.run
    async def run(self, move: Move) -> str:
        done = await workflow.execute_activity(self.first, move, **OPTIONS)
        await workflow.sleep(timedelta(minutes=1))
        return done


def reset_forgetful(env: object = None) -> None:
    reset()
    INSTANCES["made"] = 0


@workflow.defn
class Reminder:
    """Sleeps an hour, notifies, twice: timers for the crash matrix."""

    @workflow.run
    async def run(self, move: Move) -> str:
        for _ in range(2):
            await workflow.sleep(timedelta(hours=1))
            await workflow.execute_activity(credit, move, **OPTIONS)
        return workflow.now().isoformat()


@workflow.defn(name="SafeTransfer")
class ChangedSafeTransfer:
    """SafeTransfer's workflow type deployed with another first step (for the Replayer)."""

    @workflow.run
    async def run(self, move: Move) -> list[str]:
        return [await workflow.execute_activity(credit, move, **OPTIONS)]


# -- planted bugs: a wall-clock deadline, an unhandled activity timeout --------------------

DEADLINE = timedelta(hours=1)
REVIEW = timedelta(minutes=10)  # well inside the deadline


async def _deadline_transfer(move: Move, wall_clock: bool) -> list[str]:
    """Charge, wait out a review period, and credit unless the deadline passed (then refund
    and fail ``Expired``); a failed credit is compensated."""
    deadline = workflow.now() + DEADLINE
    steps = [await workflow.execute_activity(charge_once, move, **OPTIONS)]
    await workflow.sleep(REVIEW)
    now = datetime.now(timezone.utc) if wall_clock else workflow.now()
    if now > deadline:
        await workflow.execute_activity(uncharge, move, **OPTIONS)
        raise ApplicationError(f"transfer expired at {now.isoformat()}", type="Expired")
    try:
        steps.append(await workflow.execute_activity(credit, move, **OPTIONS))
    except ActivityError:
        await workflow.execute_activity(uncredit, move, **OPTIONS)
        await workflow.execute_activity(uncharge, move, **OPTIONS)
        raise ApplicationError("transfer rolled back", type="Reverted") from None
    return steps


@workflow.defn
class WallClockDeadline:
    """Planted bug: checks its deadline against the wall clock (``datetime.now()``) instead of
    ``workflow.now()``. Workflow time and the worker's clock are different clocks: on Temporal
    they drift apart whenever a history is replayed later or a timer fires late; in the
    environment the virtual clock starts on 2026-01-01 and a test runs months or years after
    it, so the check says "expired" after ten minutes of workflow time."""

    @workflow.run
    async def run(self, move: Move) -> list[str]:
        return await _deadline_transfer(move, wall_clock=True)


@workflow.defn
class WorkflowClockDeadline:
    """WallClockDeadline's fixed twin: the deadline is checked against ``workflow.now()``."""

    @workflow.run
    async def run(self, move: Move) -> list[str]:
        return await _deadline_transfer(move, wall_clock=False)


# One attempt with a short start-to-close timeout: an attempt whose outcome is lost (a worker
# crash before it is recorded) times out after 5 s and is not retried.
TIGHT = {
    "start_to_close_timeout": timedelta(seconds=5),
    "retry_policy": RetryPolicy(maximum_attempts=1),
}


async def _credit_once(move: Move, handle_timeouts: bool) -> list[str]:
    """Charge, then credit in one tight attempt; when the credit fails, undo both."""
    steps = [await workflow.execute_activity(charge_once, move, **OPTIONS)]
    try:
        steps.append(await workflow.execute_activity(credit, move, **TIGHT))
    except ActivityError as failed:
        if not handle_timeouts and not isinstance(failed.cause, ApplicationError):
            raise  # "the bank answers or says no" -- but an attempt can also time out
        await workflow.execute_activity(uncredit, move, **OPTIONS)
        await workflow.execute_activity(uncharge, move, **OPTIONS)
        raise ApplicationError("transfer rolled back", type="Reverted") from None
    return steps


@workflow.defn
class TimeoutBlindTransfer:
    """Planted bug: compensates a credit that failed with an error, but lets a credit that
    timed out fail the workflow uncompensated; the timed-out attempt may well have credited."""

    @workflow.run
    async def run(self, move: Move) -> list[str]:
        return await _credit_once(move, handle_timeouts=False)


@workflow.defn
class TimeoutSafeTransfer:
    """TimeoutBlindTransfer's fixed twin: any failed credit, a timeout too, is compensated."""

    @workflow.run
    async def run(self, move: Move) -> list[str]:
        return await _credit_once(move, handle_timeouts=True)


def settled(outcome: Any) -> None:
    """``conserved``, and stricter: a transfer that failed leaves the opening balances (it was
    compensated), and one that expired took longer than its deadline in workflow time."""
    conserved(outcome)
    error = getattr(outcome, "error", None)
    kind = getattr(error, "type", None) or type(error).__name__
    if outcome.status == "FAILED" and kind != "RefundFailed":
        assert BANK == OPENING, f"failed ({kind}) but not compensated: {BANK}"
    if kind == "Expired":
        started = outcome.history.events[0].event_time.ToDatetime(tzinfo=timezone.utc)
        took = outcome.env.now - started
        assert took > DEADLINE, f"expired after {took} of workflow time; the deadline is {DEADLINE}"
