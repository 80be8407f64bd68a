"""Replaying histories in fresh interpreters under other PYTHONHASHSEED values: the only way
a test process, whose hash seed is fixed, can see steps ordered by iterating a set."""

from __future__ import annotations

import pytest
from hypothesis import settings

from wfkit import Context, step, workflow
from wfkit.errors import UsageError
from wfkit.testing import HashOrderError, TestWorkflowContext, verify
from wfkit.testing.hashseed import replay_under_seeds, step_calls

pytestmark = pytest.mark.slow  # every test starts fresh interpreters

ROOMS = ["a101", "b202", "c303", "d404", "e505", "f606"]


@step
def clean(room: str) -> str:
    return f"clean {room}"


@step
def lock(room: str) -> str:
    return f"locked {room}"


@workflow
def rounds_buggy(ctx: Context, rooms: list[str]) -> list[str]:
    return [ctx.step(clean, r) for r in {*rooms}]


@workflow
def rounds_fixed(ctx: Context, rooms: list[str]) -> list[str]:
    return [ctx.step(clean, r) for r in sorted({*rooms})]


STEPS = {"a101": clean, "b202": lock}


@workflow
def by_name_buggy(ctx: Context) -> list[str]:
    # Different steps in set order: replay alone (kind and name) sees this one.
    return [
        ctx.step(STEPS[r], r, name=f"{STEPS[r].name}-{r}") for r in set(ROOMS[:2] * 3) if r in STEPS
    ] + [ctx.step(lock, r, name=f"lock-{r}") for r in set(ROOMS)]


def test_check_hash_order_catches_steps_in_set_order():
    ctx = TestWorkflowContext()
    ctx.run(rounds_buggy, ROOMS)
    with pytest.raises(HashOrderError) as found:
        ctx.check_hash_order()
    assert found.value.seed == 1
    assert "the run called step 'clean' with" in found.value.divergence


def test_check_hash_order_passes_sorted_steps():
    ctx = TestWorkflowContext()
    ctx.run(rounds_fixed, ROOMS)
    ctx.check_hash_order(seeds=(1, 2, 3))


def test_different_step_names_in_set_order_diverge_on_replay_alone():
    ctx = TestWorkflowContext()
    ctx.run(by_name_buggy)
    found = replay_under_seeds(by_name_buggy, [ctx.history.to_json()], (1, 2))  # no calls
    assert found and "NonDeterminismError" in found[0].message


def test_a_workflow_another_interpreter_cannot_import_is_a_clear_usage_error():
    @workflow(name="local-rounds")
    def local(ctx: Context) -> str:
        return ctx.step(clean, "a101")

    ctx = TestWorkflowContext()
    ctx.run(local)
    assert step_calls(ctx) == [[1, "clean", '[["a101"],{}]']]
    with pytest.raises(UsageError, match="defined inside a function"):
        ctx.check_hash_order()


def test_the_ci_profile_turns_the_check_on_for_verify():
    before = settings.get_current_profile_name()
    settings.load_profile("wfkit-ci")
    try:
        on = verify(rounds_fixed, ROOMS, max_examples=5)
        off = verify(rounds_fixed, ROOMS, max_examples=5, hash_seeds=())
    finally:
        settings.load_profile(before)
    assert "replayed under PYTHONHASHSEED=1,2" in on.line()
    assert "PYTHONHASHSEED" not in off.line()
