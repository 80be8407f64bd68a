"""wfkit.static.libcst_private against libcst's public API, and the versions it is known with.

The module reaches into libcst's internals (code generation state, ``_codegen``, the position
provider's ``_computed``). These tests compare its results with what libcst's public API says
for the same nodes, so an upgrade that changes the internals fails here, not as wrong line
numbers in findings; and they fail on a libcst version nobody has checked yet: run the suite
with the new version, then add it to ``KNOWN_VERSIONS``.
"""

from __future__ import annotations

from importlib.metadata import version

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from wfkit.static.libcst_private import KNOWN_VERSIONS, node_code, statement_positions

SOURCE = """\
import time


def process(kind):
    if kind:
        time.sleep(
            1)
    elif kind == 'b':
        stamp = [time.time(),
                 time.time()]
    return kind
"""


def test_the_installed_libcst_is_a_known_version():
    installed = version("libcst")
    assert installed in KNOWN_VERSIONS, (
        f"libcst {installed} is not in wfkit.static.libcst_private.KNOWN_VERSIONS "
        f"{KNOWN_VERSIONS}: if the rest of the suite passes with it, add it there"
    )


def test_node_code_is_code_for_node_at_a_block_indentation():
    module = cst.parse_module(SOURCE)
    function = module.body[1]
    assert node_code(module, function, []) == module.code_for_node(function)
    branch = function.body.body[0]
    call = branch.body.body[0].body[0].value
    # libcst keeps a bracket's continuation lines relative to the block's indentation:
    # generated at that indentation, the call is the source's text again.
    assert node_code(module, call, []) == "time.sleep(\n    1)"
    assert node_code(module, call, ["        "]) == "time.sleep(\n            1)"
    assert "time.sleep(\n            1)" in SOURCE


@pytest.mark.parametrize("which", ["small", "compound", "elif"])
def test_statement_positions_match_the_position_provider(which: str):
    module = cst.parse_module(SOURCE)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    branch = module.body[1].body.body[0]
    if which == "small":
        statement = branch.body.body[0].body[0]  # time.sleep(...) on line 6, column 8
        found = statement_positions(module, statement, line=6, column=8, indent_tokens=["        "])
    elif which == "compound":
        statement = branch  # the if statement, line 5, column 4
        found = statement_positions(module, statement, line=5, column=None, indent_tokens=["    "])
    else:
        statement = branch.orelse  # written as "elif", line 8
        found = statement_positions(
            module, statement, line=8, column=None, indent_tokens=["    "], is_elif=True
        )
    assert found, "no positions computed"
    assert statement in found
    for node, where in found.items():
        assert where == expected[node], (type(node).__name__, where, expected[node])
