"""Writes to state outside the workflow from workflow code.

What: assigning a name declared `global`, mutating a module-level list, dict or set
(`.append()`, `.update()`, `x[k] = v`, `del x[k]`...) inside workflow code, and assigning a
`nonlocal` that belongs to a function *around* the workflow (a counter in the function that
defines it). A `nonlocal` of the workflow's own scope (a closure inside the workflow updating
the workflow's local) is rebuilt on every replay and is fine.

Also the state of other modules and of classes: `other_module.counter += 1`,
`other_module.items.append(x)`, `other_module.cache[k] = v` (with `import other_module` or
`from pkg import other_module`), an object imported from another module written through
(`from pkg.state import cache; cache[k] = v`), an attribute of a module-level object
(`STATE.count = 1`), and class attributes: `Counter.runs += 1`, `Registry.items.append(x)`,
`type(self).count += 1`, `self.__class__.count = 0`, `cls.x = ...` in a classmethod the
workflow calls. Not reported: attributes of `self` (in a Temporal workflow the instance is
made for the run and rebuilt on replay), of locals and parameters, a class defined in the
workflow's body, and a mutator-named call on what may be a module or a class rather than data
(`other_module.update(x)`, `pkg.sub.module.add(x)`, `Registry.register(x)`,
`STATE.client.update(x)`); an imported constant (`CACHE.update(x)`) is data.

Why: module state lives in the worker process, not in the workflow's history. A replay on
another worker (or after a restart) starts from different state, and one process's workflows
leak into each other. A class and another module's globals are module state too: one object
per process, shared by every run.

Use instead: keep the state in local variables of the workflow (in Temporal, attributes of the
workflow instance), or record it through a step.
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
# near miss: the workflow instance's own attributes, a local object, a read of a class attribute
from temporalio import workflow


class Tally:
    total = 0


@workflow.defn
class Counter:
    runs = 0

    def __init__(self) -> None:
        self.seen: list[str] = []

    @workflow.run
    async def run(self, name: str) -> int:
        self.runs += 1  # an instance attribute of this run
        self.seen.append(name)
        tally = Tally()
        tally.total += 1
        return Counter.runs + tally.total
""",
        """\
# near miss: a function of another module named like a mutator, and a read of its state
import registry
from wfkit import Context, workflow


@workflow
def process(ctx: Context, key: str) -> int:
    registry.update(key)
    return len(registry.items)
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
# another module's state, imported as a module: shared across runs
from dbos import DBOS
from orders import metrics


@DBOS.workflow()
def process(order_id: str) -> None:
    metrics.processed += 1
    metrics.recent.append(order_id)
""",
        """\
# class attributes: through the class, type(self) and cls in a classmethod the workflow calls
from temporalio import workflow


@workflow.defn
class Order:
    started = 0
    ids: list[str] = []

    @classmethod
    def remember(cls, order_id: str) -> None:
        cls.ids.append(order_id)

    @workflow.run
    async def run(self, order_id: str) -> None:
        Order.started += 1
        type(self).started += 1
        self.remember(order_id)
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
        elif isinstance(target, cst.Subscript):  # other_module.cache[k] = v
            self._report_shared(target, ctx.shared_owner(target.value, contained=True), ctx)
        elif isinstance(target, cst.Attribute):  # other_module.counter = 1, Counter.runs += 1
            self._report_shared(target, ctx.shared_owner(target.value), ctx)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._check_target(element.value, ctx)

    def _report_shared(self, node: cst.CSTNode, owner: str, ctx, suffix: str = "") -> None:
        if owner:
            text = _short(ctx.code_for(node))
            ctx.report(
                self, node, f"{text}{suffix}: {owner}, shared across runs and lost on replay"
            )

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
        if not isinstance(func, cst.Attribute) or func.attr.value not in _MUTATORS:
            return
        receiver = func.value
        if isinstance(receiver, cst.Name) and ctx.is_module_mutable(receiver.value):
            ctx.report(self, node, f"{receiver.value}.{func.attr.value}()")
        else:
            # other_module.items.append(x), Registry.items.append(x), CACHE.update(x); not
            # other_module.update(x), which may be a function of that module
            owner = ctx.shared_owner(receiver, contained=True, via_call=True)
            self._report_shared(func, owner, ctx, suffix="()")


def _short(code: str) -> str:
    """A target as the message names it: one line, at most 60 characters."""
    code = " ".join(code.split())
    return code if len(code) <= 60 else code[:57] + "..."
