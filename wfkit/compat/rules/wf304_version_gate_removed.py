"""A version gate, or its old branch, removed while runs recorded before it may be in flight.

What: `if ctx.patched("<id>")` / `if workflow.patched("<id>")` dropped together with the
code of its old branch, or the old branch of a gate that stays emptied, where runs recorded
before the gate existed would take that old branch.

Why: a gate exists so that runs recorded before it keep replaying the old code. Removing the
old branch is safe only once no run recorded before the gate is in flight; until then those
runs meet the new code on their next replay and fail.

Use instead: keep the gate and its old branch until `wfkit patches` says "safe to delete the
old branch" for it (no run recorded before the gate is in flight), then remove the old branch;
remove the gate itself once it says "safe to remove the gate".
"""

from __future__ import annotations

from wfkit.compat.rule import CompatRule, Pair

_HEAD = """\
from wfkit import Context, step, workflow


@step
def charge(order: str) -> str:
    return order


@step
def charge_v2(order: str) -> str:
    return order


@workflow
def process(ctx: Context, order: str) -> None:
"""


class VersionGateRemoved(CompatRule):
    CODE = "WF304"
    NAME = "VersionGateRemoved"
    MESSAGE = "a version gate's old branch is gone while runs recorded before it may be in flight"
    VALID = [
        Pair(
            _HEAD + "    ctx.step(charge, order)\n",
            _HEAD + '    if ctx.patched("charge-v2"):\n        ctx.step(charge_v2, order)\n'
            "    else:\n        ctx.step(charge, order)\n",
        ),
        Pair(
            "# near miss: the gate is kept with its old branch; only the new branch changed\n"
            + _HEAD
            + '    if ctx.patched("charge-v2"):\n        ctx.step(charge_v2, order)\n'
            "    else:\n        ctx.step(charge, order)\n",
            "# near miss: the gate is kept with its old branch; only the new branch changed\n"
            + _HEAD
            + '    if ctx.patched("charge-v2"):\n        ctx.step(charge_v2, order)\n'
            "        ctx.step(charge, order)\n    else:\n        ctx.step(charge, order)\n",
        ),
    ]
    INVALID = [
        Pair(
            _HEAD + '    if ctx.patched("charge-v2"):\n        ctx.step(charge_v2, order)\n'
            "    else:\n        ctx.step(charge, order)\n",
            _HEAD + "    ctx.step(charge_v2, order)\n",
        ),
        Pair(
            """\
# alias: Temporal imported under another name; the gate dropped with its old path
from datetime import timedelta
from temporalio import workflow as wf

T = timedelta(seconds=30)


@wf.defn
class Checkout:
    @wf.run
    async def run(self, order: str) -> None:
        if wf.patched("charge-v2"):
            await wf.execute_activity("charge_v2", order, start_to_close_timeout=T)
        else:
            await wf.execute_activity("charge", order, start_to_close_timeout=T)
""",
            """\
# alias: Temporal imported under another name; the gate dropped with its old path
from datetime import timedelta
from temporalio import workflow as wf

T = timedelta(seconds=30)


@wf.defn
class Checkout:
    @wf.run
    async def run(self, order: str) -> None:
        await wf.execute_activity("charge_v2", order, start_to_close_timeout=T)
""",
        ),
    ]
