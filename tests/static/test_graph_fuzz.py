"""`wfkit graph` on generated workflows: nested branches, loops, try blocks, parallel groups,
early exits. Whatever the nesting, the builder must not crash, the diagrams must be well formed,
and every durable operation must be reachable from the start node."""

from __future__ import annotations

from collections import deque

from graph_checks import check_dot, check_mermaid
from hypothesis import given, settings
from hypothesis import strategies as st

from wfkit.graph.render import render
from wfkit.static.skeleton import Graph, build_graph, parse_source

LEAVES = [
    "ctx.step(a)",
    "x = 1",
    "return x",
    "raise ValueError()",
    "break",
    "continue",
    "ctx.sleep(5)",
    "ctx.wait_for_event('go', timeout=3)",
    "helper(ctx)",
    "ctx.parallel(ctx.call(a), ctx.call(b))",
    "[ctx.step(c, i) for i in xs]",
]


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def _compound(children: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    def build(kind: str, body: list[str], other: list[str]) -> list[str]:
        if kind == "if":
            return ["if x:", *_indent(body), "else:", *_indent(other)]
        if kind == "patch":
            return ["if ctx.patched('p'):", *_indent(body)]
        if kind == "for":
            return ["for i in xs:", *_indent(body)]
        if kind == "while":
            return ["while True:", *_indent(body)]
        if kind == "try":
            return ["try:", *_indent(body), "except KeyError:", *_indent(other)]
        return [
            "match x:",
            "    case 1:",
            *_indent(_indent(body)),
            "    case _:",
            *_indent(_indent(other)),
        ]

    kinds = st.sampled_from(["if", "patch", "for", "while", "try", "match"])
    return st.builds(build, kinds, children, children)


BLOCKS = st.recursive(
    st.lists(st.sampled_from(LEAVES), min_size=1, max_size=3),
    lambda inner: st.lists(st.one_of(inner, _compound(inner)), min_size=1, max_size=3).map(
        lambda parts: [line for part in parts for line in part]
    ),
    max_leaves=12,
)


def _reachable(graph: Graph) -> set[str]:
    start = graph.nodes[0].id
    seen, queue = {start}, deque([start])
    while queue:
        current = queue.popleft()
        groups = {g.id for g in graph.groups if current in {n.id for n in graph.members(g.id)}}
        for edge in graph.edges:
            if (edge.src == current or edge.src in groups) and edge.dst not in seen:
                seen.add(edge.dst)
                queue.append(edge.dst)
    return seen


@settings(max_examples=150, deadline=None)
@given(BLOCKS)
def test_generated_workflows_draw_well_formed(body: list[str]) -> None:
    source = "\n".join(
        [
            "from wfkit import workflow",
            "def helper(c):",
            "    c.step(h)",
            "",
            "@workflow",
            "def wf(ctx, x, xs):",
            *_indent(body),
            "",
        ]
    )
    graph = build_graph(parse_source(source, "gen.py"), "gen.py", "wf", "gen")
    check_mermaid(render(graph, "mermaid"))
    check_dot(render(graph, "dot"))
    reached = _reachable(graph)
    assert all(
        node.id in reached for node in graph.nodes if node.kind not in ("end", "compensation")
    ), source
