"""Every store keeps the same history: SQLite writes an operation's line as the record's
columns and rebuilds its snapshot on read, the memory store keeps the snapshot itself, and an
exported history must not depend on which one a run used."""

from __future__ import annotations

import random
from typing import Any

from wfkit import Context, Retry, step, workflow
from wfkit.engine.clock import ManualClock
from wfkit.engine.engine import Engine
from wfkit.engine.store.memory import MemoryStore

attempts: dict[str, int] = {}


@step(retry=Retry(attempts=3, backoff="fixed", initial=1.0))
def flaky_charge(order: str) -> dict[str, Any]:
    attempts[order] = attempts.get(order, 0) + 1
    if attempts[order] < 2:
        raise ConnectionError("gateway timeout")
    return {"order": order, "paid": True}


@step
def refund(order: str, receipt: dict[str, Any]) -> None:
    return None


@step(retry=Retry(attempts=1))
def notify(order: str) -> None:
    raise RuntimeError(f"mail server down for {order}")


@step
def ship(order: str) -> str:
    return f"shipped {order}"


@workflow(name="history-across-stores")
def checkout(ctx: Context, order: str) -> str:
    ctx.step(flaky_charge, order, compensate=refund)
    ctx.sleep(30)
    label = ctx.step(ship, order)
    ctx.step(notify, order, optional=True)  # fails: its line carries the error
    ctx.patched("fast-shipping")
    return label


def lines(store: Any, tmp_path: Any) -> list[tuple[Any, ...]]:
    attempts.clear()
    engine = Engine(store, clock=ManualClock(), rng=random.Random(3), workflows=[checkout])
    try:
        assert engine.start(checkout, "A-1", workflow_id="o-1").result(timeout=5) == "shipped A-1"
        history = engine.history("o-1")
        operations = engine.operations("o-1")
    finally:
        engine.close()
    assert [e.index for e in history] == list(range(len(history)))
    return [(e.type, e.seq, e.name, e.data) for e in history] + [
        ("op", op.seq, op.kind, op.status, op.attempt, op.result, op.error is None)
        for op in operations
    ]


def test_sqlite_and_memory_stores_keep_the_same_history(tmp_path) -> None:
    in_memory = lines(MemoryStore(), tmp_path)
    on_disk = lines(f"sqlite:///{tmp_path}/wfkit.db", tmp_path)
    assert on_disk == in_memory
    types = [line[0] for line in in_memory]
    assert types.count("step_retrying") == 1 and "timer_fired" in types
    assert "patch_marked" in types and "step_failed" in types and types[-1] == "op"
