"""Skeleton nodes carry what a finding needs: where each durable operation is written and the
name the engine records for it (which replay compares, and which may differ from the label)."""

from __future__ import annotations

from pathlib import Path

from wfkit.static.skeleton import build_graph, parse_source

WFKIT = """\
from wfkit import Context, step, workflow
from helpers import pay

@step(name="charge-card")
def charge(x): return x

@step
def ship(x): return x

@workflow(name="orders")
def flow(ctx: Context, x, event):
    ctx.step(charge, x)
    ctx.step(ship, x, name="send-parcel")
    ctx.sleep(60)
    ctx.sleep(60, name="cool-off")
    ctx.wait_for_event("approved")
    ctx.wait_for_event(event)
    if ctx.patched("v2"):
        ctx.step(
            ship, x)
    pay(ctx, x)
"""


def _ops(source: str, name: str, path: str = "flows.py", **kwargs):
    graph = build_graph(parse_source(source, path), path, name, "flows", **kwargs)
    return [(n.kind, n.name, n.computed, n.line, n.column) for n in graph.ops], graph


def test_wfkit_operations_with_recorded_names_and_places() -> None:
    ops, graph = _ops(WFKIT, "orders")
    assert graph.workflow == "orders"
    assert ops == [
        ("step", "charge-card", "", 12, 5),  # the decorator's name=
        ("step", "send-parcel", "", 13, 5),  # name= at the call
        ("sleep", "sleep", "", 14, 5),  # the engine's default timer name
        ("sleep", "cool-off", "", 15, 5),
        ("wait", "approved", "", 16, 5),
        ("wait", "event", "the event name is computed at run time: event", 17, 5),
        ("patch", "v2", "", 18, 8),
        ("step", "ship", "", 19, 9),  # a call over two lines: where it starts
    ]


def test_temporal_timers_are_recorded_by_kind_and_activities_by_name() -> None:
    source = """\
from datetime import timedelta
from temporalio import workflow

@workflow.defn(name="Orders")
class Orders:
    @workflow.run
    async def run(self, names):
        await workflow.sleep(timedelta(seconds=5))
        await workflow.execute_activity("charge", start_to_close_timeout=timedelta(seconds=5))
        await workflow.execute_activity(names[0], start_to_close_timeout=timedelta(seconds=5))
"""
    ops, _ = _ops(source, "Orders")
    assert [op[:3] for op in ops] == [
        ("sleep", "", ""),
        ("activity", "charge", ""),
        ("activity", "names[0]", "the activity is computed at run time: names[0]"),
    ]
    assert [op[3:] for op in ops] == [(8, 15), (9, 15), (10, 15)]


def test_helpers_in_other_modules_are_placed_in_their_own_file(tmp_path: Path) -> None:
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "steps.py").write_text(
        "from dbos import DBOS\n\n@DBOS.step(name='pay')\ndef charge(x):\n    return x\n\n"
        "def settle(x):\n    charge(x)\n    DBOS.sleep(3)\n"
    )
    flows = package / "flows.py"
    flows.write_text(
        "from dbos import DBOS\nfrom shop.steps import settle\n\n"
        "@DBOS.workflow()\ndef flow(x):\n    settle(x)\n"
    )
    graph = build_graph(
        parse_source(flows.read_text(), str(flows)),
        str(flows),
        "flow",
        "shop.flows",
        file_path=str(flows),
    )
    assert [(n.kind, n.name, Path(n.path).name, n.line, n.column) for n in graph.ops] == [
        ("step", "pay", "steps.py", 8, 5),
        ("sleep", "", "steps.py", 9, 5),
    ]
