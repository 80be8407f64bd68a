"""Positions computed for reported nodes only agree with libcst's PositionProvider."""

from __future__ import annotations

from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from libcst.metadata import MetadataWrapper, PositionProvider

from wfkit.static import positions
from wfkit.static.positions import resolve_positions

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
    "classes": """\
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
""",
    "unicode_and_tabs": "def f():\n\tx = 'ñandú'; y = g('é')\n\treturn h(x, y)\n",
    "strings": 'def f():\n    s = """\nnot code()\n"""\n    return call(s)\n',
    "match": "def f(v):\n    match v:\n        case [a]:\n            return g(a)\n        case _:\n            h()\n",
    "crlf": "def f():\r\n    x = g(\r\n        1)\r\n    return h(x)\r\n",
    "continued": "def f():\n    x = 1 + \\\n        now()\n    return (  g(x)  )\n",
    "elif": "def f(a):\n    if a():\n        g()\n    elif b(a):\n        h()\n    elif (c.d):\n        i()\n",
    "formfeed": "def f():\n    s = '\x0c'  # \x0c\n    \x0c\n    return g(s)\n",
}

# Code the text path must place on its own (no second parse): multi-line calls in nested blocks
# with tabs and an indent other than the module's, a comment inside brackets, unicode before
# the node, nested f-strings, decorators, parentheses around the node, CRLF line ends, and a
# call that occurs twice in the file but once in its statement.
BY_TEXT = {
    "multiline": (
        "class W:\n"
        "\tasync def run(self):\n"
        "\t\tif ready:\n"
        "\t\t    charges = await asyncio.gather(*(\n"
        "\t\t        workflow.execute_activity(charge, order,  # a comment\n"
        "\t\t\t\t\t  timeout=timedelta(seconds=10))\n"
        "\t\t        for _ in range(2)))\n"
    ),
    "unicode": "def f():\n    s = 'ñandú→'; t = now()\n    return s\n",
    "fstrings": "def f(x):\n    return f\"{x!r:>{width()}} {f'{inner(x)}'}\"\n",
    "decorated": "@dec(now())\n@other.deco\ndef f():\n    pass\n",
    "parenthesized": "def f():\n    x = ((  now()  ))\n    y = (\n        a.b\n    )\n",
    "crlf": "def f():\r\n    x = g(\r\n        1)\r\n    return h(x)\r\n",
    "twice": "def f():\n    a = now(); b = now() + 1\n",
    "match": (
        "def f(v):\n"
        "    match g(\n"
        "            v):\n"
        '      case {"k": x} if (\n'
        "              x.ok):\n"
        "            if h(x,\n"
        "                 1):\n"
        "                i(\n"
        "                  x)\n"
    ),
}


def _expressions(
    module: cst.Module,
    kinds: tuple[type, ...] = (cst.Call, cst.Attribute),
) -> list[tuple[cst.CSTNode, cst.CSTNode, str]]:
    """(node, innermost statement, indentation of its block) for each node of ``kinds``, as
    the analyzer records them for its findings."""
    out = []

    class Collect(cst.CSTVisitor):
        def __init__(self) -> None:
            self.stack: list[cst.CSTNode] = []
            self.indents: list[str] = []
            self.matches: list[str] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                self.stack.append(node)
            if isinstance(node, (cst.IndentedBlock, cst.Match)):
                indent = module.default_indent if node.indent is None else node.indent
                (self.indents if isinstance(node, cst.IndentedBlock) else self.matches).append(
                    indent
                )
            elif isinstance(node, cst.MatchCase):
                self.indents.append(self.matches[-1])
            if isinstance(node, kinds) and self.stack:
                out.append((node, self.stack[-1], "".join(self.indents)))
            return True

        def on_leave(self, node: cst.CSTNode) -> None:
            if isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                self.stack.pop()
            if isinstance(node, (cst.IndentedBlock, cst.MatchCase)):
                self.indents.pop()
            elif isinstance(node, cst.Match):
                self.matches.pop()

    module.visit(Collect())
    return out


def _expected(module: cst.Module) -> dict:
    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _assert_placed_like_libcst(source: str, place, kinds=(cst.Call, cst.Attribute)) -> None:
    """``place(module, source, wanted)`` puts every node of ``kinds`` where libcst's
    PositionProvider does."""
    module = cst.parse_module(source)
    wanted = _expressions(module, kinds)
    assert wanted
    expected = _expected(module)
    got = place(module, source, wanted)
    for node, _, _ in wanted:
        assert got[node] == expected[node], _code(node)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_positions_match_position_provider(name: str, monkeypatch) -> None:
    monkeypatch.setattr(positions, "MetadataWrapper", None)  # the fallback must not be needed
    _assert_placed_like_libcst(SOURCES[name], resolve_positions)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_statement_path_matches_position_provider(name: str, monkeypatch) -> None:
    """The path for what the text path cannot place, on its own."""
    monkeypatch.setattr(positions, "MetadataWrapper", None)
    _assert_placed_like_libcst(SOURCES[name], positions._by_statement)


@pytest.mark.parametrize("name", sorted(BY_TEXT))
def test_text_path_places_tricky_code(name: str, monkeypatch) -> None:
    monkeypatch.setattr(positions, "_by_statement", None)  # no second parse
    _assert_placed_like_libcst(
        BY_TEXT[name], resolve_positions, (cst.Call, cst.Attribute, cst.Await)
    )


