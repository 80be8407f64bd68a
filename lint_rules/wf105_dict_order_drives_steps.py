"""Dict-order iteration that drives durable operations.

What: a `for` loop (or a list comprehension / generator) over a dict or its
`keys()/values()/items()` whose body starts steps, activities, child workflows or timers. A
dict loop that starts no durable operation is fine.

Why: the loop decides the sequence of durable operations, and that sequence must be identical on
replay. Dict order is insertion order, which a JSON/JSONB round trip, another producer of the
input or an innocent code change can alter for runs already in flight.

Use instead: iterate in a defined order, e.g. `sorted(d.items())` (an unsafe fix: the keys must
be comparable).
"""

from __future__ import annotations

from wfkit.lint import lazycst as cst
from wfkit.lint.rule import Invalid, LintRule
from wfkit.lint.summary import FixEdit


class DictOrderDrivesSteps(LintRule):
    CODE = "WF105"
    NAME = "DictOrderDrivesSteps"
    MESSAGE = "dict iteration order drives durable operations"
    VALID = [
        """\
# near miss: the dict loop starts no durable operation
from wfkit import Context, workflow


@workflow
def process(ctx: Context, prices: dict[str, float]) -> float:
    total = 0.0
    for sku, price in prices.items():
        total += price
    return total
""",
        """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context, prices: dict[str, float]) -> None:
    for sku, price in sorted(prices.items()):
        ctx.step(charge, sku, price)


def charge(sku: str, price: float) -> None: ...
""",
    ]
    INVALID = [
        Invalid(
            """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context, prices: dict[str, float]) -> None:
    for sku, price in prices.items():
        ctx.step(charge, sku, price)


def charge(sku: str, price: float) -> None: ...
""",
            fixed="""\
from wfkit import Context, workflow


@workflow
def process(ctx: Context, prices: dict[str, float]) -> None:
    for sku, price in sorted(prices.items()):
        ctx.step(charge, sku, price)


def charge(sku: str, price: float) -> None: ...
""",
            unsafe=True,
        ),
        Invalid(
            """\
# alias: Temporal's workflow module imported as wf
from datetime import timedelta
from temporalio import workflow as wf


@wf.defn
class Fanout:
    @wf.run
    async def run(self, jobs: dict[str, str]) -> None:
        for name in jobs:
            await wf.execute_activity("run_job", name, start_to_close_timeout=timedelta(seconds=9))
""",
            fixed="""\
# alias: Temporal's workflow module imported as wf
from datetime import timedelta
from temporalio import workflow as wf


@wf.defn
class Fanout:
    @wf.run
    async def run(self, jobs: dict[str, str]) -> None:
        for name in sorted(jobs):
            await wf.execute_activity("run_job", name, start_to_close_timeout=timedelta(seconds=9))
""",
            unsafe=True,
        ),
        Invalid(
            """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context, urls: dict[str, str]) -> list[str]:
    return ctx.parallel(*[ctx.call(fetch, url) for name, url in urls.items()])


def fetch(url: str) -> str: ...
""",
            fixed="""\
from wfkit import Context, workflow


@workflow
def process(ctx: Context, urls: dict[str, str]) -> list[str]:
    return ctx.parallel(*[ctx.call(fetch, url) for name, url in sorted(urls.items())])


def fetch(url: str) -> str: ...
""",
            unsafe=True,
        ),
    ]

    def __init__(self) -> None:
        self.loops: list[list] = []

    def visit_For(self, node: cst.For, ctx) -> None:
        self.loops.append([node, ctx.is_dict_expr(node.iter), False])

    def visit_Call(self, node: cst.Call, ctx) -> None:
        if (
            self.loops
            and any(loop[1] and not loop[2] for loop in self.loops)
            and ctx.durable_kind(node)
        ):
            for loop in self.loops:
                loop[2] = loop[1] or loop[2]

    def _comprehension(self, node: cst.ListComp | cst.GeneratorExp, ctx) -> None:
        if ctx.is_dict_expr(node.for_in.iter) and ctx.contains_durable(node.elt):
            code = ctx.code_for(node.for_in.iter)
            ctx.report(
                self,
                node.for_in.iter,
                "comprehension over a dict starting durable operations",
                {"*": "sorted(d.items())"},
                unsafe_fix=FixEdit(f"sorted({code})"),
            )

    def visit_ListComp(self, node: cst.ListComp, ctx) -> None:
        self._comprehension(node, ctx)

    def visit_GeneratorExp(self, node: cst.GeneratorExp, ctx) -> None:
        self._comprehension(node, ctx)

    def leave_For(self, node: cst.For, ctx) -> None:
        if not self.loops:
            return
        _, is_dict, drives = self.loops.pop()
        if is_dict and drives:
            code = ctx.code_for(node.iter)
            ctx.report(
                self,
                node.iter,
                "for over a dict starting durable operations",
                {"*": "sorted(d.items())"},
                unsafe_fix=FixEdit(f"sorted({code})"),
            )
