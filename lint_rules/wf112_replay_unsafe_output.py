"""Replay-unsafe output (opt-in).

What: `print()` and stdlib `logging` calls (module functions and module-level loggers) in
workflow code, unless inside an `if` that checks for replay (`is_replaying`). Not selected by
default: name WF112 in `select` to enable it.

Why: workflow code runs again on every replay, so plain output is repeated: logs show events
that happened once as if they happened many times.

Use instead: `ctx.logger` in wfkit, `workflow.logger` in Temporal and `DBOS.logger` in DBOS,
which drop output during replay.
"""

from __future__ import annotations

from wfkit.lint.rule import Hit, LintRule


class ReplayUnsafeOutput(LintRule):
    CODE = "WF112"
    NAME = "ReplayUnsafeOutput"
    MESSAGE = "replay-unsafe output in workflow code"
    OPT_IN = True
    VALID = [
        """\
# near miss: guarded by a replay check
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> None:
        if not workflow.unsafe.is_replaying():
            print("started")
""",
        """\
# near miss: the workflow logger is replay-aware
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> None:
        workflow.logger.info("started")
""",
    ]
    INVALID = [
        """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> None:
    print("processing")
""",
        """\
# alias: logging imported under another name, through a module-level logger
import logging as lg
from dbos import DBOS

log = lg.getLogger(__name__)


@DBOS.workflow()
def process() -> None:
    log.info("processing")
""",
    ]

    def on_hit(self, hit: Hit, ctx) -> None:
        if (
            hit.call is None
            or ctx.guard_depth
            or hit.qualname.endswith(("getLogger", "basicConfig"))
        ):
            return
        ctx.report_hit(self, hit)
