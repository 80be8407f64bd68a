"""libcst's private API, in one place: code generation for one node, with or without positions.

libcst offers ``Module.code_for_node`` (code of a node, at no indentation) and
``PositionProvider`` (positions of every node, by generating the whole module's code). The
linter needs the code of one node *at its block's indentation* and the positions of the nodes
of *one statement*, starting at a known line and column (:mod:`wfkit.static.positions`), which
only libcst's internals do:

- ``libcst._nodes.internal.CodegenState``: the state ``code_for_node`` generates code into
  (``indent_tokens``, ``tokens``);
- ``libcst.metadata.position_provider.PositionProvidingCodegenState``: the same, counting
  ``line``/``column`` and recording each node's range in the provider's ``_computed``;
- ``CSTNode._codegen(state, **options)``: one node's code generation (``is_elif`` for an
  ``If`` that is an ``elif``).

Nothing else in wfkit may touch libcst's private names (tests/test_architecture.py checks), so
a libcst upgrade that moves them breaks this module only. It is known to work with the libcst
versions in :data:`KNOWN_VERSIONS`; tests/static/test_libcst_private.py checks its results
against libcst's public API and fails on an installed version not listed, so an upgrade is
checked and then added here.
"""

from __future__ import annotations

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodeRange, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

__all__ = ["KNOWN_VERSIONS", "node_code", "statement_positions"]

# libcst releases this module has been checked with (tests/static and tests/lint, each in a
# throwaway venv). 1.1.0, the floor in pyproject.toml, passes them too; it warns at import
# (DeprecationWarning: mypy_extensions.TypedDict), so the suite needs
# `-W ignore::DeprecationWarning` there, as its warnings are errors.
KNOWN_VERSIONS = ("1.1.0", "1.8.6", "1.9.0")


def node_code(module: cst.Module, node: cst.CSTNode, indent_tokens: list[str]) -> str:
    """``node``'s code as ``module``'s code generation writes it inside a block whose
    indentation is ``indent_tokens`` (continuation lines of bracketed code repeat it)."""
    state = CodegenState(
        default_indent=module.default_indent, default_newline=module.default_newline
    )
    if indent_tokens:
        state.indent_tokens = list(indent_tokens)
    node._codegen(state)
    return "".join(state.tokens)


def statement_positions(
    module: cst.Module,
    statement: cst.CSTNode,
    *,
    line: int,
    column: int | None,
    indent_tokens: list[str],
    is_elif: bool = False,
) -> dict[cst.CSTNode, CodeRange]:
    """The ranges of ``statement`` and every node in it, generating its code alone from
    ``line`` (and ``column``, for a small statement: None leaves it at the line's start) with
    ``indent_tokens`` as the block's indentation; ``is_elif`` writes an ``If`` as ``elif``."""
    provider = PositionProvider()
    state = PositionProvidingCodegenState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=provider,
    )
    state.line = line
    if column is not None:
        state.column = column
    state.indent_tokens = list(indent_tokens)
    options = {"is_elif": True} if is_elif else {}
    statement._codegen(state, **options)
    # PositionProvider computes CodeRange values (its _computed is typed for any provider).
    return {node: value for node, value in provider._computed.items()}  # type: ignore[misc]
