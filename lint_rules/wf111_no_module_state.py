"""Writes to state outside the workflow from workflow code.

What: assigning a name declared `global`, mutating a module-level list, dict or set
(`.append()`, `.update()`, `x[k] = v`, `del x[k]`...) inside workflow code, and assigning a
`nonlocal` that belongs to a function *around* the workflow (a counter in the function that
defines it). A `nonlocal` of the workflow's own scope (a closure inside the workflow updating
the workflow's local) is rebuilt on every replay and is fine.

Why: module state lives in the worker process, not in the workflow's history. A replay on
another worker (or after a restart) starts from different state, and one process's workflows
leak into each other.

Use instead: keep the state in local variables of the workflow, or record it through a step.
"""

from __future__ import annotations

from wfkit.lint import lazycst as cst
from wfkit.lint.rule import LintRule

_MUTATORS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "remove",
        "pop",
        "clear",
        "add",
        "discard",
        "update",
        "setdefault",
        "popitem",
        "appendleft",
        "extendleft",
        "sort",
        "reverse",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
    }
)


class NoModuleState(LintRule):
    CODE = "WF111"
    NAME = "NoModuleState"
    MESSAGE = "state outside the workflow written from workflow code"
    VALID = [
        """\
# near miss: a closure inside the workflow updates the workflow's own local (nonlocal)
from wfkit import Context, workflow


@workflow
def tally(ctx: Context, items: list[str]) -> int:
    count = 0

    def bump() -> None:
        nonlocal count
        count += 1

    for _ in items:
        bump()
    return count
""",
        """\
# near miss: a local list with the same name shadows the module one
from wfkit import Context, workflow

SEEN: list[str] = []


@workflow
def process(ctx: Context, order_id: str) -> list[str]:
    SEEN = []
    SEEN.append(order_id)
    return SEEN
""",
        """\
from wfkit import Context, workflow

LIMITS = {"eu": 3}


@workflow
def process(ctx: Context, region: str) -> int:
    return LIMITS[region]
""",
    ]
    INVALID = [
        """\
# a nonlocal of the function around the workflow: it outlives every run
from dbos import DBOS


def register():
    runs = 0

    @DBOS.workflow()
    def counted() -> int:
        nonlocal runs
        runs += 1
        return runs

    return counted
""",
        """\
from wfkit import Context, workflow

SEEN: list[str] = []


@workflow
def process(ctx: Context, order_id: str) -> None:
    SEEN.append(order_id)
""",
        """\
# alias: a Temporal SDK alias and a global counter
from temporalio import workflow as wf

COUNT = 0


@wf.defn
class Counter:
    @wf.run
    async def run(self) -> int:
        global COUNT
        COUNT += 1
        return COUNT
""",
        """\
from dbos import DBOS

CACHE = {}


@DBOS.workflow()
def process(key: str) -> None:
    CACHE[key] = True
""",
    ]

    def _check_target(self, target: cst.BaseExpression, ctx) -> None:
        if isinstance(target, cst.Name) and target.value in ctx.current_globals():
            ctx.report(self, target, f"global {target.value}")
        elif isinstance(target, cst.Name) and target.value in ctx.current_nonlocals():
            owner = ctx.nonlocal_owner(target.value)
            if owner is not None and not owner[1]:
                ctx.report(self, target, f"nonlocal {target.value} of {owner[0]}")
        elif (
            isinstance(target, cst.Subscript)
            and isinstance(target.value, cst.Name)
            and ctx.is_module_mutable(target.value.value)
        ):
            ctx.report(self, target, f"{target.value.value}[...]")
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._check_target(element.value, ctx)

    def visit_Assign(self, node: cst.Assign, ctx) -> None:
        for target in node.targets:
            self._check_target(target.target, ctx)

    def visit_AugAssign(self, node: cst.AugAssign, ctx) -> None:
        self._check_target(node.target, ctx)

    def visit_AnnAssign(self, node: cst.AnnAssign, ctx) -> None:
        if node.value is not None:
            self._check_target(node.target, ctx)

    def visit_Del(self, node: cst.Del, ctx) -> None:
        self._check_target(node.target, ctx)

    def visit_Call(self, node: cst.Call, ctx) -> None:
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in _MUTATORS
            and isinstance(func.value, cst.Name)
            and ctx.is_module_mutable(func.value.value)
        ):
            ctx.report(self, node, f"{func.value.value}.{func.attr.value}()")
