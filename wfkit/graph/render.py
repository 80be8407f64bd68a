"""Drawing a :class:`~wfkit.static.skeleton.Graph`: Mermaid, Graphviz dot or a plain table.

Renderers are pure functions of the graph (no libcst, no I/O), chosen by name, so the output
is byte-stable for golden tests and for diffs in code review: nodes, edges and groups come out
in source order, ids are the walker's counters, and every label is escaped for its format.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from typing import Any

from wfkit.static.skeleton import Edge, Graph, Group, Node

__all__ = ["FORMATS", "GraphFormat", "render", "render_dot", "render_mermaid", "render_table"]

# Mermaid shapes: (open, close) around the quoted label.
_MERMAID_SHAPES: dict[str, tuple[str, str]] = {
    "start": ("([", "])"),
    "end": ("([", "])"),
    "fail": ("((", "))"),
    "step": ("[", "]"),
    "activity": ("[", "]"),
    "transaction": ("[(", ")]"),
    "child": ("[[", "]]"),
    "wait": ("[/", "/]"),
    "sleep": ("[/", "/]"),
    "send": (">", "]"),
    "patch": ("{", "}"),
    "decision": ("{", "}"),
    "loop": ("{{", "}}"),
    "except": (">", "]"),
    "compensation": ("(", ")"),
    "parallel": ("[", "]"),
}
_DOT_SHAPES: dict[str, str] = {
    "start": "oval",
    "end": "oval",
    "fail": "doublecircle",
    "step": "box",
    "activity": "box",
    "transaction": "cylinder",
    "child": "box3d",
    "wait": "parallelogram",
    "sleep": "parallelogram",
    "send": "cds",
    "patch": "diamond",
    "decision": "diamond",
    "loop": "hexagon",
    "except": "cds",
    "compensation": "note",
    "parallel": "box",
}
# What the kind says in a label when the shape alone does not (a step is just its name).
_PREFIX: dict[str, str] = {
    "child": "child: ",
    "wait": "wait: ",
    "sleep": "sleep: ",
    "send": "send: ",
    "transaction": "tx: ",
}


def _label(node: Node) -> tuple[str, str]:
    """(first line, second line) of a node's text."""
    return _PREFIX.get(node.kind, "") + node.label, node.detail


