"""The core of `wfkit compat`: pairs of old and new workflow code, read statically, and where a
run recorded under the old code stops replaying on the new (or that it never does)."""

from __future__ import annotations

import textwrap

import pytest

from wfkit.compat.divergence import diverge
from wfkit.compat.paths import Recorded, Shape, paths
from wfkit.static.skeleton import build_graph, parse_source

WFKIT = """\
from wfkit import Context, step, workflow

@step
def a(x): return x

@step
def b(x): return x

@step
def c(x): return x

@step(name="renamed-b")
def b2(x): return x

class Declined(Exception):
    pass

@workflow
def flow(ctx: Context, x):
"""

TEMPORAL = """\
from datetime import timedelta
from temporalio import activity, workflow

@activity.defn
async def a(x): return x

@activity.defn
async def b(x): return x

@activity.defn
async def c(x): return x

T = timedelta(seconds=5)

@workflow.defn
class Flow:
    @workflow.run
    async def run(self, x):
"""

DBOS = """\
from dbos import DBOS

@DBOS.step()
def a(x): return x

@DBOS.step()
def b(x): return x

@DBOS.step()
def c(x): return x

@DBOS.workflow()
def flow(x):
"""


def _graph(head: str, body: str, name: str):
    source = head + textwrap.indent(textwrap.dedent(body), "    " * (2 if head is TEMPORAL else 1))
    return build_graph(parse_source(source, "flows.py"), "flows.py", name, "flows")


def places(
    old_body: str, new_body: str, head: str = WFKIT, name: str = "flow"
) -> set[tuple[tuple[str, ...], str]]:
    """(recorded names up to the divergence, what the new code meets there) for each place."""
    old, new = _graph(head, old_body, name), Shape.of(_graph(head, new_body, name))
    found = set()
    walked = paths(old)
    assert walked.complete
    for path in walked.paths:
        for place in diverge(path, new):
            met = "end" if place.met is None else new.nodes[place.met].label
            if place.handler:
                met = f"no handler {place.handler}"
            found.add((tuple(r.key[1] or r.key[0] for r in place.prefix), met))
    return found


SAFE = [
    pytest.param(
        "ctx.step(a, x)\nctx.step(b, x)\n",
        "ctx.step(a, x)\nctx.step(b, x)\nctx.step(c, x)\n",
        id="appended",
    ),
    pytest.param(
        "ctx.step(a, x)\nctx.step(b, x)\n",
        "y = x * 2\nctx.step(a, y)\nctx.step(b, x + 1)\n",
        id="arguments-changed",
    ),
    pytest.param(
        "ctx.step(a, x)\nctx.step(b, x)\n",
        "ctx.step(a, x)\nif ctx.patched('add-c'):\n    ctx.step(c, x)\nctx.step(b, x)\n",
        id="gated-insert",
    ),
    pytest.param(
        "ctx.sleep(60)\nctx.step(a, x)\n", "ctx.sleep(3600)\nctx.step(a, x)\n", id="timer-duration"
    ),
    pytest.param(
        "for i in x:\n    ctx.step(a, i)\nctx.step(b, x)\n",
        "for item in x:\n    ctx.step(a, item)\nctx.step(b, x)\nctx.step(c, x)\n",
        id="loop-then-append",
    ),
    pytest.param(
        "if x:\n    ctx.step(a, x)\nelse:\n    ctx.step(b, x)\n",
        "if x:\n    ctx.step(a, x)\nelse:\n    ctx.step(b, x)\n    ctx.step(c, x)\n",
        id="branch-appended",
    ),
    pytest.param(
        "ctx.parallel(ctx.call(a, x), ctx.call(b, x))\n",
        "ctx.parallel(ctx.call(a, x), ctx.call(b, x))\nctx.step(c, x)\n",
        id="parallel-then-append",
    ),
    pytest.param(
        "if x > 1:\n    ctx.step(a, x)\nctx.step(b, x)\n",
        "limit = x\nif limit > 1:\n    ctx.step(a, x)\nctx.step(b, x)\n",
        id="renamed-local-in-a-condition",
    ),
]


@pytest.mark.parametrize(("old", "new"), SAFE)
def test_changes_that_replay(old: str, new: str) -> None:
    assert places(old, new) == set()


