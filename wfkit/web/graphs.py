"""The web layer's one door to the static graph model (``wfkit graph``'s walker and renderers).

Every import of the graph modules is here, so when they move (to ``wfkit.static``) one file
changes. A workflow's graph is read from its source file, never by running it, and cached:
the code a server runs does not change under it.
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass, field
from typing import Any

from wfkit.engine.definitions import WorkflowDef
from wfkit.errors import WfkitError


@dataclass(frozen=True)
class GraphNode:
    id: str
    kind: str  # step, child, wait, sleep, compensation, start, end, decision, ...
    label: str
    detail: str = ""
    group: str = ""


@dataclass(frozen=True)
class GraphEdge:
    src: str
    dst: str
    label: str = ""
    style: str = "solid"  # solid, back (a loop's next iteration), dashed (failure paths)


@dataclass(frozen=True)
class WorkflowGraph:
    """What the dashboard draws: nodes and edges in source order, and the Mermaid text."""

    nodes: tuple[GraphNode, ...] = ()
    edges: tuple[GraphEdge, ...] = ()
    mermaid: str = ""
    problem: str | None = None  # why there is no graph (the source could not be read)
    groups: dict[str, str] = field(default_factory=dict)  # group id -> its label
    parents: dict[str, str] = field(default_factory=dict)  # group id -> the group around it

    def group_members(self, group: str) -> list[GraphNode]:
        """Nodes inside ``group``, nested groups included."""
        inner = {group}
        for gid in self.groups:  # groups are listed outermost first
            if self.parents.get(gid) in inner:
                inner.add(gid)
        return [node for node in self.nodes if node.group in inner]


_cache: dict[int, WorkflowGraph] = {}
_lock = threading.Lock()


def graph_of(workflow: WorkflowDef[Any]) -> WorkflowGraph:
    """The static graph of ``workflow``, or one with ``problem`` set when it cannot be drawn."""
    key = id(workflow.fn)
    with _lock:
        known = _cache.get(key)
    if known is None:
        known = _draw(workflow)
        with _lock:
            _cache[key] = known
    return known


def _draw(workflow: WorkflowDef[Any]) -> WorkflowGraph:
    from wfkit.graph.render import render_mermaid
    from wfkit.static.skeleton import build_graph, parse_source

    fn = inspect.unwrap(workflow.fn)
    try:
        path = inspect.getsourcefile(fn)
        if path is None:
            return WorkflowGraph(problem="its source file is not known")
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        module = parse_source(text, path)
        drawn = build_graph(module, path, fn.__name__, fn.__module__, file_path=path)
    except (OSError, TypeError) as exc:
        return WorkflowGraph(problem=f"its source cannot be read: {exc}")
    except WfkitError as exc:
        return WorkflowGraph(problem=exc.one_line())
    return WorkflowGraph(
        nodes=tuple(GraphNode(n.id, n.kind, n.label, n.detail, n.group) for n in drawn.nodes),
        edges=tuple(GraphEdge(e.src, e.dst, e.label, e.style) for e in drawn.edges),
        mermaid=render_mermaid(drawn),
        groups={g.id: g.label for g in drawn.groups},
        parents={g.id: g.parent for g in drawn.groups if g.parent},
    )
