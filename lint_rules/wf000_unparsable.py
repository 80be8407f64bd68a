"""A file that could not be read or parsed.

What: syntax errors, bytes that do not decode in the file's declared encoding, unreadable files
or directories and symlink loops met while collecting files; and files the parser is not trusted
with: larger than `max-file-size` (default 1,000,000 bytes), nesting deeper than `max-nesting`
(default 1000 levels of the syntax tree), or nested deeper than Python itself allows (200
brackets, 100 indentation levels). The message names the limit.

Why: a file the linter cannot read is a file it cannot check; staying silent would let
non-deterministic code through. The run goes on with the other files. The limits exist because
the native parser crashes the whole process on very deep nesting and takes minutes and
gigabytes on huge generated files; such a file is reported instead of parsed.

Use instead: fix the syntax or the encoding (UTF-8, or a PEP 263 coding cookie), or exclude the
path with `exclude` in `[tool.wfkit.lint]`. For generated code over a limit, exclude it, split
the expression, or raise `max-file-size` / `max-nesting` in `[tool.wfkit.lint]` (or
`--max-file-size` / `--max-nesting`).
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
