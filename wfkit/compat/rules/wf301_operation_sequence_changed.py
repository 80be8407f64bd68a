"""An operation inserted, removed, reordered, renamed or of another kind where a recorded run
can be past it.

What: a step, activity, transaction, child workflow, timer, event wait or version marker that
a run recorded under the old code meets differently in the new code: another operation in its
place (inserted, reordered, renamed by a function rename or a changed `name=`, or of another
kind), or none at all (removed), anywhere a run can have recorded past it, including inside
branches, loops, parallel groups, exception handlers and helpers in other modules.

Why: a durable engine replays a run by re-running the workflow code and matching each durable
call against the run's recorded history, by position, kind and name. A run in flight that
recorded the old sequence meets the new one on its next replay and fails: Temporal's
non-determinism error (TMPRL1100), wfkit's `NonDeterminismError`, a DBOS run stuck after an
in-place deploy.

Use instead: put the change behind a version gate and keep the old code in its else branch:
`if ctx.patched("<id>"):` (wfkit) or `if workflow.patched("<id>"):` (Temporal). DBOS runs a
workflow on the application version that started it: deploy the change as a new application
version and let the old one finish its runs, or keep the old code path. Operations appended
after the last operation, new operations behind a gate and changes inside step bodies are
safe and not reported.
"""

from __future__ import annotations

from wfkit.compat.rule import CompatRule, Pair

_WFKIT = """\
from wfkit import Context, step, workflow


@step
def reserve(order: str) -> str:
    return order


@step
def charge(order: str) -> str:
    return order


@step
def ship(order: str) -> str:
    return order


@workflow
def process(ctx: Context, order: str) -> None:
"""


class OperationSequenceChanged(CompatRule):
    CODE = "WF301"
    NAME = "OperationSequenceChanged"
    MESSAGE = "a recorded run meets another operation here and cannot replay"
    VALID = [
        Pair(
            _WFKIT + "    ctx.step(reserve, order)\n    ctx.step(charge, order)\n",
            _WFKIT + "    ctx.step(reserve, order)\n    ctx.step(charge, order)\n"
            "    ctx.step(ship, order)\n",
        ),
        Pair(
            "# near miss: the new step is behind a version gate, the old path kept\n"
            + _WFKIT
            + "    ctx.step(reserve, order)\n    ctx.step(charge, order)\n",
            "# near miss: the new step is behind a version gate, the old path kept\n"
            + _WFKIT
            + '    ctx.step(reserve, order)\n    if ctx.patched("ship-first"):\n'
            "        ctx.step(ship, order)\n    ctx.step(charge, order)\n",
        ),
    ]
    INVALID = [
        Pair(
            _WFKIT + "    ctx.step(reserve, order)\n    ctx.step(charge, order)\n",
            _WFKIT + "    ctx.step(reserve, order)\n    ctx.step(ship, order)\n"
            "    ctx.step(charge, order)\n",
        ),
        Pair(
            """\
# alias: Temporal imported under another name; two activities swapped
from datetime import timedelta
from temporalio import workflow as wf

T = timedelta(seconds=30)


@wf.defn
class Checkout:
    @wf.run
    async def run(self, order: str) -> None:
        await wf.execute_activity("reserve", order, start_to_close_timeout=T)
        await wf.execute_activity("charge", order, start_to_close_timeout=T)
""",
            """\
# alias: Temporal imported under another name; two activities swapped
from datetime import timedelta
from temporalio import workflow as wf

T = timedelta(seconds=30)


@wf.defn
class Checkout:
    @wf.run
    async def run(self, order: str) -> None:
        await wf.execute_activity("charge", order, start_to_close_timeout=T)
        await wf.execute_activity("reserve", order, start_to_close_timeout=T)
""",
        ),
    ]
