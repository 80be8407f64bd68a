"""Positions computed for reported nodes only agree with libcst's PositionProvider."""

from __future__ import annotations

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from libcst.metadata import MetadataWrapper, PositionProvider

from wfkit.lint import positions
from wfkit.lint.positions import resolve_positions

SOURCES = {
    "decorated": '''\
import x  # comment

# leading comment


@dec.one(1)

@dec.two
async def f(a=now(), *, b: int = 2) -> None:
    """Doc."""
    # comment
    y = g(a); z = h(b)
    if y: k(1)
    elif z:
        k(2)
    else:
        k(3)
    async with m() as n:
        async for i in n.items():
            print(i)
''',
    "classes": '''\
class A:
    class B:
        def m(self):
            try:
                return q()
            except E as e:
                r(e)
            else:
                s()
            finally:
                t()

    def n(self):
        while w():
            u()
        else:
            v()
''',
    "unicode_and_tabs": "def f():\n\tx = 'ñandú'; y = g('é')\n\treturn h(x, y)\n",
    "strings": 'def f():\n    s = """\nnot code()\n"""\n    return call(s)\n',
    "match": "def f(v):\n    match v:\n        case [a]:\n            return g(a)\n        case _:\n            h()\n",
}


def _calls(module: cst.Module) -> list[tuple[cst.CSTNode, cst.CSTNode]]:
    out = []

    class Collect(cst.CSTVisitor):
        def __init__(self) -> None:
            self.stack: list[cst.CSTNode] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                self.stack.append(node)
            if isinstance(node, (cst.Call, cst.Attribute)) and self.stack:
                out.append((node, self.stack[-1]))
            return True

        def on_leave(self, node: cst.CSTNode) -> None:
            if isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                self.stack.pop()

    module.visit(Collect())
    return out


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_positions_match_position_provider(name: str, monkeypatch) -> None:
    source = SOURCES[name]
    module = cst.parse_module(source)
    wanted = _calls(module)
    assert wanted
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    monkeypatch.setattr(positions, "MetadataWrapper", None)  # the fallback must not be needed
    got = resolve_positions(module, source, wanted)
    for node, _ in wanted:
        assert got[node] == expected[node], cst.Module([]).code_for_node(node)


_EXAMPLES = settings.default.max_examples
_EXAMPLES = _EXAMPLES if _EXAMPLES > 100 else min(_EXAMPLES, 10)


@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_node())
def test_positions_match_on_generated_programs(source: str) -> None:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return
    wanted = _calls(module)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    got = resolve_positions(module, source, wanted)
    for node, _ in wanted:
        assert got[node] == expected[node]
