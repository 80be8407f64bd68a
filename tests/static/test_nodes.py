"""Semantic children reach every name, call and function libcst's ``children`` reach."""

from __future__ import annotations

from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings

from wfkit.static.nodes import semantic_children

KINDS = (cst.Name, cst.Call, cst.Attribute, cst.Lambda, cst.FunctionDef, cst.BaseExpression)
FIXTURES = sorted((Path(__file__).parents[2] / "fixtures" / "lint").rglob("*.py"))


def _reached(root: cst.CSTNode, children) -> set[int]:
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if isinstance(node, KINDS):
            seen.add(id(node))
        stack.extend(children(node))
    return seen


def _same_reach(module: cst.Module) -> int:
    everything = _reached(module, lambda node: node.children)
    assert _reached(module, semantic_children) == everything
    return len(everything)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixtures(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        assert "expect: WF000" in source  # the fixture that does not parse, on purpose
        return
    assert _same_reach(module) > 0


def test_tricky_code() -> None:
    assert (
        _same_reach(
            cst.parse_module(
                "from .. import a as b\n"
                "@d(x := f())\n"
                "async def g(p: T = v, *a: U, q=lambda: w(), **k) -> R:\n"
                "    async with m() as (n, o): pass\n"
                "    global h; del i[j:k:l], s\n"
                "    return [y for y in await z() if y.ok], {**e, 'k': 1}, f'{x!r:>{wd}}'\n"
                "match t:\n"
                "    case C(a=[1, *rest], b={'k': v}) | None if guard(v): pass\n"
            )
        )
        > 40
    )


_EXAMPLES = settings.default.max_examples
_EXAMPLES = _EXAMPLES if _EXAMPLES > 100 else min(_EXAMPLES, 10)


@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_node())
def test_generated_programs(source: str) -> None:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return
    _same_reach(module)