def test_multiline_node_is_placed_with_its_block_indent() -> None:
    source = BY_TEXT["multiline"]
    module = cst.parse_module(source)
    gather = next(
        node for node, _, _ in _expressions(module) if _code(node).startswith("asyncio.gather")
    )
    ((node, statement, indent),) = [t for t in _expressions(module) if t[0] is gather]
    assert indent == "\t\t    "
    where = positions._by_text(module, source, node, statement, indent)
    assert (where.start.line, where.start.column, where.end.line, where.end.column) == (
        4,
        22,
        7,
        29,
    )
    assert positions._by_text(module, source, node, statement, "") is None  # not the code


def test_repeated_code_goes_to_the_statement_path(monkeypatch) -> None:
    """``now()`` twice in one statement, and that statement in two functions: no unique text
    to anchor on, so those four go to the statement path and still land right."""
    source = "def f():\n    x = now() - now()\n\ndef g():\n    x = now() - now()\n    y = h()\n"
    module = cst.parse_module(source)
    wanted = _expressions(module)
    handed: list[cst.CSTNode] = []
    by_statement = positions._by_statement

    def spy(module: cst.Module, source: str, rest: list) -> dict:
        handed.extend(node for node, _, _ in rest)
        return by_statement(module, source, rest)

    monkeypatch.setattr(positions, "_by_statement", spy)
    got = resolve_positions(module, source, wanted)
    expected = _expected(module)
    assert [got[node] for node, _, _ in wanted] == [expected[node] for node, _, _ in wanted]
    assert sorted((got[n].start.line, got[n].start.column) for n in handed) == [
        (2, 8),
        (2, 16),
        (5, 8),
        (5, 16),
    ]


def test_statement_path_writes_elif_as_elif() -> None:
    """Only nodes under an ``elif``: its If is generated alone and must start with "elif"."""
    source = SOURCES["elif"]
    module = cst.parse_module(source)
    expected = _expected(module)
    wanted = [t for t in _expressions(module) if expected[t[0]].start.line >= 4]
    assert len(wanted) == 4
    got = positions._by_statement(module, source, wanted)
    assert [(got[n].start.line, got[n].start.column) for n, _, _ in wanted] == [
        (4, 9),
        (5, 8),
        (6, 10),
        (7, 8),
    ]
    assert all(got[n] == expected[n] for n, _, _ in wanted)


def test_starred_elements_go_to_the_statement_path() -> None:
    """A starred element writes its comma outside its position: not placed by its text."""
    source = "def f(x):\n    return [*x.y, 1]\n"
    module = cst.parse_module(source)
    wanted = _expressions(module, (cst.StarredElement,))
    ((node, statement, indent),) = wanted
    assert positions._by_text(module, source, node, statement, indent) is None
    assert resolve_positions(module, source, wanted)[node] == _expected(module)[node]


def test_every_expression_in_the_fixtures_is_placed_right() -> None:
    """Every kind of expression the text path places, in real files, where PositionProvider
    puts it (the parentheses it leaves out of a node's position included)."""
    files = sorted((Path(__file__).parents[2] / "fixtures" / "lint").rglob("*.py"))
    assert files
    placed = parenthesized = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError:
            continue  # the WF000 fixture
        expected = _expected(module)
        for node, statement, indent in _expressions(module, (cst.BaseExpression,)):
            where = positions._by_text(module, source, node, statement, indent)
            if where is not None:
                placed += 1
                parenthesized += bool(node.lpar)
                assert where == expected[node], (str(path), _code(node))
    assert placed > 500 and parenthesized > 0


_EXAMPLES = settings.default.max_examples
_EXAMPLES = _EXAMPLES if _EXAMPLES > 100 else min(_EXAMPLES, 10)


@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_node())
def test_positions_match_on_generated_programs(source: str) -> None:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return
    wanted = _expressions(module, (cst.BaseExpression,))
    expected = _expected(module)
    got = resolve_positions(module, source, wanted)
    for node, statement, indent in wanted:
        assert got[node] == expected[node]
        by_text = positions._by_text(module, source, node, statement, indent)
        assert by_text is None or by_text == expected[node]


WORKFLOW = (
    "import time\n"
    "from datetime import datetime\n"
    "from wfkit import Context, workflow\n"
    "\n"
    "\n"
    "@workflow\n"
    "def process(ctx: Context, kind: str) -> str:\n"
    "\tif kind:\n"
    "\t\ttime.sleep(\n"
    "\t\t\t1)\n"
    "\tmatch kind:\n"
    "\t\tcase 'a':\n"
    "\t\t\tstamp = datetime.now(\n"
    "\t\t\t    )\n"
    "\t\tcase _:\n"
    "\t\t\ttime.sleep(1); time.sleep(1)\n"
    "\treturn datetime.now(\n"
    "\t).isoformat()\n"
)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_findings_end_where_position_provider_ends_their_nodes(newline: str) -> None:
    """Through the analyzer: multi-line calls in tab-indented blocks and match cases (placed by
    their text) and a repeated call (placed by its statement) end where libcst says."""
    from wfkit.lint.api import LintOptions, lint_paths

    source = WORKFLOW.replace("\n", newline)
    result = lint_paths([], LintOptions(stdin_text=source, stdin_filename="snippet.py"))
    found = [(f.line, f.column, f.end_line, f.end_column) for f in result.findings]
    assert found == [
        (9, 3, 10, 6),
        (13, 12, 14, 9),
        (16, 4, 16, 17),
        (16, 19, 16, 32),
        (17, 9, 18, 3),
    ]
    module = cst.parse_module(source)
    calls = {
        (r.start.line, r.start.column + 1, r.end.line, r.end.column + 1)
        for node, r in _expected(module).items()
        if isinstance(node, cst.Call)
    }
    assert set(found) <= calls
