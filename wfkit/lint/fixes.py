"""Applying fixes: text edits at the findings' ranges, then any imports the edits need.

Edits are applied from the end of the file backwards so earlier ranges stay valid; an edit that
overlaps one already applied is skipped (the next ``--fix`` run picks it up). Imports are added
with libcst after the last top-level import, so the result is always re-parsed and valid.
"""

from __future__ import annotations

import libcst as cst

from wfkit.lint.summary import FixEdit

Edit = tuple[int, int, int, int, FixEdit]  # line, column, end_line, end_column (1-based), edit


def _offsets(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def apply_edits(text: str, edits: list[Edit]) -> tuple[str, set[int]]:
    """(new text, indices of the edits applied)."""
    starts = _offsets(text)
    spans = []
    for index, (line, column, end_line, end_column, edit) in enumerate(edits):
        if not (1 <= line <= len(starts) and 1 <= end_line <= len(starts)):
            continue
        spans.append(
            (starts[line - 1] + column - 1, starts[end_line - 1] + end_column - 1, index, edit)
        )
    spans.sort(key=lambda s: (s[0], s[1]), reverse=True)
    applied: set[int] = set()
    limit = len(text) + 1
    imports: list[str] = []
    for start, end, index, edit in spans:
        if end > limit or start > end:
            continue
        text = text[:start] + edit.text + text[end:]
        limit = start
        applied.add(index)
        if edit.add_import and edit.add_import not in imports:
            imports.append(edit.add_import)
    if imports:
        text = add_imports(text, imports)
    else:
        cst.parse_module(text)  # a fix must never leave a file that does not parse
    return text, applied


def add_imports(text: str, statements: list[str]) -> str:
    """Insert each import statement after the module's leading imports (if not present)."""
    module = cst.parse_module(text)
    existing = {
        module.code_for_node(stmt).strip()
        for stmt in module.body
        if isinstance(stmt, cst.SimpleStatementLine)
    }
    new = [cst.parse_statement(s + "\n") for s in statements if s not in existing]
    if not new:
        return text
    body = list(module.body)
    insert_at = 0
    for index, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom))
            or (index == 0 and isinstance(s, cst.Expr) and isinstance(s.value, cst.SimpleString))
            for s in stmt.body
        ):
            insert_at = index + 1
        else:
            break
    body[insert_at:insert_at] = new
    return module.with_changes(body=body).code


def unified_diff(before: str, after: str, path: str, context: int = 3) -> str:
    """``--diff``'s text: difflib's unified format, without difflib's "autojunk" heuristic.

    ``difflib.unified_diff`` treats a line that occurs in more than 1% of a file over 200 lines
    (a blank line, a lone ``)``) as junk, and then shows an unchanged line removed and added
    again; a fix's diff must show exactly the lines it changes.
    """
    import difflib

    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    out: list[str] = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        if not out:
            out += [f"--- {path}\n", f"+++ {path}\n"]
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + line for line in a[i1:i2]]
                continue
            out += ["-" + line for line in a[i1:i2]]
            out += ["+" + line for line in b[j1:j2]]
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out
    )


def _range(start: int, stop: int) -> str:
    """A hunk's line range as the unified format writes it (1-based; an empty one names the
    line before it)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"
