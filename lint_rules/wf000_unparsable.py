"""A file that could not be read or parsed.

What: syntax errors, bytes that do not decode in the file's declared encoding, unreadable files
or directories and symlink loops met while collecting files.

Why: a file the linter cannot read is a file it cannot check; staying silent would let
non-deterministic code through. The run goes on with the other files.

Use instead: fix the syntax or the encoding (UTF-8, or a PEP 263 coding cookie), or exclude the
path with `exclude` in `[tool.wfkit.lint]`.
"""

from __future__ import annotations

from wfkit.lint.rule import LintRule


class Unparsable(LintRule):
    CODE = "WF000"
    NAME = "Unparsable"
    MESSAGE = "file could not be parsed or read"
    VALID = [
        """\
# near miss: odd but valid syntax
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> int:
    return (lambda: 1)()
""",
        "",
    ]
    INVALID = [
        """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> int
    return 1
""",
        """\
# alias: a broken Temporal file that imports the SDK under an alias
from temporalio import workflow as wf
def f(:
    return wf
""",
    ]
