"""Iterating an unordered collection in workflow code.

What: `for` loops, list comprehensions and generators over sets, frozensets, set comprehensions and set
operations (dict key views combined with `-`, `&`, `|`, `^` included); turning one into a
sequence with `list()`, `tuple()`, `enumerate()`, `str.join` (also over a generator),
`next(iter(...))` or `.pop()`; and directory listings (`os.listdir`, `os.scandir`, `os.walk`,
`glob.glob`, `Path.glob/rglob/iterdir`) not wrapped in `sorted(...)`.

Why: set order depends on string hashing, which is salted per process, and listing order
depends on the file system. A replay on another worker visits the elements in another order,
so steps run in a different sequence than recorded.

Use instead: wrap the collection in `sorted(...)` (an unsafe fix: the elements must be
comparable). `len()`, `in`, `min()`, `max()`, `sum()`, `any()`, `all()` and `sorted()` of a
set (or of a generator over one) are fine.
"""

from __future__ import annotations

from wfkit.lint import lazycst as cst
from wfkit.lint.rule import Hit, Invalid, LintRule
from wfkit.lint.summary import FixEdit

_TO_SEQUENCE = frozenset({"builtins.list", "builtins.tuple", "builtins.enumerate"})


class UnorderedIteration(LintRule):
    CODE = "WF104"
    NAME = "UnorderedIteration"
    MESSAGE = "iteration order of an unordered collection in workflow code"
    VALID = [
        """\
# near miss: sorted(set(...)) has a stable order
from wfkit import Context, workflow


@workflow
def process(ctx: Context, skus: list[str]) -> None:
    for sku in sorted(set(skus)):
        ctx.step(reserve, sku)


def reserve(sku: str) -> None: ...
""",
        """\
# near miss: a set iterated outside any workflow
def unique(items: list[str]) -> list[str]:
    return [i for i in set(items)]
""",
        """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context, skus: set[str]) -> int:
    return len(skus) + ("a" in skus)
""",
    ]
    INVALID = [
        Invalid(
            """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context, skus: list[str]) -> None:
    for sku in set(skus):
        ctx.step(reserve, sku)


def reserve(sku: str) -> None: ...
""",
            fixed="""\
from wfkit import Context, workflow


@workflow
def process(ctx: Context, skus: list[str]) -> None:
    for sku in sorted(set(skus)):
        ctx.step(reserve, sku)


def reserve(sku: str) -> None: ...
""",
            unsafe=True,
        ),
        Invalid(
            """\
# alias: os imported under another name
import os as operating_system
from temporalio import workflow


@workflow.defn
class Sweep:
    @workflow.run
    async def run(self, path: str) -> list[str]:
        return operating_system.listdir(path)
""",
            fixed="""\
# alias: os imported under another name
import os as operating_system
from temporalio import workflow


@workflow.defn
class Sweep:
    @workflow.run
    async def run(self, path: str) -> list[str]:
        return sorted(operating_system.listdir(path))
""",
            unsafe=True,
        ),
        Invalid(
            """\
from dbos import DBOS


@DBOS.workflow()
def process(tags: list[str]) -> str:
    unique = {t.lower() for t in tags}
    return ",".join(list(unique))
""",
            fixed="""\
from dbos import DBOS


@DBOS.workflow()
def process(tags: list[str]) -> str:
    unique = {t.lower() for t in tags}
    return ",".join(sorted(unique))
""",
            unsafe=True,
        ),
    ]

    def __init__(self) -> None:
        self.joined: set[int] = set()  # comprehensions already reported through a join

    def on_hit(self, hit: Hit, ctx) -> None:
        if ctx.condition_holds(hit) and hit.call is not None:
            code = ctx.code_for(hit.call)
            ctx.report(
                self,
                hit.call,
                f"{hit.qualname.rsplit('.', 1)[-1]}()",
                {"*": "sorted(...)"},
                unsafe_fix=FixEdit(f"sorted({code})"),
            )

    def _unordered(self, node: cst.BaseExpression, ctx, what: str) -> None:
        ctx.report(
            self,
            node,
            what,
            {"*": "sorted(...)"},
            unsafe_fix=FixEdit(f"sorted({ctx.code_for(node)})"),
        )

    def visit_For(self, node: cst.For, ctx) -> None:
        if ctx.is_set_expr(node.iter):
            self._unordered(node.iter, ctx, "for over a set")

    def visit_ListComp(self, node: cst.ListComp, ctx) -> None:
        if (
            not ctx.is_ordered(node)
            and id(node) not in self.joined
            and ctx.is_set_expr(node.for_in.iter)
        ):
            self._unordered(node.for_in.iter, ctx, "comprehension over a set")

    def visit_GeneratorExp(self, node: cst.GeneratorExp, ctx) -> None:
        self.visit_ListComp(node, ctx)

    def visit_Call(self, node: cst.Call, ctx) -> None:
        func = node.func
        if ctx.is_ordered(node):
            return
        if isinstance(func, cst.Attribute) and func.attr.value == "pop" and not node.args:
            if ctx.is_set_expr(func.value):
                ctx.report(self, node, "set.pop()", {"*": "sorted(...)"})
            return
        if not node.args:
            return
        first = node.args[0].value
        if isinstance(func, cst.Attribute):
            if func.attr.value == "join" and len(node.args) == 1:
                if ctx.is_set_expr(first):
                    self._unordered(first, ctx, "join over a set")
                elif isinstance(first, (cst.GeneratorExp, cst.ListComp)) and ctx.is_set_expr(
                    first.for_in.iter
                ):
                    self.joined.add(id(first))
                    self._unordered(first.for_in.iter, ctx, "join over a set")
            return
        qual = ctx.resolve(func) if isinstance(func, cst.Name) else None
        if qual in _TO_SEQUENCE and ctx.is_set_expr(first):
            code = ctx.code_for(first)
            text = f"sorted({code})" if qual == "builtins.list" else f"{func.value}(sorted({code}))"
            ctx.report(
                self,
                node,
                f"{func.value}() of a set",
                {"*": "sorted(...)"},
                unsafe_fix=FixEdit(text),
            )
        elif (
            qual == "builtins.next"
            and isinstance(first, cst.Call)
            and first.args
            and ctx.resolve(first.func) == "builtins.iter"
            and ctx.is_set_expr(first.args[0].value)
        ):
            ctx.report(self, node, "next(iter(set))", {"*": "min(...)"})
