"""Random identifiers or OS randomness in workflow code.

What: `uuid.uuid1/uuid4/uuid6/uuid7`, `os.urandom`, `os.getrandom` and anything from `secrets`.
Name-based `uuid.uuid3/uuid5` are deterministic and fine.

Why: a replay draws a different id than the first execution, so an id passed to a step, used as
an idempotency key or compared later no longer matches the history.

Use instead: `ctx.uuid4()` in wfkit, `workflow.uuid4()` in Temporal (seeded from the history);
in DBOS make the id inside a `@DBOS.step()`.
"""

from __future__ import annotations

from wfkit.lint.rule import Invalid, LintRule


class NoRandomIds(LintRule):
    CODE = "WF102"
    NAME = "NoRandomIds"
    MESSAGE = "random identifier made in workflow code"
    VALID = [
        """\
# near miss: uuid5 is derived from its inputs
import uuid
from wfkit import Context, workflow


@workflow
def process(ctx: Context, order_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, order_id))
""",
        """\
# near miss: the id is made in an activity
import uuid
from temporalio import activity


@activity.defn
async def make_id() -> str:
    return str(uuid.uuid4())
""",
    ]
    INVALID = [
        Invalid(
            """\
import uuid
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> str:
    return str(uuid.uuid4())
""",
            fixed="""\
import uuid
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> str:
    return str(ctx.uuid4())
""",
        ),
        """\
# alias: secrets imported under another name
import secrets as s
from dbos import DBOS


@DBOS.workflow()
def process() -> str:
    return s.token_hex(8)
""",
        """\
from uuid import uuid1
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> str:
        return str(uuid1())
""",
    ]
