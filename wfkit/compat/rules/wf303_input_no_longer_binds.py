"""The workflow's input no longer binds the inputs runs recorded.

What: a new workflow parameter without a default, a removed parameter (when the new code has
no `*args` / `**kwargs` to take it), a parameter whose annotation changed, or positional
parameters put in another order.

Why: a run records the arguments it was started with and passes them again on every replay
and recovery. Under the new signature those recorded arguments fail to bind (a `TypeError`
before the first step), bind to another parameter, or decode to another type.

Use instead: give a new parameter a default; keep a parameter runs recorded (unused, with a
default) until they have finished; add new parameters at the end; accept both the old and the
new type.
"""

from __future__ import annotations

from wfkit.compat.rule import CompatRule, Pair


class InputNoLongerBinds(CompatRule):
    CODE = "WF303"
    NAME = "InputNoLongerBinds"
    MESSAGE = "the inputs runs recorded no longer bind to the workflow's parameters"
    VALID = [
        Pair(
            """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context, order: str) -> None:
    pass
""",
            """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context, order: str, priority: int = 0) -> None:
    pass
""",
        ),
        Pair(
            """\
# near miss: the context parameter renamed, the input unchanged
from wfkit import Context, workflow


@workflow
def process(ctx: Context, order: str) -> None:
    pass
""",
            """\
# near miss: the context parameter renamed, the input unchanged
from wfkit import Context, workflow


@workflow
def process(context: Context, order: str) -> None:
    pass
""",
        ),
    ]
    INVALID = [
        Pair(
            """\
from dbos import DBOS


@DBOS.workflow()
def process(order: str) -> None:
    pass
""",
            """\
from dbos import DBOS


@DBOS.workflow()
def process(order: str, priority: int) -> None:
    pass
""",
        ),
        Pair(
            """\
# alias: Temporal imported under another name; a parameter removed
from temporalio import workflow as wf


@wf.defn
class Checkout:
    @wf.run
    async def run(self, order: str, note: str) -> None:
        pass
""",
            """\
# alias: Temporal imported under another name; a parameter removed
from temporalio import workflow as wf


@wf.defn
class Checkout:
    @wf.run
    async def run(self, order: str) -> None:
        pass
""",
        ),
    ]