UNSAFE = [
    pytest.param(
        "ctx.step(a, x)\nctx.step(b, x)\n",
        "ctx.step(a, x)\nctx.step(c, x)\nctx.step(b, x)\n",
        {(("a", "b"), "c")},
        id="inserted",
    ),
    pytest.param(
        "ctx.step(a, x)\nctx.step(b, x)\n", "ctx.step(a, x)\n", {(("a", "b"), "end")}, id="removed"
    ),
    pytest.param(
        "ctx.step(a, x)\nctx.step(b, x)\n",
        "ctx.step(b, x)\nctx.step(a, x)\n",
        {(("a",), "b")},
        id="reordered",
    ),
    pytest.param(
        "ctx.step(a, x)\nctx.step(b, x)\n",
        "ctx.step(a, x)\nctx.step(b2, x)\n",
        {(("a", "b"), "renamed-b")},
        id="renamed-by-name=",
    ),
    pytest.param(
        "ctx.step(a, x)\nctx.step(b, x)\n",
        "ctx.step(a, x)\nctx.step(b, x, name='other')\n",
        {(("a", "b"), "other")},
        id="renamed-at-the-call",
    ),
    pytest.param(
        "ctx.step(a, x)\nctx.sleep(5)\n",
        "ctx.step(a, x)\nctx.wait_for_event('go')\n",
        {(("a", "sleep"), "go")},
        id="other-kind",
    ),
    pytest.param(
        "if x:\n    ctx.step(a, x)\nelse:\n    ctx.step(b, x)\n",
        "if x:\n    ctx.step(a, x)\nelse:\n    ctx.step(c, x)\n",
        {(("b",), "c")},
        id="changed-in-a-branch",
    ),
    pytest.param(
        "for i in x:\n    ctx.step(a, i)\nctx.step(b, x)\n",
        "for i in x:\n    ctx.step(a, i)\n    ctx.step(c, i)\nctx.step(b, x)\n",
        {(("a", "a"), "c"), (("a", "b"), "c")},
        id="added-in-a-loop",
    ),
    pytest.param(
        "ctx.step(a, x)\nctx.step(b, x)\n",
        "ctx.step(a, x)\nif x:\n    ctx.step(c, x)\nctx.step(b, x)\n",
        {(("a", "b"), "c")},
        id="new-ungated-branch",
    ),
    pytest.param(
        "ctx.parallel(ctx.call(a, x), ctx.call(b, x))\n",
        "ctx.parallel(ctx.call(b, x), ctx.call(a, x))\n",
        {(("a",), "b")},
        id="parallel-reordered",
    ),
    pytest.param(
        "ctx.step(a, x)\nif ctx.patched('add-c'):\n    ctx.step(c, x)\nctx.step(b, x)\n",
        "ctx.step(a, x)\nctx.step(c, x)\nctx.step(b, x)\n",
        {(("a", "add-c"), "c"), (("a", "b"), "c")},
        id="gate-dropped-with-old-path",
    ),
    pytest.param(
        "try:\n    ctx.step(a, x)\nexcept Declined:\n    ctx.step(b, x)\n",
        "ctx.step(a, x)\n",
        {(("a", "b"), "no handler except Declined")},
        id="handler-removed",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), UNSAFE)
def test_changes_that_do_not_replay(old: str, new: str, expected: set) -> None:
    found = {
        (tuple(n.replace('patched("add-c")', "add-c") for n in names), met)
        for names, met in places(old, new)
    }
    assert found == expected


def test_temporal_activities_compare_by_activity_name() -> None:
    old = (
        "await workflow.execute_activity(a, x, start_to_close_timeout=T)\n"
        "await workflow.execute_activity(b, x, start_to_close_timeout=T)\n"
    )
    timeout_only = old.replace("start_to_close_timeout=T", "start_to_close_timeout=T * 2")
    swapped = (
        "await workflow.execute_activity(b, x, start_to_close_timeout=T)\n"
        "await workflow.execute_activity(a, x, start_to_close_timeout=T)\n"
    )
    assert places(old, timeout_only, TEMPORAL, "Flow") == set()
    assert places(old, swapped, TEMPORAL, "Flow") == {(("a",), "b")}


def test_dbos_steps_compare_by_function() -> None:
    old = "a(x)\nb(x)\n"
    assert places(old, "a(x)\nb(x)\nc(x)\n", DBOS) == set()
    assert places(old, "a(x)\nc(x)\nb(x)\n", DBOS) == {(("a", "b"), "c")}


def test_a_path_records_the_operations_a_run_meets_in_order() -> None:
    graph = _graph(WFKIT, "ctx.step(a, x)\nif x:\n    ctx.step(b, x)\nctx.step(c, x)\n", "flow")
    recorded = sorted(
        tuple(e.key[1] for e in path if isinstance(e, Recorded)) for path in paths(graph).paths
    )
    assert recorded == [("a", "b", "c"), ("a", "c")]


def test_the_walk_is_bounded() -> None:
    body = "".join(f"if x > {n}:\n    ctx.step(a, x)\n" for n in range(16))
    walked = paths(_graph(WFKIT, body, "flow"), limit=1000)
    assert not walked.complete and len(walked.paths) == 1000
