"""The order workflow as deployed before the change: ``verify_upgrade``'s old code.

Kept as a module beside the new code (docs/testing.md: ``flows_v1.py`` beside ``flows.py``),
so both versions import in one test process.
"""

from __future__ import annotations

from datetime import timedelta

from wfkit import Context, step, workflow


@step
def reserve(item: str) -> str:
    return f"reserved {item}"


@step
def release(item: str, reservation: str) -> None:
    return None


@step
def charge(item: str) -> str:
    return f"charged {item}"


@step
def ship(item: str) -> str:
    return f"shipped {item}"


@workflow(name="order")
def order(ctx: Context, item: str) -> str:
    ctx.step(reserve, item, compensate=release)
    ctx.wait_for_event("paid", timeout=timedelta(days=2))
    ctx.step(charge, item)
    ctx.step(ship, item)
    return "done"
