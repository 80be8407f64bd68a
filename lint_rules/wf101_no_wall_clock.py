"""Wall-clock time read in workflow code.

What: `datetime.now/utcnow/today`, `date.today`, `time.time/monotonic/perf_counter/
process_time/thread_time` (and their `_ns` forms), and `time.localtime/gmtime/ctime/asctime/
strftime` without an explicit time argument, however they were imported.

Why: a workflow is re-executed from the top on recovery. The clock returns a different value
on every replay, so any branch, key or step argument derived from it diverges from the recorded
history.

Use instead: `ctx.now()` in wfkit, `workflow.now()` in Temporal (both return the time recorded
in the history); in DBOS read the clock inside a `@DBOS.step()`.

Fix: `time.time()` becomes `ctx.now().timestamp()` (the same epoch seconds; a safe fix).
`datetime.now()`, `utcnow()` and `today()` become `ctx.now()` / `workflow.now()` only with
`--unsafe-fixes`: the workflow clock's datetime is timezone-aware (UTC) and theirs is naive, so
code that compares or subtracts it with naive datetimes would raise `TypeError`; check that
first. `date.today()` becomes the date in UTC (unsafe too: it was the local date).
"""

from __future__ import annotations

from wfkit.lint.rule import Invalid, LintRule


class NoWallClock(LintRule):
    CODE = "WF101"
    NAME = "NoWallClock"
    MESSAGE = "wall-clock time read in workflow code"
    VALID = [
        """\
# near miss: the clock is read in a step, not in the workflow
from datetime import datetime
from wfkit import Context, step, workflow


@step
def stamp() -> str:
    return datetime.now().isoformat()


@workflow
def process(ctx: Context) -> str:
    return ctx.step(stamp)
""",
        """\
# near miss: a local class shadows the imported name
from wfkit import Context, workflow


class datetime:
    @staticmethod
    def now() -> int:
        return 0


@workflow
def process(ctx: Context) -> int:
    return datetime.now()
""",
        """\
import time
from wfkit import Context, workflow


@workflow
def process(ctx: Context, ts: float) -> str:
    return time.ctime(ts) + ctx.now().isoformat()
""",
    ]
    INVALID = [
        Invalid(
            """\
import time
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> float:
    return time.time()
""",
            fixed="""\
import time
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> float:
    return ctx.now().timestamp()
""",
        ),
        Invalid(
            """\
from datetime import datetime
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> str:
    return datetime.now().isoformat()
""",
            fixed="""\
from datetime import datetime
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> str:
    return ctx.now().isoformat()
""",
            unsafe=True,
        ),
        Invalid(
            """\
# alias: the module imported under another name, in a Temporal workflow
import datetime as dt
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> str:
        return dt.datetime.utcnow().isoformat()
""",
            fixed="""\
# alias: the module imported under another name, in a Temporal workflow
import datetime as dt
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> str:
        return workflow.now().isoformat()
""",
            unsafe=True,
        ),
        """\
# alias: a function imported under another name, through a helper
from time import time as now
from dbos import DBOS


def _stamp() -> float:
    return now()


@DBOS.workflow()
def process() -> float:
    return _stamp()
""",
        """\
import time
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> str:
    return time.strftime("%Y")
""",
    ]
