"""crash_matrix: every operation x crash point, recovered and checked."""

from __future__ import annotations

import pytest

from wfkit import Context, Retry, step, workflow
from wfkit.testing import VerificationError, crash_matrix

effects: list[str] = []
keys: set[str] = set()


def reset() -> None:
    effects.clear()
    keys.clear()


@step
def reserve(item: str) -> str:
    if f"reserve-{item}" not in keys:
        keys.add(f"reserve-{item}")
        effects.append(f"reserve {item}")
    return item


@reserve.compensation
def release(item: str, reservation: str) -> None:
    if f"release-{item}" not in keys:
        keys.add(f"release-{item}")
        effects.append(f"release {item}")


@step(retry=Retry(attempts=2, initial=1))
def charge(item: str) -> str:
    effects.append(f"charge {item}")  # the bug: no idempotency key
    return "txn"


@workflow
def order(ctx: Context, item: str) -> str:
    ctx.step(reserve, item)
    return ctx.step(charge, item)


def charged_once(run) -> None:
    assert effects.count("charge lamp") <= 1, effects


def test_the_matrix_covers_every_operation_point_and_compensation():
    with pytest.raises(VerificationError) as found:
        crash_matrix(order, "lamp", setup=reset, invariant=charged_once)
    text = str(found.value)
    assert "crash matrix of order" in text
    rows = [line for line in text.splitlines() if line.startswith("#")]
    assert len(rows) == 2 * 3 + 1  # two steps x three points, one compensation
    assert any("charge" in r and "after " in r and "FAIL" in r for r in rows)
    assert any("inside" in r and "ok" in r for r in rows)


def test_a_correct_workflow_passes_every_cell():
    table = crash_matrix(order, "lamp", setup=reset)
    assert table.ok and len(table.cells) == 7
    assert "COMPLETED" in str(table)
