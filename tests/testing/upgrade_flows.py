"""New versions of ``upgrade_flows_v1.order``, one per kind of change (all registered as
"order", so a run of the old code resumes on any of them)."""

from __future__ import annotations

from datetime import timedelta

from upgrade_flows_v1 import charge, release, reserve, ship

from wfkit import Context, Retry, step, workflow


@step
def notify(item: str) -> str:
    return f"notified about {item}"


@step(retry=Retry(attempts=5))
def ship_carefully(item: str) -> str:
    return f"shipped {item} carefully"


@workflow(name="order")
def order_appended(ctx: Context, item: str) -> str:
    """Safe: a step after the last one, and a changed retry policy (same step name)."""
    ctx.step(reserve, item, compensate=release)
    ctx.wait_for_event("paid", timeout=timedelta(days=2))
    ctx.step(charge, item)
    ctx.step(ship_carefully, item, name="ship")
    ctx.step(notify, item)
    return "done"


@workflow(name="order")
def order_inserted(ctx: Context, item: str) -> str:
    """Unsafe: a step inserted where old runs recorded another."""
    ctx.step(reserve, item, compensate=release)
    ctx.wait_for_event("paid", timeout=timedelta(days=2))
    ctx.step(notify, item)
    ctx.step(charge, item)
    ctx.step(ship, item)
    return "done"


@workflow(name="order")
def order_patched(ctx: Context, item: str) -> str:
    """The same insertion behind a version gate: old runs keep the old path."""
    ctx.step(reserve, item, compensate=release)
    ctx.wait_for_event("paid", timeout=timedelta(days=2))
    if ctx.patched("notify-before-charge"):
        ctx.step(notify, item)
    ctx.step(charge, item)
    ctx.step(ship, item)
    return "done"


@workflow(name="order")
def order_charge_moved(ctx: Context, item: str) -> str:
    """Replays without divergence, but wrong: the charge moved before the wait behind a gate,
    and the old charge after the wait was deleted, so a run the old code parked on the wait
    ships without ever being charged."""
    ctx.step(reserve, item, compensate=release)
    if ctx.patched("charge-first"):
        ctx.step(charge, item)
    ctx.wait_for_event("paid", timeout=timedelta(days=2))
    ctx.step(ship, item)
    return "done"


@workflow(name="shipment")
def renamed(ctx: Context, item: str) -> str:
    ctx.step(ship, item)
    return "done"
