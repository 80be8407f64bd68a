"""What a failing test shows: the timeline's order, where the code raised, the step that
failed, and a regression snippet that runs as pasted."""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass

import pytest

from wfkit import Context, Retry, step, workflow
from wfkit.testing import (
    SimulatedCrash,
    TestWorkflowContext,
    VerificationError,
    WorkflowFailed,
    verify,
)
from wfkit.testing.faults import InjectedFailure
from wfkit.testing.verification import timeline

pytest_plugins = ["pytester"]


@step
def first(x: int) -> int:
    return x


@step
def second(x: int) -> int:
    return x


@workflow
def two_steps(ctx: Context) -> int:
    ctx.step(first, 1)
    return ctx.step(second, 2)


@pytest.mark.parametrize("crash", ["crash_before", "crash_after", "crash_after_checkpoint"])
@pytest.mark.parametrize("target", [first, second])
def test_a_resume_after_no_downtime_comes_after_the_crash_it_recovers_from(crash, target):
    ctx = TestWorkflowContext()
    getattr(ctx, crash)(target)
    with pytest.raises(SimulatedCrash):
        ctx.run(two_steps)
    ctx.resume(downtime=0)
    lines = timeline(ctx)
    crashed = next(i for i, line in enumerate(lines) if "CRASH" in line)
    resumed = next(i for i, line in enumerate(lines) if "resumed by a new process" in line)
    assert crashed + 1 == resumed, "\n".join(lines)
    assert lines[-1].endswith("run COMPLETED")


def test_a_crash_at_the_first_operation_is_the_first_line():
    ctx = TestWorkflowContext()
    ctx.crash_at(1)
    with pytest.raises(SimulatedCrash):
        ctx.run(two_steps)
    ctx.resume()
    lines = timeline(ctx)
    assert "CRASH as durable operation #1" in lines[0]
    assert "resumed by a new process after 0s down" in lines[1]


# -- where the code raised, and a snippet that runs as pasted -----------------------------------
@dataclass(frozen=True)
class Trip:
    id: str
    nights: int


@step(retry=Retry(attempts=1))
def book_hotel(trip: Trip) -> dict:
    return {"hotel": f"h-{trip.id}"}


@workflow(name="book-trip")
def book_trip(ctx: Context, trip: Trip) -> str:
    try:
        booking = ctx.step(book_hotel, trip)
    except InjectedFailure:
        booking = None
    return booking["hotel"]  # the planted bug: None when the hotel failed


BUG_LINE = inspect.getsourcelines(book_trip.fn)[1] + 6


def test_a_programming_error_in_the_workflow_names_its_file_and_line():
    with pytest.raises(VerificationError) as found:
        verify(book_trip, Trip("t-1", 2), max_examples=30, derandomize=True, database=None)
    problem = found.value.problems[0]
    assert problem.startswith(
        "the workflow code raised TypeError: 'NoneType' object is not subscriptable at "
    )
    assert f"test_report.py:{BUG_LINE} (a bug on this path)" in problem


def test_the_regression_snippet_runs_as_pasted():
    with pytest.raises(VerificationError) as found:
        verify(book_trip, Trip("t-1", 2), max_examples=30, derandomize=True, database=None)
    text = str(found.value)
    snippet = textwrap.dedent(text.split("(add your mocks/setup/invariant arguments):\n", 1)[1])
    assert "from test_report import Trip, book_trip" not in snippet  # one import per name
    assert "from test_report import Trip\n" in snippet
    assert "from test_report import book_trip\n" in snippet
    namespace: dict = {}
    exec(compile(snippet, "<snippet>", "exec"), namespace)  # every name it uses is imported
    with pytest.raises(VerificationError):
        namespace["test_book_trip_regression"]()


def test_workflow_failed_names_the_step_and_where_it_raised():
    ctx = TestWorkflowContext()
    ctx.mock(book_hotel, raises=ConnectionError("no rooms"))
    with pytest.raises(WorkflowFailed) as failed:
        ctx.run(book_trip, Trip("t-1", 2))
    assert failed.value.step == "book_hotel"
    assert "ended COMPENSATED: step 'book_hotel' failed with ConnectionError: no rooms" in str(
        failed.value
    )


def test_a_body_error_says_where_the_workflow_raised():
    ctx = TestWorkflowContext()
    ctx.fail(book_hotel)
    with pytest.raises(WorkflowFailed) as failed:
        ctx.run(book_trip, Trip("t-1", 2))
    assert failed.value.step is None
    assert failed.value.where.endswith(f"test_report.py:{BUG_LINE}")


def test_tracebacks_hide_the_harness_internals(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_it="""
        from wfkit import Context, step, workflow
        from wfkit.testing import TestWorkflowContext

        @step
        def charge(order: str) -> str:
            return "txn"

        @workflow
        def pay(ctx: Context, order: str) -> str:
            return ctx.step(charge, order)

        def test_crash():
            ctx = TestWorkflowContext()
            ctx.crash_after(charge)
            ctx.run(pay, "o-1")
    """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "SimulatedCrash: simulated crash after the effect of step 'charge'" in output
    assert "wfkit/engine/core" not in output and "wfkit/testing" not in output, output


def test_a_parallel_call_records_where_the_workflow_made_it():
    from wfkit.errors import NonDeterminismError
    from wfkit.testing import replay

    @workflow(name="fan-out")
    def fan_out(ctx: Context) -> list:
        return ctx.parallel(ctx.call(first, 1), ctx.call(second, 2))

    @workflow(name="fan-out")
    def fan_out_v2(ctx: Context) -> list:
        return ctx.parallel(ctx.call(second, 1), ctx.call(first, 2))

    ctx = TestWorkflowContext()
    ctx.run(fan_out)
    line = inspect.getsourcelines(fan_out.fn)[1] + 2
    assert {op.source for op in ctx.store.operations(ctx.run_id)} == {f"{__file__}:{line}"}
    with pytest.raises(NonDeterminismError) as diverged:
        replay(ctx.history, fan_out_v2)
    assert f"(at {__file__}:{line})" in diverged.value.recorded
