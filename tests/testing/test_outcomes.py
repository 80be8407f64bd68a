"""How verify's examples ended: the statistics line, the guard against a verify that tests
nothing but one failure, and the Hypothesis profile deciding how many examples run."""

from __future__ import annotations

import inspect
import re

import pytest
from hypothesis import settings

from wfkit import Context, Retry, step, workflow
from wfkit.testing import VerificationError, VerifySummary, verify

pytest_plugins = ["pytester"]

BOOKS: list[str] = []


class FakeShipper:
    """The test's fake: its signature drifted from the real client's (no ``priority``)."""

    def ship(self, order: str) -> str:
        return f"track-{order}"


shipper = FakeShipper()


@step
def charge(order: str) -> str:
    BOOKS.append("charge")
    return f"txn-{order}"


@charge.compensation
def refund(order: str, txn: str) -> None:
    BOOKS.append("refund")


@step(retry=Retry(attempts=2, initial=1.0))
def ship(order: str) -> str:
    return shipper.ship(order, priority=True)  # TypeError: the fake takes no priority


@step(retry=Retry(attempts=2, initial=1.0))
def ship_fixed(order: str) -> str:
    return shipper.ship(order)


@workflow
def order_with_bad_fake(ctx: Context, order: str) -> str:
    ctx.step(charge, order)
    return ctx.step(ship, order)


@workflow
def order_with_good_fake(ctx: Context, order: str) -> str:
    ctx.step(charge, order)
    return ctx.step(ship_fixed, order)


def books_balance(run) -> bool:
    """Nothing is refunded that was not charged (holds for a rolled-back world too)."""
    return "refund" not in BOOKS or "charge" in BOOKS


def test_a_verify_where_every_example_fails_one_way_in_test_code_fails_naming_it() -> None:
    with pytest.raises(VerificationError) as found:
        verify(
            order_with_bad_fake, "o-1", setup=BOOKS.clear, invariant=books_balance, max_examples=15
        )
    (problem,) = found.value.problems
    assert re.search(
        r"every example that no injected failure ended \(\d+ of 16\) ended "
        r"COMPENSATED by TypeError: FakeShipper.ship\(\) got an unexpected",
        problem,
    )
    line = inspect.getsourcelines(ship.fn)[1] + 2  # the return line, under the decorator
    assert f"in step 'ship' at tests/testing/test_outcomes.py:{line}," in problem


def test_a_uniform_failure_can_be_allowed() -> None:
    summary = verify(
        order_with_bad_fake,
        "o-1",
        setup=BOOKS.clear,
        invariant=books_balance,
        max_examples=15,
        allow_uniform_failure=True,
    )
    assert summary.outcomes["COMPENSATED"] == summary.examples == 16


def test_verify_returns_how_the_examples_ended() -> None:
    summary = verify(
        order_with_good_fake,
        "o-1",
        setup=BOOKS.clear,
        invariant=books_balance,
        max_examples=30,
        derandomize=True,
        database=None,
        hash_seeds=(),
    )  # the same line under any profile
    assert isinstance(summary, VerifySummary) and summary.examples == 31
    assert summary.outcomes["COMPLETED"] + summary.outcomes["COMPENSATED"] == 31
    assert summary.outcomes["COMPLETED"] and summary.outcomes["COMPENSATED"]
    assert 0 < summary.crashed < 31
    assert summary.line() == (
        f"verify(order_with_good_fake): 31 examples: {summary.outcomes['COMPLETED']} COMPLETED, "
        f"{summary.outcomes['COMPENSATED']} COMPENSATED, 0 FAILED; {summary.crashed} crashed "
        "and resumed"
    )


def test_verify_takes_its_example_count_from_the_hypothesis_profile() -> None:
    before = settings.get_current_profile_name()
    settings.register_profile("test-outcomes-tiny", max_examples=4, database=None)
    settings.load_profile("test-outcomes-tiny")
    try:
        small = verify(order_with_good_fake, "o-1", setup=BOOKS.clear)
        given = verify(
            order_with_good_fake, "o-1", setup=BOOKS.clear, max_examples=12, derandomize=True
        )
    finally:
        settings.load_profile(before)
    assert small.examples <= 5  # the happy path and the profile's 4
    assert given.examples > 5  # an explicit max_examples= wins


def test_the_pytest_report_has_one_line_per_verify(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_it="""
        from wfkit import Context, step, workflow
        from wfkit.testing import verify

        @step
        def greet(name: str) -> str:
            return f"hello {name}"

        @workflow(name="report-greet")
        def greeting(ctx: Context, name: str) -> str:
            return ctx.step(greet, name)

        def test_it():
            verify(greeting, "ada", max_examples=5, database=None)
    """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= wfkit verify =*",
            "test_it.py::test_it: verify(report-greet): * examples: "
            "* COMPLETED, * COMPENSATED, 0 FAILED; * crashed and resumed",
        ]
    )
