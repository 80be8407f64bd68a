"""The graph a workflow's skeleton is drawn from: boxes, arrows and the boxes around boxes.

Its own module because three packages read it (``wfkit graph``'s renderers, ``wfkit compat``'s
comparison and cache, the web pages) and only :mod:`wfkit.static.skeleton` builds it: what is
drawn stays apart from how the source is walked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Node kinds that are durable operations (rows of the table), in no particular order.
OP_KINDS = frozenset(
    {"step", "activity", "transaction", "child", "wait", "sleep", "patch", "send", "parallel"}
)


@dataclass(frozen=True)
class Node:
    """One box: a durable operation, a decision, a loop header, a terminal or a compensation.

    A durable operation also says what a finding about it needs: ``name``, what the engine
    records and replay compares (a ``name=`` at the call or on the decorator, else the
    function's name; a timer's ``name=`` for wfkit, nothing for the dialects that record
    timers by kind), ``computed`` when that name is only known at run time (and why), and
    where the call is (``path``, 1-based ``line`` and ``column``; 0 when unknown)."""

    id: str
    kind: str
    label: str
    detail: str = ""
    inside: tuple[str, ...] = ()
    compensation: str = ""
    group: str = ""
    name: str = ""
    computed: str = ""
    path: str = ""
    line: int = 0
    column: int = 0
    # What a run records where it is not ``kind``: a Temporal ``wait_condition`` issues no
    # command ("none"), or starts a timer when given a timeout ("sleep"); drawn as a wait.
    records: str = ""


@dataclass(frozen=True)
class Edge:
    """``style`` is ``solid``, ``back`` (a loop's next iteration) or ``dashed`` (exception
    paths and compensations, which only run when something fails)."""

    src: str
    dst: str
    label: str = ""
    style: str = "solid"


@dataclass(frozen=True)
class Group:
    """A box around nodes: a parallel group, a loop body, a try block or an inlined helper."""

    id: str
    kind: str
    label: str
    parent: str = ""


@dataclass
class Graph:
    """What the renderers draw; node, edge and group lists are in source order."""

    workflow: str
    dialect: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    @property
    def ops(self) -> list[Node]:
        return [node for node in self.nodes if node.kind in OP_KINDS]

    def members(self, group_id: str) -> list[Node]:
        """Nodes inside a group, nested groups included."""
        inner = {group_id}
        for group in self.groups:
            if group.parent in inner:
                inner.add(group.id)
        return [node for node in self.nodes if node.group in inner]
