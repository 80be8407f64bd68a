"""Retry policy: the backoff math, the cap, jitter bounds, which errors are retried, and the
checks that make a bad policy fail when it is built."""

from __future__ import annotations

import asyncio
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfkit.engine.retry import DEFAULT_COMPENSATION_RETRY, DEFAULT_STEP_RETRY, Retry
from wfkit.errors import DefinitionError, StepTimeout


class PaymentDeclined(Exception):
    pass


class CardExpired(PaymentDeclined):
    pass


def delays(policy: Retry, count: int, seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    return [policy.delay(n, rng) for n in range(1, count + 1)]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (Retry(backoff="fixed", initial=2.0), [2.0, 2.0, 2.0, 2.0]),
        (Retry(backoff="linear", initial=1.5), [1.5, 3.0, 4.5, 6.0]),
        (Retry(backoff="exponential", initial=1.0), [1.0, 2.0, 4.0, 8.0]),
        (Retry(backoff="exponential", initial=0.5, max_delay=3.0), [0.5, 1.0, 2.0, 3.0]),
        (Retry(backoff="linear", initial=10, max_delay=25), [10.0, 20.0, 25.0, 25.0]),
        (Retry(backoff=lambda n: n * n, max_delay=10), [1.0, 4.0, 9.0, 10.0]),
        (Retry(backoff="exponential", initial=0.0, max_delay=0.0), [0.0, 0.0, 0.0, 0.0]),
    ],
)
def test_backoff_math_and_cap(policy, expected):
    assert delays(policy, 4) == expected
    assert all(type(d) is float for d in delays(policy, 4))


def test_exponential_backoff_never_overflows():
    policy = Retry(attempts=5000, initial=1.0, max_delay=60.0, jitter=True)
    assert policy.delay(4999, random.Random(1)) <= 60.0
    assert Retry(initial=0.0).delay(4999, random.Random(1)) == 0.0


@given(
    backoff=st.sampled_from(["fixed", "linear", "exponential"]),
    initial=st.floats(0, 1000),
    extra=st.floats(0, 10_000),
    attempt=st.integers(1, 2000),
    seed=st.integers(0, 2**32),
)
def test_equal_jitter_stays_between_half_the_wait_and_the_wait(
    backoff, initial, extra, attempt, seed
):
    plain = Retry(backoff=backoff, initial=initial, max_delay=initial + extra)
    jittered = Retry(backoff=backoff, initial=initial, max_delay=initial + extra, jitter=True)
    wait = plain.delay(attempt, random.Random(seed))
    shaken = jittered.delay(attempt, random.Random(seed))
    assert wait / 2 <= shaken <= wait <= jittered.max_delay
    assert shaken == jittered.delay(attempt, random.Random(seed))  # same seed, same wait


def test_jitter_uses_only_the_given_rng():
    before = random.getstate()
    values = delays(Retry(attempts=9, jitter=True), 8, seed=7)
    assert random.getstate() == before
    assert values == delays(Retry(attempts=9, jitter=True), 8, seed=7)
    assert values != delays(Retry(attempts=9, jitter=True), 8, seed=8)
    assert len(set(values)) > 1


def test_delay_rejects_attempt_numbers_below_one():
    with pytest.raises(ValueError):
        Retry().delay(0, random.Random())


@pytest.mark.parametrize("returned", [-1, math.nan, "soon", None])
def test_a_backoff_callable_must_return_seconds(returned):
    with pytest.raises(DefinitionError, match="returned"):
        Retry(backoff=lambda n: returned).delay(1, random.Random())


@pytest.mark.parametrize(
    ("policy", "error", "attempt", "expected"),
    [
        (Retry(attempts=3), ValueError("x"), 1, True),
        (Retry(attempts=3), ValueError("x"), 2, True),
        (Retry(attempts=3), ValueError("x"), 3, False),  # the last attempt failed: no more
        (Retry.none(), ValueError("x"), 1, False),
        (Retry(retry_on=TimeoutError), StepTimeout("s", 1.0), 1, True),  # a subclass matches
        (Retry(retry_on=TimeoutError), ValueError("x"), 1, False),
        (Retry(retry_on=(TimeoutError, ConnectionError)), ConnectionResetError(), 1, True),
        (Retry(no_retry_on=PaymentDeclined), CardExpired(), 1, False),  # no_retry_on wins
        (Retry(retry_on=CardExpired, no_retry_on=PaymentDeclined), CardExpired(), 1, False),
        (Retry(retry_on=PaymentDeclined, no_retry_on=CardExpired), PaymentDeclined(), 1, True),
        (Retry(), KeyboardInterrupt(), 1, False),
        (Retry(), asyncio.CancelledError(), 1, False),
    ],
)
def test_should_retry(policy, error, attempt, expected):
    assert policy.should_retry(error, attempt) is expected


def test_single_exception_classes_and_lists_are_normalised_to_tuples():
    policy = Retry(retry_on=TimeoutError, no_retry_on=[CardExpired, PaymentDeclined])
    assert policy.retry_on == (TimeoutError,)
    assert policy.no_retry_on == (CardExpired, PaymentDeclined)
    assert policy == Retry(retry_on=(TimeoutError,), no_retry_on=(CardExpired, PaymentDeclined))
    hash(policy)  # frozen and hashable, so it can be shared and compared


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"attempts": 0}, "attempts must be at least 1"),
        ({"attempts": -3}, "attempts must be at least 1"),
        ({"attempts": 2.5}, "attempts must be an int"),
        ({"attempts": True}, "attempts must be an int"),
        ({"initial": -1}, "initial must be a finite number"),
        ({"initial": math.nan}, "initial must be a finite number"),
        ({"initial": "1s"}, "initial must be a finite number"),
        ({"max_delay": math.inf}, "max_delay must be a finite number"),
        ({"initial": 10, "max_delay": 5}, "max_delay (5) is below initial (10)"),
        ({"backoff": "expo"}, "unknown backoff 'expo'"),
        ({"backoff": 3}, "backoff must be a name or a callable"),
        ({"jitter": "yes"}, "jitter must be True or False"),
        ({"retry_on": ValueError("x")}, "an instance of ValueError (pass the class)"),
        ({"retry_on": (TimeoutError, "oops")}, "retry_on must hold exception classes"),
        ({"retry_on": int}, "retry_on must hold exception classes"),
        ({"retry_on": BaseException}, "not an Exception subclass"),
        ({"retry_on": KeyboardInterrupt}, "not an Exception subclass"),
        ({"no_retry_on": [str]}, "no_retry_on must hold exception classes"),
    ],
)
def test_invalid_policies_fail_when_built(kwargs, fragment):
    with pytest.raises(DefinitionError) as caught:
        Retry(**kwargs)
    assert fragment in caught.value.message
    assert caught.value.hint and caught.value.exit_code == 2


def test_no_retry_on_may_name_base_exceptions():
    assert not Retry(no_retry_on=KeyboardInterrupt).should_retry(KeyboardInterrupt(), 1)


def test_none_and_the_defaults():
    assert Retry.none().attempts == 1
    assert delays(DEFAULT_STEP_RETRY, DEFAULT_STEP_RETRY.attempts - 1) == [1.0, 2.0]
    waits = delays(DEFAULT_COMPENSATION_RETRY, DEFAULT_COMPENSATION_RETRY.attempts - 1)
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert DEFAULT_COMPENSATION_RETRY.attempts > DEFAULT_STEP_RETRY.attempts
