"""step_context: a step's unit test sees step_info() as the engine would set it."""

from __future__ import annotations

import pytest

from wfkit import Retry, step, step_info
from wfkit.errors import DefinitionError
from wfkit.testing import Ledger, step_context

ledger = Ledger()


@step(retry=Retry(attempts=3))
def charge(order: str) -> str:
    info = step_info()
    key = info.idempotency_key if info else None
    if info is not None and info.last_attempt:
        ledger.record("charge-last-try", key=key, order=order)
        return "gave up politely"
    ledger.record("charge", key=key, order=order)
    return "charged"


@charge.compensation
def refund(order: str, result: str) -> None:
    info = step_info()
    ledger.record("refund", key=info.idempotency_key if info else None, kind_seen=info.kind)


def test_outside_a_run_there_is_no_step_info():
    ledger.reset()
    assert charge("o-1") == "charged" and ledger.entries()[0].key is None


def test_a_step_sees_its_attempt_and_idempotency_key():
    ledger.reset()
    with step_context(charge, run_id="order-7", seq=2) as info:
        assert charge("o-1") == "charged"
    assert (info.attempt, info.attempts, info.name, info.kind) == (1, 3, "charge", "step")
    assert ledger.assert_once("charge").key == "order-7:2" == info.idempotency_key
    assert step_info() is None  # only inside the block


def test_the_last_attempt_takes_its_own_branch():
    ledger.reset()
    with step_context(charge, attempt=3) as info:
        assert info.last_attempt and charge("o-1") == "gave up politely"


def test_a_compensation_sees_its_kind():
    ledger.reset()
    with step_context(charge, compensation=True, name="charge-card"):
        refund("o-1", "charged")
    entry = ledger.assert_once("refund")
    assert entry.data == {"kind_seen": "compensation"} and entry.key == "test-run:1"


def test_bad_numbers_are_definition_errors():
    with pytest.raises(DefinitionError):
        with step_context(charge, attempt=0):
            pass
