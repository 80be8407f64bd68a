"""Line and column of reported nodes only, without libcst's PositionProvider over the module.

libcst nodes carry no positions; PositionProvider generates code for the whole module with
position tracking, which costs more than the parse. Findings are rare, so instead: the C ``ast``
parser gives every statement's line and column; the libcst statements are paired with the
``ast`` ones by walking both statement trees in step; then code generation with position
tracking runs only for the innermost statement holding each reported node, starting at that
statement's position. Any disagreement between the two trees falls back to PositionProvider.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState


class _Mismatch(Exception):
    pass


_COMPOUND = {
    cst.If: (ast.If,), cst.For: (ast.For, ast.AsyncFor), cst.While: (ast.While,),
    cst.With: (ast.With, ast.AsyncWith), cst.Try: (ast.Try,),
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef), cst.ClassDef: (ast.ClassDef,),
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


def _pair_children(node: cst.CSTNode, peer: ast.stmt, out: dict[int, ast.stmt]) -> None:
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
    else:  # Try / TryStar
        _pair(_suite(node.body), peer.body, out)
        for handler, peer_handler in zip(node.handlers, peer.handlers, strict=True):
            _pair(_suite(handler.body), peer_handler.body, out)
        if node.orelse is not None:
            _pair(_suite(node.orelse.body), peer.orelse, out)
        if node.finalbody is not None:
            _pair(_suite(node.finalbody.body), peer.finalbody, out)


def _char_column(lines: list[str], lineno: int, byte_offset: int) -> int:
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))


def resolve_positions(module: cst.Module, source: str,
                      wanted: Sequence[tuple[cst.CSTNode, cst.CSTNode]]) -> dict[cst.CSTNode, CodeRange]:
    """Positions of the nodes in ``wanted`` (pairs of node and its innermost statement)."""
    try:
        with warnings.catch_warnings():   # the C parser warns about odd code; not our business
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
        pairs: dict[int, ast.stmt] = {}
        _pair(module.body, tree.body, pairs)
    except (SyntaxError, ValueError, RecursionError, MemoryError, _Mismatch, IndexError,
            AttributeError):
        return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
    lines = source.splitlines()
    computed: dict[cst.CSTNode, CodeRange] = {}
    done: set[int] = set()
    for node, statement in wanted:
        if node in computed or id(statement) in done:
            continue
        done.add(id(statement))
        peer = pairs.get(id(statement))
        if peer is None:
            return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
        provider = PositionProvider()
        state = PositionProvidingCodegenState(default_indent=module.default_indent,
                                              default_newline=module.default_newline,
                                              provider=provider)
        column = _char_column(lines, peer.lineno, peer.col_offset)
        if isinstance(statement, cst.BaseSmallStatement):
            state.line, state.column = peer.lineno, column
        else:
            first = min([peer.lineno, *(d.lineno for d in getattr(peer, "decorator_list", ()))])
            state.line = first - len(statement.leading_lines)
            state.indent_tokens = [" " * column] if column else []
        statement._codegen(state)
        computed.update(provider._computed)
    return computed
