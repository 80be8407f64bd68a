"""Steps: results, typed decoding, replay across activations, retries, optional steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from wfkit import Context, Retry, step, workflow
from wfkit.engine.status import OpStatus, RunStatus
from wfkit.errors import RunFailed, SerializationError, StepFailed


@dataclass
class Payment:
    txn: str
    amount: Decimal


calls: dict[str, int] = {}


def _count(name: str) -> None:
    calls[name] = calls.get(name, 0) + 1


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


@step
def charge(amount: str) -> Payment:
    _count("charge")
    return Payment("txn-1", Decimal(amount))


@step
def double(x: int) -> int:
    _count("double")
    return 2 * x


@workflow
def pay(ctx: Context, amount: str) -> dict:
    payment = ctx.step(charge, amount)
    assert isinstance(payment, Payment) and isinstance(payment.amount, Decimal)
    return {"txn": payment.txn, "doubled": double(21)}


def test_a_workflow_runs_its_steps_and_returns_the_result(engine):
    handle = engine.start(pay, "10.50", workflow_id="order-1")
    assert handle.result(timeout=5) == {"txn": "txn-1", "doubled": 42}
    assert handle.status() == RunStatus.COMPLETED
    ops = engine.operations("order-1")
    assert [(op.seq, op.name, op.status) for op in ops] == [
        (1, "charge", OpStatus.COMPLETED),
        (2, "double", OpStatus.COMPLETED),
    ]
    assert calls == {"charge": 1, "double": 1}


def test_start_is_idempotent_on_the_workflow_id(engine):
    first = engine.start(pay, "1", workflow_id="same")
    second = engine.start(pay, "2", workflow_id="same")
    assert first.id == second.id == "same"
    assert second.result(timeout=5)["txn"] == "txn-1"
    assert len(engine.list_runs()) == 1


def test_direct_step_calls_outside_a_workflow_are_plain_calls():
    assert double(4) == 8 and calls == {"double": 1}


flaky_failures: list[int] = []


@step(retry=Retry(attempts=4, backoff="fixed", initial=2.0))
def flaky() -> str:
    _count("flaky")
    if calls["flaky"] <= 2:
        raise ConnectionError(f"down #{calls['flaky']}")
    return "up"


@workflow
def uses_flaky(ctx: Context) -> str:
    return ctx.step(flaky)


def test_retries_wait_on_the_clock_and_record_every_attempt(engine):
    start = engine.clock.now()
    assert engine.start(uses_flaky, workflow_id="f").result(timeout=5) == "up"
    (op,) = engine.operations("f")
    assert op.attempt == 3 and op.status == OpStatus.COMPLETED
    assert engine.clock.now() - start >= timedelta(seconds=4)  # two 2 s backoffs, virtual
    types = [e.type for e in engine.history("f")]
    assert types.count("step_retrying") == 2 and "step_completed" in types


@step(retry=Retry(attempts=2, backoff="fixed", initial=600.0, max_delay=600.0))
def slow_retry() -> str:
    _count("slow")
    if calls["slow"] == 1:
        raise TimeoutError("first")
    return "ok"


@workflow
def uses_slow_retry(ctx: Context) -> str:
    return ctx.step(slow_retry)


def test_a_long_retry_delay_parks_the_run_and_keeps_the_attempt_count(engine):
    handle = engine.start(uses_slow_retry, workflow_id="s")
    assert engine.work_once() is True
    assert handle.status() == RunStatus.SLEEPING
    (op,) = engine.operations("s")
    assert op.status == OpStatus.RETRYING and op.attempt == 1
    assert engine.work_once() is False  # not due yet
    assert handle.result(timeout=5) == "ok"
    (op,) = engine.operations("s")
    assert op.attempt == 2


class CardDeclined(Exception):
    pass


@step(retry=Retry(attempts=1))
def declined() -> None:
    raise CardDeclined("insufficient funds")


@workflow
def swallow(ctx: Context) -> str:
    try:
        ctx.step(declined)
    except CardDeclined as exc:
        return f"handled: {exc}"
    return "not reached"


def test_a_step_failure_reaches_the_workflow_as_the_original_exception_type(engine):
    assert engine.start(swallow).result(timeout=5) == "handled: insufficient funds"


@workflow
def with_optional(ctx: Context) -> str:
    ctx.step(declined, optional=True)
    return "carried on"


def test_an_optional_step_failure_returns_none_and_does_not_roll_back(engine):
    handle = engine.start(with_optional, workflow_id="o")
    assert handle.result(timeout=5) == "carried on"
    assert engine.operations("o")[0].status == OpStatus.FAILED


class NotJson:
    pass


@step
def returns_object() -> object:
    return NotJson()


@workflow
def bad_result(ctx: Context) -> None:
    ctx.step(returns_object)


def test_an_unserializable_result_fails_the_step_naming_it(engine):
    handle = engine.start(bad_result, workflow_id="b")
    with pytest.raises(RunFailed) as failed:
        handle.result(timeout=5)
    assert failed.value.status == "COMPENSATED"
    assert failed.value.error["type"] == "EncodingError"  # a SerializationError
    assert "returns_object" in failed.value.error["message"]
    assert "NotJson" in failed.value.error["message"]


def test_unserializable_workflow_input_fails_at_start(engine):
    with pytest.raises(SerializationError):
        engine.start(pay, NotJson())
    assert engine.list_runs() == []


@workflow
def lambda_step(ctx: Context) -> int:
    return ctx.step(lambda: 5, name="five")


def test_plain_callables_and_lambdas_with_a_name_are_steps(engine):
    assert engine.start(lambda_step, workflow_id="l").result(timeout=5) == 5
    assert engine.operations("l")[0].name == "five"


def test_an_unknown_failure_type_comes_back_as_step_failed():
    from wfkit.engine.core.failures import rebuild_error

    exc = rebuild_error('{"type": "Gone", "module": "not.imported", "message": "x"}', "s")
    assert isinstance(exc, StepFailed) and exc.error_type == "Gone"


def test_starting_an_existing_run_needs_no_valid_input(engine):
    """`wfkit run --id ID` resumes a run without its input: a second start returns the run
    even with arguments that would not start a new one; a new id with them still fails."""
    engine.start(pay, "1", workflow_id="again").result(timeout=5)
    assert engine.start(pay, NotJson(), workflow_id="again").id == "again"
    assert engine.start(pay, workflow_id="again").id == "again"
    with pytest.raises(SerializationError):
        engine.start(pay, NotJson(), workflow_id="fresh")
    assert [r.id for r in engine.list_runs()] == ["again"]
