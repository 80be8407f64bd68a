"""A suppression comment that suppressed nothing.

What: a `# wfkit: ignore[...]` or `# noqa: WF...` comment (or `# wfkit: ignore-file[...]`) for a
rule that reported nothing where the comment applies. Codes of rules not selected in the run
are not reported.

Why: stale suppressions hide the next real problem on that line and mislead readers into
thinking the code is dangerous; they should go when the code they excused is fixed.

Use instead: remove the comment (or the codes in it that no longer apply).
"""

from __future__ import annotations

from wfkit.lint.rule import LintRule


class UnusedSuppression(LintRule):
    CODE = "WF900"
    NAME = "UnusedSuppression"
    MESSAGE = "unused suppression"
    VALID = [
        """\
from datetime import datetime
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> str:
    return datetime.now().isoformat()  # wfkit: ignore[WF101] logged for humans only
""",
        """\
# near miss: a noqa for another tool is not ours to judge
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> int:
    return 1  # noqa: E501
""",
    ]
    INVALID = [
        """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> int:
    return 1  # wfkit: ignore[WF101]
""",
        """\
# alias: an aliased import, suppressed where nothing is reported
import datetime as dt
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> str:
    # noqa: WF101, WF102 reason text
    return dt.date(2020, 1, 1).isoformat()
""",
    ]
