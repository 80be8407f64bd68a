"""The payload limit: an input over it is refused at start with nothing stored, a step result
over it fails that step (once, not retried) and leaves a consistent store, an event over it is
refused; the limit is the engine's to set."""

from __future__ import annotations

import pytest

from wfkit import Context, Retry, step, workflow
from wfkit.engine.codec_checks import DEFAULT_MAX_PAYLOAD_BYTES, PayloadTooLarge
from wfkit.engine.status import OpStatus, RunStatus
from wfkit.errors import RunFailed, UsageError

LIMIT = 1000


@step(retry=Retry(attempts=3))
def inflate(n: int) -> str:
    return "x" * n


@step
def book(n: int) -> int:
    return n


@book.compensation
def unbook(n: int, booked: int) -> None:
    pass


@workflow(name="limit-echo")
def echo(ctx: Context, text: str) -> int:
    return len(text)


@workflow(name="limit-inflate")
def inflated(ctx: Context, n: int) -> int:
    ctx.step(book, n)
    return len(ctx.step(inflate, n))


@workflow(name="limit-waits")
def waits(ctx: Context) -> object:
    return ctx.wait_for_event("data", timeout=3600)


def test_an_input_over_the_limit_is_refused_at_start_and_nothing_is_stored(make_engine) -> None:
    engine = make_engine(max_payload_bytes=LIMIT)
    with pytest.raises(PayloadTooLarge) as refused:
        engine.start(echo, "y" * LIMIT, workflow_id="big")
    assert isinstance(refused.value, UsageError)  # the CLI's exit 2
    assert (refused.value.size, refused.value.limit) == (
        LIMIT + 2 + len('{"args": [], "kwargs": {}}'),
        LIMIT,
    )
    assert "input of workflow 'limit-echo'" in refused.value.message and refused.value.hint
    assert engine.list_runs() == []
    assert engine.start(echo, "y" * 100, workflow_id="small").result() == 100


def test_a_step_result_over_the_limit_fails_that_step_once_and_compensates(make_engine) -> None:
    engine = make_engine(max_payload_bytes=LIMIT)
    engine.start(inflated, LIMIT + 1, workflow_id="r1")
    with pytest.raises(RunFailed) as failed:
        engine.result("r1")
    assert failed.value.status == RunStatus.COMPENSATED.value
    assert failed.value.error and failed.value.error["type"] == "PayloadTooLarge"
    ops = engine.operations("r1")
    step = next(o for o in ops if o.name == "inflate")
    assert (step.status, step.attempt, step.result) == (OpStatus.FAILED, 1, None)
    assert [o.status for o in ops if o.kind == "compensation"] == [OpStatus.COMPLETED]


def test_an_event_over_the_limit_is_refused(make_engine) -> None:
    engine = make_engine(max_payload_bytes=LIMIT)
    engine.start(waits, workflow_id="w1")
    engine.work_once()
    with pytest.raises(PayloadTooLarge):
        engine.send_event("w1", "data", "z" * LIMIT)
    engine.send_event("w1", "data", "ok")
    assert engine.result("w1") == "ok"


def test_the_default_limit_is_a_few_megabytes_and_none_lifts_it(make_engine) -> None:
    assert 1024**2 <= DEFAULT_MAX_PAYLOAD_BYTES <= 16 * 1024**2
    engine = make_engine()
    assert engine.rt.codec.max_payload_bytes == DEFAULT_MAX_PAYLOAD_BYTES
    unlimited = make_engine(max_payload_bytes=None)
    big = DEFAULT_MAX_PAYLOAD_BYTES + 1
    assert unlimited.start(echo, "y" * big, workflow_id="huge").result() == big


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "4MB"])
def test_a_bad_limit_is_a_usage_error(make_engine, bad) -> None:
    with pytest.raises(UsageError, match="max_payload_bytes"):
        make_engine(max_payload_bytes=bad)
