"""One file from text to summary: parse, analyze, find suppressions. Runs in worker processes.

Everything here is a pure function of its arguments (no globals), so the same call serves the
serial path, the process pool and the cache.
"""

from __future__ import annotations

import libcst as cst

from wfkit.lint.analyzer import FileAnalyzer
from wfkit.lint.catalog import all_rules
from wfkit.lint.files import wf000
from wfkit.lint.lazycst import gc_paused
from wfkit.lint.settings import AnalyzerSettings
from wfkit.lint.summary import FileSummary
from wfkit.lint.suppressions import parse_suppressions
from wfkit.static.parse_guard import check_source

HOOK_FREE = frozenset({"WF000", "WF900"})


def summarize(
    path: str,
    text: str,
    module: str,
    is_package: bool,
    active: frozenset[str],
    settings: AnalyzerSettings,
) -> FileSummary:
    """Parse ``text`` (the file at ``path``) and analyze it; a parse failure becomes WF000.

    This is the one place the linter parses a file (the CLI, the pytest plugin's
    ``--wfkit-lint`` and cache misses all come here), so the parse guard sits here: a file
    over ``settings.limits`` is a WF000 finding and never reaches libcst.

    The cyclic garbage collector is paused for the file: a parse makes thousands of nodes that
    all live until the file is done, so each of the collector's runs (one per 700 allocations)
    scans them, moves them into older generations (whose runs scan everything the process
    holds) and frees nothing, ~15% of a file's time. A tree holds no cycles; the few the
    analyzer makes are collected after the file.
    """
    with gc_paused():
        return _summarize(path, text, module, is_package, active, settings)


def _summarize(
    path: str,
    text: str,
    module: str,
    is_package: bool,
    active: frozenset[str],
    settings: AnalyzerSettings,
) -> FileSummary:
    summary = FileSummary(path, module, is_package)
    summary.suppressions = parse_suppressions(text)
    rejection = check_source(text, settings.limits)  # before libcst: it can crash the process
    if rejection is not None:
        summary.file_findings.append(
            wf000(path, rejection.message, rejection.line, rejection.column)
        )
        return summary
    try:
        tree = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        summary.file_findings.append(wf000(path, *_syntax_error(path, text, error)))
        return summary
    except (RecursionError, MemoryError, ValueError, SyntaxError) as error:
        summary.file_findings.append(
            wf000(path, f"cannot parse file: {type(error).__name__}: {error}")
        )
        return summary
    rules = [
        info.rule_class()
        for info in all_rules()
        if info.code in active and info.code not in HOOK_FREE and info.rule_class
    ]
    try:
        FileAnalyzer(summary, rules, settings).run(tree, text)
    except RecursionError:
        summary.functions.clear()
        summary.file_findings.append(wf000(path, "file too deeply nested to analyze"))
    return summary


def _syntax_error(path: str, text: str, error: cst.ParserSyntaxError) -> tuple[str, int, int]:
    """(message, line, column) of a syntax error. libcst reports where its parser gave up
    (often the next line, as "parser error: error at 2:4"); Python's own parser, asked only for
    a tree (nothing runs), names the offending line and says what is wrong, so it words it."""
    import ast

    try:
        compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as python:
        if python.lineno:
            return f"syntax error: {python.msg}", python.lineno, max(python.offset or 1, 1)
    except (ValueError, RecursionError, MemoryError):
        pass
    return (
        f"syntax error: {error.message.split(': expected')[0]}",
        max(error.raw_line, 1),
        max(error.raw_column, 0) + 1,
    )
