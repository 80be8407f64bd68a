"""A Temporal activity started without a timeout.

What: `workflow.execute_activity`, `start_activity` and their `_method`, `_class` and local
forms called without `start_to_close_timeout` or `schedule_to_close_timeout` (calls passing
`**kwargs` are not judged).

Why: Temporal rejects an activity without one of these timeouts when the workflow runs, so the
mistake surfaces only at run time, in production, after the workflow has started.

Use instead: pass `start_to_close_timeout=timedelta(...)` (or `schedule_to_close_timeout`).
"""

from __future__ import annotations

from wfkit.lint import lazycst as cst
from wfkit.lint.rule import LintRule
from wfkit.static.knowledge import TEMPORAL_ACTIVITY_STARTS, TEMPORAL_TIMEOUT_KEYWORDS


class ActivityWithoutTimeout(LintRule):
    CODE = "WF202"
    NAME = "ActivityWithoutTimeout"
    MESSAGE = "activity started without a timeout"
    VALID = [
        """\
from datetime import timedelta
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            "charge", start_to_close_timeout=timedelta(seconds=30))
""",
        """\
# near miss: a function of the same name that is not Temporal's
from wfkit import Context, workflow


def execute_activity(name: str) -> str:
    return name


@workflow
def process(ctx: Context) -> str:
    return execute_activity("charge")
""",
    ]
    INVALID = [
        """\
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity("charge")
""",
        """\
# alias: the function imported under another name
from datetime import timedelta
from temporalio.workflow import execute_activity as run_activity
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> str:
        return await run_activity("charge", heartbeat_timeout=timedelta(seconds=5))
""",
    ]

    def visit_Call(self, node: cst.Call, ctx) -> None:
        func = node.func
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return
        if ctx.resolve(func) not in TEMPORAL_ACTIVITY_STARTS:
            return
        for arg in node.args:
            if arg.star == "**" or (
                arg.keyword is not None and arg.keyword.value in TEMPORAL_TIMEOUT_KEYWORDS
            ):
                return
        ctx.report(self, node, ctx.code_for(func) + "()", {"*": "start_to_close_timeout="})
