"""The one gate in front of libcst's native parser: only sizes and nesting it survives get in.

Why a gate: libcst's parser is native code. On deeply nested input it overflows its stack and
the process dies with a segfault, which no Python handler can catch (2,000 nested parentheses
are enough), and its time and memory grow faster than the input (1,000 nested calls: 11 s and
2.2 GB; a chain of 5,000 ``.attr``: 10 s). A native call cannot be interrupted from Python, so
a time limit would need a process per file; instead the input is bounded *before* the call:

- ``max_file_size`` (bytes): parsing costs ~7 s and ~500 MB per MB of ordinary code;
- ``max_nesting``: the depth of the file's syntax tree (each operator, call, subscript, bracket,
  ``lambda``, conditional expression or block adds a level), which is what the parser's stack,
  time and memory grow with;
- what CPython's own parser rejects for its limits (200 nested brackets, 100 levels of
  indentation, "too complex") is rejected too, with CPython's words.

The check is cheap on ordinary files: a count of the characters and keywords that can nest
(``(``, ``.``, ``+``, ``not``, ...) bounds the depth from above, so a file whose count is
under the limit (and with at most 200 opening brackets) is accepted without parsing it twice
(~30 us for a 100-line file). Only larger files are parsed by CPython first (~9 us per line,
against ~130 us per line for libcst and the analysis) to measure their real depth statement by
statement. Kept free of libcst, so the check runs before the parser is even imported.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

DEFAULT_MAX_FILE_SIZE = 1_000_000  # bytes: ~7 s and ~0.5 GB of parsing
DEFAULT_MAX_NESTING = 1000  # levels: libcst needs ~0.3 s and ~200 MB at this depth
CPYTHON_MAX_BRACKETS = 200  # CPython's tokenizer: "too many nested parentheses"

# Characters and keywords of which each nesting level needs at least one (a string literal
# has two quotes: adjacent literals nest in libcst). Substring counts overcount ("or" in "for"),
# which only sends a file to the exact check.
_NESTING_CHARS = "()[]{}.+-*/%@&|^~<>\"'"
_DROP_OTHER_ASCII = str.maketrans(
    "", "", "".join(chr(i) for i in range(128) if chr(i) not in _NESTING_CHARS)
)
_NESTING_WORDS = ("not", "and", "or", "lambda", "if", "await", "yield")
# Depth a file can have with no nesting character at all: 100 indentation levels (CPython's
# and libcst's limit), each a statement and its body, plus a statement's own few levels.
_SLACK = 2 * 100 + 5
# Messages of CPython's parser that mean "a limit", not "invalid syntax".
_CPYTHON_LIMITS = (
    "too many nested parentheses",
    "too many levels of indentation",
    "too complex",
    "too many statically nested blocks",
)


@dataclass(frozen=True)
class ParseLimits:
    """What the parser is trusted with (``[tool.wfkit.lint]`` max-file-size / max-nesting)."""

    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_nesting: int = DEFAULT_MAX_NESTING


@dataclass(frozen=True)
class Rejection:
    """Why a file is not parsed, and where (1-based), for a WF000 finding or a usage error."""

    message: str
    line: int = 1
    column: int = 1


def check_source(text: str, limits: ParseLimits) -> Rejection | None:
    """None when ``text`` is safe to hand to libcst; otherwise why not, naming the limit."""
    size = len(text)
    if size * 4 > limits.max_file_size:  # only then can the UTF-8 size exceed the limit
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limits.max_file_size:
            return Rejection(
                f"file too large to check: {size:,} bytes (the limit is "
                f"max-file-size = {limits.max_file_size:,} bytes); exclude it or "
                "raise the limit"
            )
    if (
        _quick_bound(text) + _SLACK <= limits.max_nesting
        and _opening_brackets(text) <= CPYTHON_MAX_BRACKETS
    ):
        return None
    return _exact_check(text, limits.max_nesting)


def _quick_bound(text: str) -> int:
    """An upper bound of the file's nesting depth, from counts only (C speed)."""
    marks = text.translate(_DROP_OTHER_ASCII)
    bound = len(marks)  # non-ASCII characters survive the table: counted, harmlessly
    for word in _NESTING_WORDS:
        bound += text.count(word)
    return bound


def _opening_brackets(text: str) -> int:
    return text.count("(") + text.count("[") + text.count("{")


