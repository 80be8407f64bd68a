"""A workflow's graph as inline SVG, each node coloured by what one run did there.

Drawn on the server, with no script and nothing fetched (the dashboard works offline): nodes
are ranked by the longest path from the start (loop back edges left out), laid out in rows in
source order, and compensations sit beside the step they undo. A node's state comes from the
run's operations: ``done``, ``running``, ``failed``, ``compensated`` or ``not-reached``;
structure (decisions, loops) is ``structure``. Without a run every node is ``static``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from wfkit.engine.status import OpKind, OpStatus, RunStatus
from wfkit.engine.store.base import OperationRecord, RunRecord
from wfkit.web.graphs import GraphEdge, GraphNode, WorkflowGraph

STATES = ("done", "running", "failed", "compensated", "not-reached")
_OP_KIND = {
    "step": OpKind.STEP,
    "activity": OpKind.STEP,
    "transaction": OpKind.STEP,
    "child": OpKind.CHILD,
    "wait": OpKind.EVENT,
    "sleep": OpKind.SLEEP,
    "patch": OpKind.PATCH,
}
_DONE = (OpStatus.COMPLETED, OpStatus.SKIPPED)
_RUNNING = (OpStatus.STARTED, OpStatus.RETRYING)
W, H, GAP_X, GAP_Y, PAD = 190, 46, 36, 34, 12
BACK_ROOM = 30  # right of the last column, where loops' back edges run


@dataclass(frozen=True)
class Placed:
    node: GraphNode
    x: int
    y: int
    state: str
    note: str


def node_states(
    graph: WorkflowGraph, run: RunRecord | None, ops: Sequence[OperationRecord]
) -> dict[str, tuple[str, str]]:
    """node id -> (state, a note for its tooltip)."""
    if run is None:
        return {n.id: ("static", "") for n in graph.nodes}
    comp_of = _compensation_targets(graph)
    by_name: dict[tuple[OpKind, str], list[OperationRecord]] = {}
    sleeps = [op for op in ops if op.kind == OpKind.SLEEP]
    for op in ops:
        by_name.setdefault((op.kind, op.name), []).append(op)
    states: dict[str, tuple[str, str]] = {}
    sleep_nodes = 0
    ended = run.status.terminal
    for node in graph.nodes:
        if node.kind == "start":
            states[node.id] = ("done", "started")
        elif node.kind == "end":
            states[node.id] = (
                ("done", "completed") if run.status == RunStatus.COMPLETED else ("not-reached", "")
            )
        elif node.kind == "compensation":
            step = comp_of.get(node.id)
            undo = by_name.get((OpKind.COMPENSATION, step.label), []) if step else []
            states[node.id] = _state(undo, ended, compensation=True)
        elif node.kind in _OP_KIND:
            kind = _OP_KIND[node.kind]
            found = by_name.get((kind, node.label), [])
            if not found and kind == OpKind.SLEEP and sleep_nodes < len(sleeps):
                found = [sleeps[sleep_nodes]]  # a timer's label is its duration, not a name
            sleep_nodes += kind == OpKind.SLEEP
            undone = [
                c for c in by_name.get((OpKind.COMPENSATION, node.label), []) if c.status in _DONE
            ]
            state = _state(found, ended)
            states[node.id] = (
                ("compensated", "undone by its compensation")
                if undone and state[0] == "done"
                else state
            )
        elif node.kind == "fail":
            states[node.id] = ("not-reached", "")
        else:
            states[node.id] = ("structure", "")
    return states


def _state(
    ops: Sequence[OperationRecord], ended: bool, *, compensation: bool = False
) -> tuple[str, str]:
    """An operation's state; one still open in a run that ended (a wait cut off by a cancel)
    never finished, so it is drawn as not reached rather than running."""
    if not ops:
        return "not-reached", ""
    last = ops[-1]
    attempts = f"attempt {last.attempt}" if last.attempt else ""
    if last.status in _DONE:
        return ("compensated" if compensation else "done"), f"{last.status.value} {attempts}"
    if last.status in _RUNNING:
        return (
            ("not-reached", "interrupted: the run ended")
            if ended
            else ("running", f"{last.status.value} {attempts}")
        )
    return "failed", f"FAILED {attempts}"


def _compensation_targets(graph: WorkflowGraph) -> dict[str, GraphNode]:
    """compensation node id -> the step it undoes (the source of its dashed edge)."""
    nodes = {n.id: n for n in graph.nodes}
    found: dict[str, GraphNode] = {}
    for edge in graph.edges:
        dst = nodes.get(edge.dst)
        if dst is not None and dst.kind == "compensation" and edge.src in nodes:
            found[dst.id] = nodes[edge.src]
    return found


def layout(graph: WorkflowGraph) -> dict[str, tuple[int, int]]:
    """node id -> (column, row)."""
    order = {n.id: i for i, n in enumerate(graph.nodes)}
    comp_of = _compensation_targets(graph)
    rank: dict[str, int] = {n.id: 0 for n in graph.nodes}
    incoming: dict[str, list[GraphEdge]] = {}
    for edge in graph.edges:
        if edge.style != "back" and edge.dst in order and edge.dst not in comp_of:
            incoming.setdefault(edge.dst, []).append(edge)
    for node in graph.nodes:  # source order is a topological order once back edges are out
        for edge in incoming.get(node.id, []):
            sources = (
                [edge.src] if edge.src in order else [n.id for n in graph.group_members(edge.src)]
            )
            for src in sources:
                if order.get(src, len(order)) < order[node.id]:
                    rank[node.id] = max(rank[node.id], rank[src] + 1)
    # Within a row the way on comes first, then loop bodies ("each"), then failure ends: the
    # main path stays in the first column.
    entered = {e.dst: e.label for e in graph.edges if e.style != "back"}
    side = {
        n.id: (2 if n.kind == "fail" else 1 if entered.get(n.id) == "each" else 0)
        for n in graph.nodes
    }
    rows: dict[int, list[str]] = {}
    place: dict[str, tuple[int, int]] = {}
    # Failure ends and compensations go right of the main columns, on their row.
    aside = [n for n in graph.nodes if n.kind == "fail" or n.id in comp_of]
    for node in sorted(graph.nodes, key=lambda n: (side[n.id], order[n.id])):
        if node in aside:
            continue
        row = rows.setdefault(rank[node.id], [])
        place[node.id] = (len(row), rank[node.id])
        row.append(node.id)
    width = max((len(r) for r in rows.values()), default=1)
    beside: dict[int, int] = {}
    for node in aside:
        step = comp_of.get(node.id)
        level = place.get(step.id, (0, 0))[1] if step is not None else rank[node.id]
        place[node.id] = (width + beside.get(level, 0), level)
        beside[level] = beside.get(level, 0) + 1
    return place


def render_svg(
    graph: WorkflowGraph, run: RunRecord | None = None, ops: Sequence[OperationRecord] = ()
) -> str:
    """The graph as an ``<svg>`` element (empty string when the graph has no nodes)."""
    if not graph.nodes:
        return ""
    states = node_states(graph, run, ops)
    place = layout(graph)
    xy = {
        nid: (PAD + col * (W + GAP_X), PAD + row * (H + GAP_Y)) for nid, (col, row) in place.items()
    }
    width = max(x for x, _ in xy.values()) + W + PAD + BACK_ROOM
    height = max(y for _, y in xy.values()) + H + PAD
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#667"/></marker></defs>',
    ]
    for edge in graph.edges:
        src = xy.get(edge.src) or _group_box(edge.src, graph, xy)
        dst = xy.get(edge.dst)
        if src is None or dst is None:
            continue
        parts.append(_edge(edge, src, dst))
    for node in graph.nodes:
        if node.id not in xy:
            continue
        x, y = xy[node.id]
        state, note = states.get(node.id, ("structure", ""))
        label = node.label if len(node.label) <= 26 else node.label[:25] + "…"
        detail = node.detail if len(node.detail) <= 30 else node.detail[:29] + "…"
        rx = (
            22
            if node.kind in ("start", "end", "fail")
            else 10
            if node.kind == "compensation"
            else 4
        )
        tip = f"{node.kind} {node.label}: {state}" + (f" ({note.strip()})" if note.strip() else "")
        parts.append(
            f'<g class="node state-{state} kind-{escape(node.kind)}" data-node="{node.id}" '
            f'data-kind="{escape(node.kind)}" data-label="{escape(node.label)}" '
            f'data-state="{state}"><title>{escape(tip)}</title>'
            f'<rect x="{x}" y="{y}" width="{W}" height="{H}" rx="{rx}"/>'
            f'<text x="{x + W // 2}" y="{y + (19 if detail else 28)}" '
            f'text-anchor="middle">{escape(label)}</text>'
            + (
                f'<text class="detail" x="{x + W // 2}" y="{y + 36}" text-anchor="middle">'
                f"{escape(detail)}</text>"
                if detail
                else ""
            )
            + "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _group_box(
    group: str, graph: WorkflowGraph, xy: dict[str, tuple[int, int]]
) -> tuple[int, int] | None:
    """An edge leaving a group starts below its lowest member."""
    members = [xy[n.id] for n in graph.group_members(group) if n.id in xy]
    return max(members, key=lambda p: (p[1], p[0])) if members else None


def _edge(edge: GraphEdge, src: tuple[int, int], dst: tuple[int, int]) -> str:
    sx, sy = src
    dx, dy = dst
    cls = f"edge edge-{edge.style}"
    if dy == sy:  # side by side: a compensation, or a branch on one row
        x1, x2 = (sx + W, dx) if dx > sx else (sx, dx + W)
        path = f"M{x1},{sy + H // 2} L{x2},{dy + H // 2}"
    elif dy > sy:
        path = (
            f"M{sx + W // 2},{sy + H} C{sx + W // 2},{sy + H + GAP_Y // 2} "
            f"{dx + W // 2},{dy - GAP_Y // 2} {dx + W // 2},{dy}"
        )
    elif dx != sx:  # a loop's back edge to the header in the next column: a quarter turn
        end_x = dx + W if dx < sx else dx
        path = f"M{sx + W // 2},{sy} Q{sx + W // 2},{dy + H // 2} {end_x},{dy + H // 2}"
    else:  # a loop's back edge up its own column: out to the right and up
        bend = max(sx, dx) + W + BACK_ROOM - 4
        path = (
            f"M{sx + W},{sy + H // 2} C{bend},{sy + H // 2} {bend},{dy + H // 2} "
            f"{dx + W},{dy + H // 2}"
        )
    label = ""
    # A side edge (a compensation) is too short for a label; a back edge's "next" says nothing
    # its arrow does not.
    if edge.label and dy != sy and edge.style != "back":
        mx, my = (sx + dx + W) // 2, (sy + dy + H) // 2
        text = edge.label if len(edge.label) <= 22 else edge.label[:21] + "…"
        label = f'<text class="edge-label" x="{mx + 4}" y="{my}">{escape(text)}</text>'
    return f'<path class="{cls}" d="{path}" marker-end="url(#arrow)"/>{label}'
