"""A Temporal signal or update handler was removed, or its registered name changed.

What: a `@workflow.signal` or `@workflow.update` handler the old code registered under a name
(`name=` on the decorator, else the method's name) that the new code no longer registers
under that name: the method renamed without `name=`, the `name=` changed, the handler (or the
class's dynamic handler) removed. A query handler is never reported: queries are not
recorded in a history (clients calling the old query name fail, but runs replay).

Why: a Temporal run's history records every signal and update it received
(`WorkflowExecutionSignaled`, `WorkflowExecutionUpdateAccepted`), and replay delivers them
again by name. A signal whose name has no handler is buffered, so what the handler did (the
state it set, the activities and timers it started) is missing and the run takes another way
or waits forever; an update whose name has no handler is rejected where the history shows it
accepted, and the run fails replay. It is its own code, not WF301 (an operation changed at a
place in the body) or WF302 (the workflow's own name): the event comes from outside the
code, at any point of the run, and the fix is to keep a name registered.

Use instead: keep the registered name: rename the method but pass the old name as `name=` on
the decorator. To retire a handler, keep it until no run that may have received it is in
flight (`wfkit list`).
"""

from __future__ import annotations

from wfkit.compat.rule import CompatRule, Pair

_HEAD = """\
from temporalio import workflow


@workflow.defn
class Order:
    def __init__(self) -> None:
        self.approved = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.approved)

"""


class HandlerRemoved(CompatRule):
    CODE = "WF306"
    NAME = "HandlerRemoved"
    MESSAGE = "runs that received this signal or update no longer find its handler on replay"
    VALID = [
        Pair(
            _HEAD
            + """\
    @workflow.signal
    async def approve(self) -> None:
        self.approved = True
""",
            _HEAD
            + """\
    @workflow.signal(name="approve")
    async def approve_order(self) -> None:
        self.approved = True
""",
        ),
        Pair(
            "# near miss: a query is never recorded\n"
            + _HEAD
            + """\
    @workflow.query
    def status(self) -> bool:
        return self.approved
""",
            "# near miss: a query is never recorded\n"
            + _HEAD
            + """\
    @workflow.query
    def state(self) -> bool:
        return self.approved
""",
        ),
    ]
    INVALID = [
        Pair(
            _HEAD
            + """\
    @workflow.signal
    async def approve(self) -> None:
        self.approved = True
""",
            _HEAD
            + """\
    @workflow.signal
    async def approve_order(self) -> None:
        self.approved = True
""",
        ),
        Pair(
            "# alias: Temporal imported under another name; the update removed\n"
            + _HEAD.replace(
                "from temporalio import workflow", "from temporalio import workflow as wf"
            )
            .replace("@workflow.", "@wf.")
            .replace("await workflow.", "await wf.")
            + """\
    @wf.update(name="approve")
    async def approve(self) -> None:
        self.approved = True
""",
            "# alias: Temporal imported under another name; the update removed\n"
            + _HEAD.replace(
                "from temporalio import workflow", "from temporalio import workflow as wf"
            )
            .replace("@workflow.", "@wf.")
            .replace("await workflow.", "await wf.")
            + """\
    @wf.signal(name="approve")
    async def approve(self) -> None:
        self.approved = True
""",
        ),
    ]
