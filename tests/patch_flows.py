"""Two versions of the same workflows, as source: the runs of a version-gate lifecycle.

``V1`` is the code before the change; ``V2`` gates the change with ``ctx.patched`` and adds a
workflow whose gate sits after a wait, so runs in flight can be parked before it. The tests
write them to files, load them (the engine) or read them (``wfkit patches``, statically), and
``populate`` records runs of both versions in one store.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from wfkit.engine.clock import ManualClock
from wfkit.engine.engine import Engine
from wfkit.engine.loader import load_workflow
from wfkit.engine.status import RunStatus

V1 = textwrap.dedent(
    """
    from wfkit import Context, step, workflow


    @step
    def reserve() -> str:
        return "reserved"


    @step
    def ship() -> str:
        return "shipped"


    @workflow(name="order")
    def order(ctx: Context) -> str:
        ctx.step(reserve)
        ctx.step(ship)
        ctx.wait_for_event("go")
        return "done"
    """
)

V2 = textwrap.dedent(
    """
    from wfkit import Context, step, workflow


    @step
    def reserve() -> str:
        return "reserved"


    @step
    def ship() -> str:
        return "shipped"


    @step
    def ship_fast() -> str:
        return "shipped fast"


    @workflow(name="order")
    def order(ctx: Context) -> str:
        ctx.step(reserve)
        if ctx.patched("fast-shipping"):
            ctx.step(ship_fast)
        else:
            ctx.step(ship)
        ctx.wait_for_event("go")
        return "done"


    @workflow(name="later")
    def later(ctx: Context) -> str:
        ctx.wait_for_event("go")
        if ctx.patched("late-gate"):
            ctx.step(ship_fast)
        return "ok"
    """
)


def write_versions(directory: Path) -> tuple[Path, Path]:
    """flows_v1.py beside flows.py, as the docs recommend keeping them."""
    old, new = directory / "flows_v1.py", directory / "flows.py"
    old.write_text(V1)
    new.write_text(V2)
    return old, new


def populate(store: Any, directory: Path, clock: ManualClock) -> tuple[Engine, Engine]:
    """Record, on ``store`` (a URL or a store object shared by both engines):

    - ``old-1`` (v1, at T0): reserve, ship, then parked on "go" past the gate's position;
    - ``new-1`` (v2, at T0+1h): reserve, the fast-shipping marker, ship_fast, parked on "go";
    - ``later-1`` (v2, at T0+2h): parked on "go" before late-gate, which no run passed yet.
    """
    old_path, new_path = write_versions(directory)
    old_order = load_workflow(f"{old_path}:order")
    order, later = load_workflow(f"{new_path}:order"), load_workflow(f"{new_path}:later")
    v1 = Engine(store, workflows=[old_order], clock=clock)
    v2 = Engine(
        store if isinstance(store, str) else v1.store, workflows=[order, later], clock=clock
    )
    v1.start(old_order, workflow_id="old-1")
    assert v1.work_once("old-1") and v1.get_run("old-1").status == RunStatus.WAITING
    clock.advance(3600)
    v2.start(order, workflow_id="new-1")
    assert v2.work_once("new-1") and v2.get_run("new-1").status == RunStatus.WAITING
    clock.advance(3600)
    v2.start(later, workflow_id="later-1")
    assert v2.work_once("later-1") and v2.get_run("later-1").status == RunStatus.WAITING
    return v1, v2


def finish(engine: Engine, run_id: str) -> Any:
    engine.send_event(run_id, "go")
    return engine.result(run_id, timeout=5)
