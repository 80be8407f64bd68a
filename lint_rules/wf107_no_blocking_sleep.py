"""A blocking or non-durable sleep in workflow code.

What: `time.sleep`, `threading.Timer`, and `asyncio.sleep` in wfkit and DBOS workflows. In a
Temporal workflow `asyncio.sleep` is a durable timer and fine.

Why: a plain sleep is not recorded: a replay sleeps again (or a crash loses the wait), and a
blocking sleep holds a worker thread for its whole duration.

Use instead: `ctx.sleep()` in wfkit, `workflow.sleep()` / `asyncio.sleep()` in Temporal,
`DBOS.sleep()` in DBOS (`await DBOS.sleep_async()` in an `async def` workflow, where
`DBOS.sleep()` raises).

Fix: only with `--unsafe-fixes`. A durable sleep is a durable operation: runs already in flight
were recorded without it and stop replaying at that point (`NonDeterminismError`). Gate the new
timer (`if ctx.patched("durable-sleep"):` / `workflow.patched(...)`), or deploy the fix when no
run of the workflow is in flight (`wfkit compat` tells).
"""

from __future__ import annotations

from wfkit.lint.rule import Invalid, LintRule


class NoBlockingSleep(LintRule):
    CODE = "WF107"
    NAME = "NoBlockingSleep"
    MESSAGE = "blocking or non-durable sleep in workflow code"
    VALID = [
        """\
# near miss: asyncio.sleep is a durable timer inside a Temporal workflow
import asyncio
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> None:
        await asyncio.sleep(60)
""",
        """\
# near miss: sleeping in a step is fine
import time
from dbos import DBOS


@DBOS.step()
def wait_a_bit() -> None:
    time.sleep(1)
""",
    ]
    INVALID = [
        Invalid(
            """\
# an async DBOS workflow: DBOS.sleep() raises there, the fix awaits DBOS.sleep_async()
import time
from dbos import DBOS


@DBOS.workflow()
async def process() -> None:
    time.sleep(30)
""",
            fixed="""\
# an async DBOS workflow: DBOS.sleep() raises there, the fix awaits DBOS.sleep_async()
import time
from dbos import DBOS


@DBOS.workflow()
async def process() -> None:
    await DBOS.sleep_async(30)
""",
            unsafe=True,
        ),
        Invalid(
            """\
import time
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> None:
    time.sleep(5)
""",
            fixed="""\
import time
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> None:
    ctx.sleep(5)
""",
            unsafe=True,
        ),
        Invalid(
            """\
# alias: sleep imported under another name, in a DBOS workflow
from time import sleep as pause
from dbos import DBOS


@DBOS.workflow()
def process() -> None:
    pause(30)
""",
            fixed="""\
# alias: sleep imported under another name, in a DBOS workflow
from time import sleep as pause
from dbos import DBOS


@DBOS.workflow()
def process() -> None:
    DBOS.sleep(30)
""",
            unsafe=True,
        ),
        Invalid(
            """\
import asyncio
from wfkit import Context, workflow


@workflow
async def process(ctx: Context) -> None:
    await asyncio.sleep(1)
""",
            fixed="""\
import asyncio
from wfkit import Context, workflow


@workflow
async def process(ctx: Context) -> None:
    await ctx.sleep(1)
""",
            unsafe=True,
        ),
    ]
