"""Process environment read in workflow code.

What: `os.environ` (any use), `os.getenv`, `sys.argv`, `os.getpid`, `os.getcwd`,
`socket.gethostname`, `getpass.getuser` and `platform.*`.

Why: the environment belongs to the process running the workflow. A replay on another worker,
after a deploy or a config change sees different values and takes different branches.

Use instead: pass the value as a workflow input, or read it in a step so it is recorded.
"""

from __future__ import annotations

from wfkit.lint.rule import LintRule


class NoEnvironment(LintRule):
    CODE = "WF109"
    NAME = "NoEnvironment"
    MESSAGE = "process environment read in workflow code"
    VALID = [
        """\
# near miss: a decorator runs where its function is defined: here in register(), a plain
# function, not in the workflow's body (the same at module level is import time)
import os
from dbos import DBOS


def register():
    @DBOS.workflow(name=os.environ["FLOW"])
    def flow() -> None:
        pass

    return flow
""",
        """\
# near miss: configuration read at import time, outside the workflow
import os
from wfkit import Context, workflow

REGION = os.environ.get("REGION", "eu")


@workflow
def process(ctx: Context, region: str) -> str:
    return region
""",
        """\
# near miss: a parameter named environ
from wfkit import Context, workflow


@workflow
def process(ctx: Context, environ: dict[str, str]) -> str:
    return environ["REGION"]
""",
    ]
    INVALID = [
        """\
import os
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> str:
    return os.environ["REGION"]
""",
        """\
# alias: environ imported from os
from os import environ
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> str:
        return environ["REGION"]
""",
        """\
import sys
from dbos import DBOS


@DBOS.workflow()
def process() -> str:
    return sys.argv[1]
""",
    ]