# ---------------------------------------------------------------------- mermaid
def _mermaid_text(text: str) -> str:
    return (
        text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def render_mermaid(graph: Graph) -> str:
    """A ``flowchart TD`` block; groups become (nested) subgraphs."""
    lines = ["flowchart TD"]
    for kind, item, depth in _nested(graph):
        pad = "    " * depth
        if kind == "node":
            first, second = _label(item)
            text = _mermaid_text(first) + (f"<br/>{_mermaid_text(second)}" if second else "")
            opening, closing = _MERMAID_SHAPES.get(item.kind, ("[", "]"))
            lines.append(f'{pad}{item.id}{opening}"{text}"{closing}')
        elif kind == "open":
            lines.append(f'{pad}subgraph {item.id} ["{_mermaid_text(_group_title(item))}"]')
        else:
            lines.append(f"{pad}end")
    for edge in graph.edges:
        arrow = "-.->" if edge.style == "dashed" else "-->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"    {edge.src} {arrow}{label} {edge.dst}")
    return "\n".join(lines) + "\n"


def _nested(graph: Graph) -> Iterator[tuple[str, Any, int]]:
    """The graph as a walk both diagram formats render: ("node", node, depth), then each
    child group as ("open", group, depth), its contents one level deeper, ("close", ...)."""
    children: dict[str, list[Group]] = {}
    for group in graph.groups:
        children.setdefault(group.parent, []).append(group)

    def walk(group_id: str, depth: int) -> Iterator[tuple[str, Any, int]]:
        for node in graph.nodes:
            if node.group == group_id:
                yield "node", node, depth
        for group in children.get(group_id, []):
            yield "open", group, depth
            yield from walk(group.id, depth + 1)
            yield "close", group, depth

    return walk("", 1)


def _group_title(group: Group) -> str:
    return {"loop": f"loop: {group.label}", "helper": f"helper {group.label}"}.get(
        group.kind, group.label
    )


# ---------------------------------------------------------------------- dot
def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render_dot(graph: Graph) -> str:
    """A Graphviz ``digraph``; groups become clusters, edges from a group leave its last node
    (``ltail`` clips them at the cluster's border, which needs ``compound=true``)."""
    title = _dot_text(f"{graph.workflow} ({graph.dialect})")
    lines = [
        f'digraph "{_dot_text(graph.workflow)}" {{',
        f'    label="{title}";',
        "    labelloc=t;",
        "    rankdir=TB;",
        "    compound=true;",
        '    node [fontname="Helvetica", fontsize=11];',
        '    edge [fontname="Helvetica", fontsize=10];',
    ]
    for kind, item, depth in _nested(graph):
        pad = "    " * depth
        if kind == "node":
            first, second = _label(item)
            text = _dot_text(first) + (f"\\n{_dot_text(second)}" if second else "")
            style = ", style=dashed" if item.kind == "compensation" else ""
            lines.append(
                f'{pad}{item.id} [label="{text}", '
                f"shape={_DOT_SHAPES.get(item.kind, 'box')}{style}];"
            )
        elif kind == "open":
            lines.append(f"{pad}subgraph cluster_{item.id} {{")
            lines.append(f'{pad}    label="{_dot_text(_group_title(item))}";')
            lines.append(f"{pad}    style=dashed;")
        else:
            lines.append(f"{pad}}}")
    groups = {group.id for group in graph.groups}
    for edge in graph.edges:
        lines.append("    " + _dot_edge(graph, edge, groups))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_edge(graph: Graph, edge: Edge, groups: set[str]) -> str:
    attrs = []
    src = edge.src
    if src in groups:
        members = [n for n in graph.members(src) if n.kind != "compensation"] or graph.members(src)
        src = members[-1].id if members else src
        attrs.append(f"ltail=cluster_{edge.src}")
    if edge.label:
        attrs.append(f'label="{_dot_text(edge.label)}"')
    if edge.style == "dashed":
        attrs.append("style=dashed")
    elif edge.style == "back":
        attrs.append("constraint=false")
    suffix = f" [{', '.join(attrs)}]" if attrs else ""
    return f"{src} -> {edge.dst}{suffix};"


# ---------------------------------------------------------------------- table
TABLE_COLUMNS = ("#", "kind", "name", "inside", "compensation", "notes")


def render_table(graph: Graph) -> str:
    """One row per durable operation, in source order, as fixed-width ASCII columns."""
    rows = [TABLE_COLUMNS]
    for number, node in enumerate(graph.ops, start=1):
        rows.append(
            (
                str(number),
                node.kind,
                node.label,
                " > ".join(node.inside),
                node.compensation,
                node.detail,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS))]
    out = [
        f"{graph.workflow} ({graph.dialect}): {len(rows) - 1} durable operation"
        + ("" if len(rows) == 2 else "s")
    ]
    for index, row in enumerate(rows):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out) + "\n"


class GraphFormat(str, enum.Enum):
    """The value of ``wfkit graph --format``."""

    TABLE = "table"
    MERMAID = "mermaid"
    DOT = "dot"


FORMATS: dict[GraphFormat, Callable[[Graph], str]] = {
    GraphFormat.TABLE: render_table,
    GraphFormat.MERMAID: render_mermaid,
    GraphFormat.DOT: render_dot,
}


def render(graph: Graph, fmt: GraphFormat | str) -> str:
    """Render in format ``fmt`` (a :class:`GraphFormat` or its value)."""
    return FORMATS[GraphFormat(fmt)](graph)
