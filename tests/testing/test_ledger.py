"""Ledger: effects deduplicated by idempotency key, and the assertions a test makes on them."""

from __future__ import annotations

import pytest

from wfkit import Context, step, workflow
from wfkit.testing import Ledger, SimulatedCrash, TestWorkflowContext


def test_a_keyed_effect_is_recorded_once_and_its_repeat_kept_as_a_duplicate():
    ledger = Ledger()
    assert ledger.record("refund", key="o-1", amount=10) is True
    assert ledger.record("refund", key="o-1", amount=10) is False
    assert ledger.record("refund", key="o-2", amount=5) is True
    assert ledger.count("refund") == 2 and ledger.count() == 2
    assert [(e.key, e.data) for e in ledger.entries("refund")] == [
        ("o-1", {"amount": 10}),
        ("o-2", {"amount": 5}),
    ]
    assert [(d.key, d.seq) for d in ledger.duplicates("refund")] == [("o-1", 2)]
    assert ledger.assert_once("refund", "o-1").data == {"amount": 10}


def test_kinds_are_separate_and_unkeyed_effects_always_count():
    ledger = Ledger()
    ledger.record("charge", key="o-1")
    assert ledger.record("refund", key="o-1") is True  # same key, other kind
    assert ledger.record("email") and ledger.record("email")
    assert ledger.count("email") == 2 and ledger.duplicates() == []
    with pytest.raises(AssertionError, match=r"expected 'email' to be recorded once, found 2"):
        ledger.assert_once("email")


def test_assert_once_names_what_is_missing_and_reset_forgets_everything():
    ledger = Ledger()
    with pytest.raises(AssertionError, match=r"'refund' with key 'o-1' .* found 0"):
        ledger.assert_once("refund", "o-1")
    ledger.record("refund", key="o-1")
    ledger.record("refund", key="o-1")
    ledger.reset()
    assert ledger.count() == 0 and ledger.duplicates() == []
    assert ledger.record("refund", key="o-1") is True
    assert ledger.entries()[0].seq == 1
    assert repr(ledger) == "<Ledger refund=1; 0 duplicates>"


BOOKS = Ledger()  # the outside world of the two workflows below (reset by each test)


@step
def refund_with_key(order_id: str) -> None:
    BOOKS.record("refund", key=order_id)


@step
def refund_without_key(order_id: str) -> None:
    BOOKS.record("refund", order=order_id)


@workflow(name="ledger-keyed")
def keyed(ctx: Context, order_id: str) -> None:
    ctx.step(refund_with_key, order_id)


@workflow(name="ledger-unkeyed")
def unkeyed(ctx: Context, order_id: str) -> None:
    ctx.step(refund_without_key, order_id)


def test_a_crash_window_doubles_an_unkeyed_effect_and_the_key_makes_it_harmless():
    BOOKS.reset()
    ctx = TestWorkflowContext()
    ctx.crash_after(refund_without_key)
    with pytest.raises(SimulatedCrash):
        ctx.run(unkeyed, "o-1")
    ctx.resume()
    assert BOOKS.count("refund") == 2
    with pytest.raises(AssertionError):
        BOOKS.assert_once("refund")

    BOOKS.reset()
    ctx = TestWorkflowContext()
    ctx.crash_after(refund_with_key)
    with pytest.raises(SimulatedCrash):
        ctx.run(keyed, "o-1")
    ctx.resume()
    assert ctx.executions(refund_with_key) == 2
    BOOKS.assert_once("refund", "o-1")
    assert len(BOOKS.duplicates("refund")) == 1
