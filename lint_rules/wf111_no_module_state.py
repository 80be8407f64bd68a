"""Writes to module-level state from workflow code.

What: assigning a name declared `global`, and mutating a module-level list, dict or set
(`.append()`, `.update()`, `x[k] = v`, `del x[k]`...) inside workflow code.

Why: module state lives in the worker process, not in the workflow's history. A replay on
another worker (or after a restart) starts from different state, and one process's workflows
leak into each other.

Use instead: keep the state in local variables of the workflow, or record it through a step.
"""

from __future__ import annotations

from wfkit.lint import lazycst as cst
from wfkit.lint.rule import LintRule

_MUTATORS = frozenset({"append", "extend", "insert", "remove", "pop", "clear", "add", "discard",
                       "update", "setdefault", "popitem", "appendleft", "extendleft", "sort",
                       "reverse", "difference_update", "intersection_update",
                       "symmetric_difference_update"})


class NoModuleState(LintRule):
    CODE = "WF111"
    NAME = "NoModuleState"
    MESSAGE = "module-level state written from workflow code"
    VALID = [
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
        elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and \
                ctx.is_module_mutable(target.value.value):
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
        if isinstance(func, cst.Attribute) and func.attr.value in _MUTATORS and \
                isinstance(func.value, cst.Name) and ctx.is_module_mutable(func.value.value):
            ctx.report(self, node, f"{func.value.value}.{func.attr.value}()")
