"""A workflow's registered name changed, or the workflow was removed.

What: a workflow the old code registered under a name (`name=` on the decorator, else the
function or class name) that the new code no longer registers under that name: renamed (the
function or class, or its `name=`) or removed.

Why: a run is recorded under its workflow's registered name. After the deploy, a run in
flight whose name no longer resolves cannot be resumed: it is orphaned (wfkit and Temporal
fail it as an unknown workflow, DBOS leaves it pending).

Use instead: keep the registered name: rename the function but pass the old name as `name=`
on the decorator. To retire a workflow, keep it until no run of it is in flight.
"""

from __future__ import annotations

from wfkit.compat.rule import CompatRule, Pair


class WorkflowOrphaned(CompatRule):
    CODE = "WF302"
    NAME = "WorkflowOrphaned"
    MESSAGE = "runs recorded under this workflow's registered name no longer find it"
    VALID = [
        Pair(
            """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> None:
    pass
""",
            """\
from wfkit import Context, workflow


@workflow(name="process")
def process_order(ctx: Context) -> None:
    pass
""",
        ),
        Pair(
            """\
# near miss: a new workflow beside the old one
from dbos import DBOS


@DBOS.workflow()
def process() -> None:
    pass
""",
            """\
# near miss: a new workflow beside the old one
from dbos import DBOS


@DBOS.workflow()
def process() -> None:
    pass


@DBOS.workflow()
def refund() -> None:
    pass
""",
        ),
    ]
    INVALID = [
        Pair(
            """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> None:
    pass
""",
            """\
from wfkit import Context, workflow


@workflow
def process_order(ctx: Context) -> None:
    pass
""",
        ),
        Pair(
            """\
# alias: Temporal imported under another name; the registered name changed
from temporalio import workflow as wf


@wf.defn(name="Checkout")
class Checkout:
    @wf.run
    async def run(self) -> None:
        pass
""",
            """\
# alias: Temporal imported under another name; the registered name changed
from temporalio import workflow as wf


@wf.defn(name="CheckoutV2")
class Checkout:
    @wf.run
    async def run(self) -> None:
        pass
""",
        ),
    ]
