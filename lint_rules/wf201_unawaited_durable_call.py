"""A durable call in an async workflow that is never awaited.

What: an expression statement in an `async def` workflow (or helper) that calls `ctx.step`,
`ctx.sleep` and the other context operations, Temporal's `execute_activity`,
`execute_child_workflow`, `sleep`, `wait_condition`, DBOS `*_async` calls, or an async step of
the same module, without `await`.

Why: the coroutine is created and dropped: the step never runs (or runs at an arbitrary later
point), the workflow does not wait for it, and the recorded sequence differs from what the code
appears to do.

Use instead: add `await` (the autofix does).
"""

from __future__ import annotations

from wfkit.lint import lazycst as cst
from wfkit.lint.rule import Invalid, LintRule
from wfkit.lint.summary import FixEdit

_AWAITABLE = frozenset({"ctx", "temporal", "dbos_async", "local_async"})


class UnawaitedDurableCall(LintRule):
    CODE = "WF201"
    NAME = "UnawaitedDurableCall"
    MESSAGE = "durable call in an async workflow is never awaited"
    VALID = [
        """\
# near miss: a sync workflow does not await
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> None:
    ctx.step(notify)


def notify() -> None: ...
""",
        """\
# near miss: start_activity returns a handle, not a coroutine
from datetime import timedelta
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> None:
        workflow.start_activity("notify", start_to_close_timeout=timedelta(seconds=5))
""",
    ]
    INVALID = [
        Invalid(
            """\
from wfkit import Context, workflow


@workflow
async def process(ctx: Context) -> None:
    ctx.step(notify)


async def notify() -> None: ...
""",
            fixed="""\
from wfkit import Context, workflow


@workflow
async def process(ctx: Context) -> None:
    await ctx.step(notify)


async def notify() -> None: ...
""",
        ),
        Invalid(
            """\
# alias: Temporal's workflow module imported as wf
from datetime import timedelta
from temporalio import workflow as wf


@wf.defn
class Order:
    @wf.run
    async def run(self) -> None:
        wf.sleep(timedelta(minutes=5))
""",
            fixed="""\
# alias: Temporal's workflow module imported as wf
from datetime import timedelta
from temporalio import workflow as wf


@wf.defn
class Order:
    @wf.run
    async def run(self) -> None:
        await wf.sleep(timedelta(minutes=5))
""",
        ),
    ]

    def visit_Expr(self, node: cst.Expr, ctx) -> None:
        call = node.value
        if not isinstance(call, cst.Call) or ctx.unit is None or not ctx.unit.is_async:
            return
        if ctx.durable_kind(call) in _AWAITABLE:
            ctx.report(
                self,
                call,
                ctx.code_for(call.func) + "()",
                {"*": "await"},
                fixes={"*": FixEdit("await " + ctx.code_for(call))},
            )