def _exact_check(text: str, limit: int) -> Rejection | None:
    """Parse with CPython (limits and all) and measure the depth of each statement that the
    counts cannot clear on their own."""
    import ast

    # Null bytes: CPython refuses the whole text (libcst words that error itself); measured
    # as spaces, so they cannot wave a deep file through.
    source = text.replace("\0", " ")
    try:
        tree = cast(
            ast.Module,
            compile(source, "<wfkit>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True),
        )
    except (RecursionError, MemoryError) as error:
        return Rejection(
            f"file too deeply nested to check: Python's parser gives up "
            f"({type(error).__name__}: {str(error) or 'too complex'})"
        )
    except SyntaxError as error:
        line, column = error.lineno or 1, error.offset or 1
        if any(part in str(error.msg) for part in _CPYTHON_LIMITS):
            limit_text = (
                "; Python allows 200"
                if "parentheses" in str(error.msg)
                else "; Python allows 100"
                if "indentation" in str(error.msg)
                else ""
            )
            return Rejection(
                f"file too deeply nested to check: Python's parser rejects it: "
                f"{error.msg}{limit_text}",
                line,
                column,
            )
        return Rejection(
            f"syntax error: {error.msg} (found by Python "
            f"{sys.version_info[0]}.{sys.version_info[1]}'s parser, which checks "
            "files over the quick nesting bound)",
            line,
            column,
        )
    starts = _line_starts(text)
    return _deepest_statement(tree.body, text, starts, limit)


def _line_starts(text: str) -> list[int]:
    starts = [0, 0]  # 1-based: starts[n] is the offset of line n
    total = 0
    for line in text.splitlines(keepends=True):
        total += len(line)
        starts.append(total)
    return starts


def _deepest_statement(
    body: list[Any], text: str, starts: list[int], limit: int
) -> Rejection | None:
    """Walk statements (not expressions) with their depth; a statement whose text's counts
    fit under the limit is cleared whole, the others are measured node by node."""
    import ast

    stack: list[tuple[Any, int]] = [(statement, 1) for statement in reversed(body)]
    while stack:
        node, depth = stack.pop()
        source = _source_of(node, text, starts)
        if depth + _quick_bound(source) + _SLACK <= limit:
            continue
        children = list(ast.iter_child_nodes(node))
        for child in children:
            if isinstance(child, ast.stmt) or isinstance(
                child, (ast.excepthandler, ast.match_case)
            ):
                stack.append((child, depth + 1))
            else:
                deepest = depth + 1 + _expression_depth(child, limit - depth)
                if deepest > limit:
                    line = getattr(child, "lineno", getattr(node, "lineno", 1))
                    return Rejection(
                        f"file too deeply nested to check: nesting deeper than "
                        f"{limit} levels in the statement at line "
                        f"{getattr(node, 'lineno', line)} (the limit is "
                        f"max-nesting = {limit}); split the expression, or raise "
                        "the limit",
                        line,
                        getattr(child, "col_offset", 0) + 1,
                    )
    return None


def _source_of(node: Any, text: str, starts: list[int]) -> str:
    first = getattr(node, "lineno", None)
    last = getattr(node, "end_lineno", None)
    if first is None or last is None:
        return text  # no position (e.g. a match_case): its children are measured one by one
    return text[starts[min(first, len(starts) - 1)] : starts[min(last + 1, len(starts) - 1)]]


def _expression_depth(root: Any, budget: int) -> int:
    """Depth of an expression subtree as libcst nests it, stopping once past ``budget``.

    Python's tree keeps ``a and b and c`` and ``for`` clauses of a comprehension flat, libcst
    nests them: those children count one level per operand or clause before them.
    """
    import ast

    skip = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
    deepest = 0
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > budget:
            return deepest
        for extra, child in _nested_children(node):
            if not isinstance(child, skip):
                stack.append((child, depth + 1 + extra))
    return deepest


def _nested_children(node: Any) -> Iterator[tuple[int, Any]]:
    import ast

    if isinstance(node, ast.BoolOp):
        count = len(node.values)
        for index, value in enumerate(node.values):
            yield count - 1 - index if index else count - 1, value
        return
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        for field_name in ("elt", "key", "value"):
            part = getattr(node, field_name, None)
            if part is not None:
                yield len(node.generators), part
        for index, generator in enumerate(node.generators):
            yield index, generator
        return
    for child in ast.iter_child_nodes(node):
        yield 0, child
