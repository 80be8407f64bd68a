"""Suppression comments: ``# wfkit: ignore[WF101]``, ``# noqa: WF101, WF104 reason``.

A comment at the end of a code line covers that line. A comment on its own line covers the next
statement, and when that statement opens a block (``def``, ``class``, ``with``, ``for``, ``if``,
decorators...) the whole block. ``# wfkit: ignore-file[WF101]`` covers the file. ``# noqa``
comments that name no WF code belong to other tools and are left alone; a bare
``# wfkit: ignore`` covers every WF code. Comments are found with ``tokenize`` (so strings that
look like comments are not comments), and only in files whose text mentions ``noqa`` or ``wfkit:``.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable

from wfkit.lint.finding import Finding
from wfkit.lint.summary import Suppression

_CODE = r"[A-Z]+[0-9]+"
_WFKIT = re.compile(r"#\s*wfkit:\s*ignore(?P<file>-file)?(?:\[(?P<codes>[^\]]*)\])?", re.I)
_NOQA = re.compile(rf"#\s*noqa\s*:\s*(?P<codes>{_CODE}(?:\s*,\s*{_CODE})*)", re.I)
# Tokenizing is pure Python: only files that may hold one of *our* suppressions pay for it
# (a noqa comment for another tool, E501 say, does not).
_ANY = re.compile(r"noqa\s*:[^\n]*\bwf\d|wfkit:", re.I)


def _codes(text: str) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in text.split(",") if c.strip())


def parse_suppressions(text: str) -> list[Suppression]:
    """Every suppression comment in ``text`` with the lines it covers."""
    if not _ANY.search(text):
        return []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    out: list[Suppression] = []
    for index, tok in enumerate(tokens):
        if tok.type != tokenize.COMMENT:
            continue
        parsed = _parse_comment(tok.string)
        if parsed is None:
            continue
        codes, file_level = parsed
        line, column = tok.start[0], tok.start[1] + 1
        end_column = tok.end[1] + 1
        if file_level:
            out.append(Suppression(line, column, codes, 1, 10**9, True, end_column))
            continue
        own_line = tok.line[: tok.start[1]].strip() == ""
        if not own_line:
            start, end = _logical_line(tokens, index)
            out.append(Suppression(line, column, codes, start, end, False, end_column))
            continue
        start, end = _covered(tokens, index)
        out.append(Suppression(line, column, codes, start, end, False, end_column))
    return out


def _parse_comment(comment: str) -> tuple[tuple[str, ...], bool] | None:
    match = _WFKIT.search(comment)
    if match:
        codes = _codes(match.group("codes") or "")
        return tuple(c for c in codes if c.startswith("WF")), bool(match.group("file"))
    match = _NOQA.search(comment)
    if match:
        codes = tuple(c for c in _codes(match.group("codes")) if c.startswith("WF"))
        if codes:
            return codes, False
    return None


_SKIP = frozenset(
    {
        tokenize.NL,
        tokenize.COMMENT,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
    }
)


def _covered(tokens: list[tokenize.TokenInfo], index: int) -> tuple[int, int]:
    """Lines of the statement (or block) after the comment at ``tokens[index]``."""
    i = index + 1
    while i < len(tokens) and tokens[i].type in _SKIP:
        i += 1
    if i >= len(tokens) or tokens[i].type == tokenize.ENDMARKER:
        line = tokens[index].start[0]
        return line, line
    start = tokens[i].start[0]
    depth = 0
    seen_indent = False
    last = start
    line_first = tokens[i]
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == tokenize.INDENT:
            depth += 1
            seen_indent = True
        elif tok.type == tokenize.DEDENT:
            depth -= 1
            if depth <= 0 and seen_indent:
                return start, last
        elif tok.type == tokenize.NEWLINE:
            last = tok.start[0]
            if depth == 0:
                nxt = _next_significant(tokens, i + 1)
                decorator = line_first.type == tokenize.OP and line_first.string == "@"
                if not decorator and (nxt is None or nxt.type != tokenize.INDENT):
                    return start, last
                if nxt is not None and nxt.type not in (tokenize.INDENT,):
                    line_first = nxt
        elif tok.type == tokenize.ENDMARKER:
            return start, last
        elif tok.type not in _SKIP:
            last = tok.end[0]
        i += 1
    return start, last


_LINE_BREAKS = frozenset({tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING})


def _logical_line(tokens: list[tokenize.TokenInfo], index: int) -> tuple[int, int]:
    """Lines of the logical line a trailing comment ends a physical line of (a call spread
    over several lines is covered by a comment on any of its lines)."""
    line = tokens[index].start[0]
    start = end = line
    i = index - 1
    while i >= 0 and tokens[i].type not in _LINE_BREAKS:
        if tokens[i].type not in (tokenize.NL, tokenize.COMMENT):
            start = min(start, tokens[i].start[0])
        i -= 1
    i = index + 1
    while (
        i < len(tokens)
        and tokens[i].type not in _LINE_BREAKS
        and tokens[i].type != tokenize.ENDMARKER
    ):
        end = max(end, tokens[i].end[0])
        i += 1
    return start, end


def _next_significant(tokens: list[tokenize.TokenInfo], i: int) -> tokenize.TokenInfo | None:
    while i < len(tokens) and tokens[i].type in (tokenize.NL, tokenize.COMMENT):
        i += 1
    return tokens[i] if i < len(tokens) else None


def apply_suppressions(
    findings: Iterable[Finding],
    suppressions: list[Suppression],
    path: str,
    active_codes: frozenset[str],
    unused_message: str,
    report_unused: bool,
) -> list[Finding]:
    """Drop suppressed findings; add a WF900 finding for each suppression that did nothing.

    A suppression of a code that is not selected in this run is never "unused" (the rule did
    not run), so turning a rule off does not make its suppressions noisy.
    """
    used: set[tuple[int, str]] = set()
    kept: list[Finding] = []
    for finding in findings:
        suppressed = False
        for index, sup in enumerate(suppressions):
            if sup.start <= finding.line <= sup.end and (
                not sup.codes or finding.code in sup.codes
            ):
                used.add((index, finding.code if sup.codes else "*"))
                suppressed = True
        if not suppressed:
            kept.append(finding)
    if report_unused:
        for index, sup in enumerate(suppressions):
            if not sup.codes:
                if (index, "*") not in used:
                    kept.append(
                        Finding(
                            path,
                            sup.line,
                            sup.column,
                            sup.line,
                            _end(sup),
                            "WF900",
                            f"{unused_message}: `wfkit: ignore` suppressed nothing",
                            None,
                        )
                    )
                continue
            for code in sup.codes:
                if code in active_codes and (index, code) not in used and code != "WF900":
                    kept.append(
                        Finding(
                            path,
                            sup.line,
                            sup.column,
                            sup.line,
                            _end(sup),
                            "WF900",
                            f"{unused_message}: {code} suppressed nothing",
                            None,
                        )
                    )
    return kept


def _end(sup: Suppression) -> int:
    return sup.end_column if sup.end_column > sup.column else sup.column + 1
