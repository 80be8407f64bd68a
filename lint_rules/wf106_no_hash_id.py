"""`hash()` or `id()` of a value in workflow code.

What: calls of the built-in `hash` and `id` (unless shadowed by a local definition).

Why: `hash()` of strings and bytes is salted per process (PYTHONHASHSEED) and `id()` is a
memory address, so both differ between the first execution and a replay on another worker.

Use instead: a stable key, e.g. the value itself or a `hashlib` digest of a canonical encoding.
"""

from __future__ import annotations

from wfkit.lint.rule import LintRule


class NoHashOrId(LintRule):
    CODE = "WF106"
    NAME = "NoHashOrId"
    MESSAGE = "per-process hash() or id() in workflow code"
    VALID = [
        """\
# near miss: hashlib is stable across processes
import hashlib
from wfkit import Context, workflow


@workflow
def process(ctx: Context, key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
""",
        """\
# near miss: a parameter named id is not the builtin
from wfkit import Context, workflow


@workflow
def process(ctx: Context, id: str) -> str:
    return id
""",
    ]
    INVALID = [
        """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context, key: str) -> int:
    return hash(key) % 8
""",
        """\
# alias: builtins imported under another name
import builtins as b
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> int:
        return b.id(self)
""",
    ]
