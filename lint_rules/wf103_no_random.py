"""Unseeded randomness in workflow code.

What: the `random` module's functions, `random.SystemRandom`, an unseeded `random.Random()`, and
`numpy.random` (an unseeded `default_rng()` / `RandomState()` included). A seeded
`random.Random(seed)` is deterministic and fine.

Why: each replay draws different numbers, so a branch or a step argument chosen at random
differs from the recorded history.

Use instead: `ctx.random()` in wfkit, `workflow.random()` in Temporal (seeded from the
history); in DBOS draw inside a `@DBOS.step()`.
"""

from __future__ import annotations

from wfkit.lint.rule import Invalid, LintRule


class NoRandom(LintRule):
    CODE = "WF103"
    NAME = "NoRandom"
    MESSAGE = "unseeded randomness in workflow code"
    VALID = [
        """\
# near miss: a seeded generator repeats itself on replay
import random
from wfkit import Context, workflow


@workflow
def process(ctx: Context, seed: int) -> float:
    return random.Random(seed).random()
""",
        """\
# near miss: a local function shadows the imported one
from random import choice
from wfkit import Context, workflow


@workflow
def process(ctx: Context, items: list[str]) -> str:
    def choice(values: list[str]) -> str:
        return values[0]
    return choice(items)
""",
    ]
    INVALID = [
        Invalid(
            """\
import random
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> float:
    return random.random() * 2
""",
            fixed="""\
import random
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> float:
    return ctx.random() * 2
""",
        ),
        """\
# alias: numpy imported as np
import numpy as np
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> int:
        return int(np.random.randint(10))
""",
        """\
import random
from dbos import DBOS


@DBOS.workflow()
def process() -> float:
    return random.Random().random()
""",
    ]
