"""The engine reports progress to an injected observer: typed events, in order, and never at
the expense of the run (a raising observer is switched off, the run goes on)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wfkit import Context, Retry, step, workflow
from wfkit.engine.progress import (
    AttemptStarted,
    CompensationStarted,
    ProgressEvent,
    RunParked,
    StepCompleted,
    StepGaveUp,
    StepRetrying,
)
from wfkit.engine.status import OpKind, RunStatus
from wfkit.errors import RunFailed

FLAKY_CALLS: list[int] = []


@step(retry=Retry(attempts=3, backoff="fixed", initial=2.0, jitter=False))
def flaky(n: int) -> int:
    FLAKY_CALLS.append(n)
    if len(FLAKY_CALLS) < 2:
        raise ConnectionError("gateway down\nsecond line")
    return n


@step
def book(n: int) -> int:
    return n


@book.compensation
def unbook(n: int, booked: int) -> None:
    pass


@step(retry=Retry(attempts=1))
def broken(n: int) -> int:
    raise ValueError(f"bad {n}")


@workflow(name="progress-flaky")
def retried(ctx: Context, n: int) -> int:
    return ctx.step(flaky, n)


@workflow(name="progress-doomed")
def doomed(ctx: Context, n: int) -> int:
    ctx.step(book, n)
    return ctx.step(broken, n)


@workflow(name="progress-napper")
def napper(ctx: Context) -> str:
    ctx.sleep(timedelta(hours=1))
    return "rested"


class Recorder:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def notify(self, event: ProgressEvent) -> None:
        self.events.append(event)


def test_a_retried_step_reports_each_attempt_and_the_next_attempts_time(make_engine) -> None:
    FLAKY_CALLS.clear()
    seen = Recorder()
    engine = make_engine(observer=seen)
    assert engine.start(retried, 5, workflow_id="f1").result() == 5
    started, retrying, again, completed = seen.events
    assert started == AttemptStarted("f1", 1, OpKind.STEP, "flaky", 1, 3, started.at)
    assert isinstance(retrying, StepRetrying) and (retrying.attempt, retrying.attempts) == (1, 3)
    assert retrying.error == "ConnectionError: gateway down"  # one line
    assert retrying.retry_at == started.at + timedelta(seconds=2)
    assert isinstance(again, AttemptStarted) and again.attempt == 2
    assert isinstance(completed, StepCompleted) and completed.attempt == 2


def test_a_failure_reports_giving_up_then_each_compensation(make_engine) -> None:
    seen = Recorder()
    engine = make_engine(observer=seen)
    engine.start(doomed, 1, workflow_id="d1")
    with pytest.raises(RunFailed):
        engine.result("d1")
    kinds = [
        (type(e).__name__, getattr(e, "name", None), getattr(e, "kind", None)) for e in seen.events
    ]
    assert kinds == [
        ("AttemptStarted", "book", OpKind.STEP),
        ("StepCompleted", "book", OpKind.STEP),
        ("AttemptStarted", "broken", OpKind.STEP),
        ("StepGaveUp", "broken", OpKind.STEP),
        ("CompensationStarted", None, None),
        ("AttemptStarted", "book", OpKind.COMPENSATION),
        ("StepCompleted", "book", OpKind.COMPENSATION),
    ]
    gave_up = seen.events[3]
    assert isinstance(gave_up, StepGaveUp) and gave_up.error == "ValueError: bad 1"
    compensating = seen.events[4]
    assert isinstance(compensating, CompensationStarted)
    assert (compensating.steps, compensating.cancelled) == (1, False)
    assert compensating.error == "ValueError: bad 1"


def test_a_parked_run_says_why_and_until_when(make_engine) -> None:
    seen = Recorder()
    engine = make_engine(observer=seen)
    engine.start(napper, workflow_id="n1")
    engine.work_once()
    (parked,) = seen.events
    assert isinstance(parked, RunParked) and parked.status == RunStatus.SLEEPING
    assert parked.wake_at is not None and parked.reason.startswith("sleep until")


def test_an_observer_that_raises_never_fails_the_run(make_engine) -> None:
    calls: list[ProgressEvent] = []

    class Broken:
        def notify(self, event: ProgressEvent) -> None:
            calls.append(event)
            raise RuntimeError("display is gone")

    engine = make_engine(observer=Broken())
    engine.start(doomed, 2, workflow_id="b1")
    with pytest.raises(RunFailed) as failed:
        engine.result("b1")
    assert failed.value.status == "COMPENSATED"  # the run's own outcome, not the observer's
    assert len(calls) == 1  # switched off after its first failure
