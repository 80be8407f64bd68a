"""Mocking a child workflow: the parent runs for real, the child's body is a stand-in."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from wfkit import Context, step, workflow
from wfkit.testing import SimulatedCrash, TestWorkflowContext, WorkflowFailed, verify

CHARGED: list[str] = []
REFUNDED: list[str] = []


@dataclass
class Receipt:
    txn: str
    amount: int


@step
def charge_card(order: str) -> str:
    CHARGED.append(order)
    return f"txn-{order}"


@workflow(name="payment")
def payment(ctx: Context, order: str, amount: int) -> Receipt:
    return Receipt(ctx.step(charge_card, order), amount)


@step
def reserve(order: str) -> str:
    return f"res-{order}"


@reserve.compensation
def release(order: str, reservation: str) -> None:
    REFUNDED.append(reservation)


@workflow(name="checkout")
def checkout(ctx: Context, order: str) -> str:
    ctx.step(reserve, order)
    receipt = ctx.child(payment, order, 10)
    return f"{receipt.txn}:{receipt.amount}"


class CardDeclined(Exception):
    pass


def test_a_mocked_child_answers_for_the_real_one():
    CHARGED.clear()
    ctx = TestWorkflowContext()
    ctx.mock(payment, returns=Receipt("txn-mocked", 99))
    assert ctx.run(checkout, "o-1") == "txn-mocked:99"  # decoded as the child's Receipt
    assert CHARGED == []  # the child's body never ran
    assert ctx.calls(payment) == [("o-1", 10)]


def test_a_mocked_child_that_fails_rolls_the_parent_back():
    REFUNDED.clear()
    ctx = TestWorkflowContext()
    ctx.mock(payment, raises=CardDeclined("no funds"))
    with pytest.raises(WorkflowFailed) as failed:
        ctx.run(checkout, "o-1")
    assert failed.value.status == "COMPENSATED" and REFUNDED == ["res-o-1"]


def test_a_callable_child_mock_gets_the_childs_arguments_and_survives_a_crash():
    ctx = TestWorkflowContext()
    ctx.mock(payment, side_effect=lambda order, amount: Receipt(f"t-{order}", amount * 2))
    ctx.crash_after_checkpoint(reserve)
    with pytest.raises(SimulatedCrash):
        ctx.run(checkout, "o-2")
    assert ctx.resume() == "t-o-2:20"


def test_verify_takes_a_child_mock():
    verify(
        checkout,
        "o-3",
        mocks={payment: Receipt("txn", 1)},
        max_examples=10,
        derandomize=True,
        database=None,
    )
