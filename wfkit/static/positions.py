"""Line and column of reported nodes only, without libcst's PositionProvider over the module.

libcst nodes carry no positions; PositionProvider generates code for the whole module with
position tracking, which costs more than the parse. Findings are rare, so instead:

1. By text (most findings, no second parse): libcst round-trips, so a reported expression's
   code (generated alone, with the indentation of its block) is a substring of the source at
   the node's place. When it occurs exactly once in the file, that is the place; when it
   occurs more often, the code of its innermost small statement is tried the same way, and the
   node's code must then occur once inside that statement's. The parentheses libcst counts
   outside an expression's position are cut off the ends.
2. By statement (the rest): the C ``ast`` parser gives every statement's line and column; the
   libcst statements are paired with the ``ast`` ones by walking both statement trees in step;
   then code generation with position tracking runs only for the innermost statement holding
   each reported node, starting at that statement's position. Any disagreement between the two
   trees falls back to PositionProvider.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Sequence
from typing import Any, cast

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from wfkit.static.libcst_private import node_code, statement_positions

# What PositionProvider counts as a line break (libcst.metadata.position_provider.NEWLINE_RE).
_NEWLINE = re.compile(r"\r\n?|\n")


class _Mismatch(Exception):
    pass


_COMPOUND: dict[type[cst.CSTNode], tuple[type[ast.stmt], ...]] = {
    cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.Try: (ast.Try,),
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
}
if hasattr(cst, "TryStar") and hasattr(ast, "TryStar"):
    _COMPOUND[cst.TryStar] = (ast.TryStar,)
if hasattr(ast, "Match"):
    _COMPOUND[cst.Match] = (ast.Match,)


def _suite(suite: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    return suite.body


def _pair(nodes: Sequence[cst.CSTNode], stmts: list[ast.stmt], out: dict[int, ast.stmt]) -> None:
    index = 0
    for node in nodes:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                out[id(small)] = stmts[index]
                index += 1
            continue
        if isinstance(node, cst.BaseSmallStatement):
            out[id(node)] = stmts[index]
            index += 1
            continue
        if index >= len(stmts):
            raise _Mismatch
        peer = stmts[index]
        index += 1
        expected = _COMPOUND.get(type(node))
        if expected is None or not isinstance(peer, expected):
            raise _Mismatch
        out[id(node)] = peer
        _pair_children(node, peer, out)
    if index != len(stmts):
        raise _Mismatch


def _pair_children(node: cst.CSTNode, peer: Any, out: dict[int, ast.stmt]) -> None:
    # ``peer`` is the ast statement of node's kind (_pair checked it against _COMPOUND), so it
    # has the same parts under ast's names.
    if isinstance(node, cst.If):
        _pair(_suite(node.body), peer.body, out)
        if isinstance(node.orelse, cst.If):
            _pair([node.orelse], peer.orelse, out)
        elif node.orelse is not None:
            _pair(_suite(node.orelse.body), peer.orelse, out)
    elif isinstance(node, (cst.For, cst.While)):
        _pair(_suite(node.body), peer.body, out)
        if node.orelse is not None:
            _pair(_suite(node.orelse.body), peer.orelse, out)
    elif isinstance(node, (cst.With, cst.FunctionDef, cst.ClassDef)):
        _pair(_suite(node.body), peer.body, out)
    elif isinstance(node, cst.Match):
        for case, peer_case in zip(node.cases, peer.cases, strict=True):
            _pair(_suite(case.body), peer_case.body, out)
    else:  # Try, or TryStar (the same parts; not in every libcst release)
        attempt = cast(cst.Try, node)
        _pair(_suite(attempt.body), peer.body, out)
        for handler, peer_handler in zip(attempt.handlers, peer.handlers, strict=True):
            _pair(_suite(handler.body), peer_handler.body, out)
        if attempt.orelse is not None:
            _pair(_suite(attempt.orelse.body), peer.orelse, out)
        if attempt.finalbody is not None:
            _pair(_suite(attempt.finalbody.body), peer.finalbody, out)


def _char_column(lines: list[str], lineno: int, byte_offset: int) -> int:
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))


def resolve_positions(
    module: cst.Module, source: str, wanted: Sequence[tuple[cst.CSTNode, cst.CSTNode, str]]
) -> dict[cst.CSTNode, CodeRange]:
    """Positions of the nodes in ``wanted``: triples of a node, its innermost statement and the
    indentation of the block holding that statement (the indents of the IndentedBlocks and
    match statements around it, joined, as code generation writes them)."""
    computed: dict[cst.CSTNode, CodeRange] = {}
    rest: list[tuple[cst.CSTNode, cst.CSTNode, str]] = []
    for node, statement, indent in wanted:
        if node not in computed:
            where = _by_text(module, source, node, statement, indent)
            if where is None:
                rest.append((node, statement, indent))
            else:
                computed[node] = where
    if rest:
        computed.update(_by_statement(module, source, rest))
    return computed


def _code(module: cst.Module, node: cst.CSTNode, indent: str) -> str:
    """``node``'s code as the module's code generation writes it inside a block at ``indent``
    (continuation lines of bracketed code repeat the block's indentation)."""
    return node_code(module, node, [indent] if indent else [])


def _unique(source: str, text: str, start: int, end: int) -> int | None:
    """Offset of the only occurrence of ``text`` in ``source[start:end]`` (overlaps count)."""
    found = source.find(text, start, end)
    if found < 0 or source.find(text, found + 1, end) >= 0:
        return None
    return found


def _by_text(
    module: cst.Module, source: str, node: cst.CSTNode, statement: cst.CSTNode, indent: str
) -> CodeRange | None:
    if not isinstance(node, cst.BaseExpression) or isinstance(node, cst.StarredElement):
        return None  # other nodes' positions leave out other parts of their code (a comma)
    text = _code(module, node, indent)
    if not text:
        return None
    offset = _unique(source, text, 0, len(source))
    if offset is None:
        if not isinstance(statement, cst.BaseSmallStatement):
            return None
        outer = _code(module, statement, indent)
        base = _unique(source, outer, 0, len(source))
        if base is None:
            return None
        offset = _unique(source, text, base, base + len(outer))
        if offset is None:
            return None
    start = offset + sum(len(_code(module, paren, indent)) for paren in node.lpar)
    end = offset + len(text) - sum(len(_code(module, paren, indent)) for paren in node.rpar)
    return CodeRange(_position(source, start), _position(source, end))


def _position(source: str, offset: int) -> CodePosition:
    """Line (1-based) and column (0-based, in characters) of ``offset``, counted the way
    PositionProvider counts them."""
    if "\r" not in source:
        line_start = source.rfind("\n", 0, offset) + 1
        return CodePosition(source.count("\n", 0, offset) + 1, offset - line_start)
    line, line_start = 1, 0
    for match in _NEWLINE.finditer(source, 0, offset):
        line, line_start = line + 1, match.end()
    return CodePosition(line, offset - line_start)


def _by_statement(
    module: cst.Module, source: str, wanted: Sequence[tuple[cst.CSTNode, cst.CSTNode, str]]
) -> dict[cst.CSTNode, CodeRange]:
    try:
        with warnings.catch_warnings():  # the C parser warns about odd code; not our business
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
        pairs: dict[int, ast.stmt] = {}
        _pair(module.body, tree.body, pairs)
    except (
        SyntaxError,
        ValueError,
        RecursionError,
        MemoryError,
        _Mismatch,
        IndexError,
        AttributeError,
    ):
        return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
    lines = _NEWLINE.split(source)  # the lines ast numbers (str.splitlines also splits at \f)
    computed: dict[cst.CSTNode, CodeRange] = {}
    done: set[int] = set()
    for node, statement, indent in wanted:
        if node in computed or id(statement) in done:
            continue
        done.add(id(statement))
        peer = pairs.get(id(statement))
        if peer is None:
            return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
        # Continuation lines inside brackets repeat the block's indentation (small statements'
        # too: without it, the end of a multi-line call came out short). A compound statement
        # starts a line, so its column is as long as that indentation.
        column = _char_column(lines, peer.lineno, peer.col_offset)
        if isinstance(statement, cst.BaseSmallStatement):
            computed.update(
                statement_positions(
                    module,
                    statement,
                    line=peer.lineno,
                    column=column,
                    indent_tokens=[indent] if indent else [],
                )
            )
        else:
            first = min([peer.lineno, *(d.lineno for d in getattr(peer, "decorator_list", ()))])
            # An elif is written as its parent If writes it ("if" is 2 shorter).
            is_elif = isinstance(statement, cst.If) and lines[peer.lineno - 1].lstrip().startswith(
                "elif"
            )
            computed.update(
                statement_positions(
                    module,
                    statement,
                    line=first - len(getattr(statement, "leading_lines", ())),  # compound
                    column=None,
                    indent_tokens=[" " * column] if column else [],
                    is_elif=is_elif,
                )
            )
    return computed
