"""What runs under one version of a workflow can have recorded: its paths.

A path is the sequence a run meets walking the workflow's durable-operation graph: the
operations it records (``Recorded``) and the outcomes of the branches, loops, version gates
and exception handlers that chose its way (``Choice``). Loops are followed for up to
``MAX_ITERATIONS`` rounds (a change that shows at all shows within two), and the walk stops
at ``MAX_PATHS`` paths; ``Paths.complete`` says whether it did.

The graph's edges say how it continues: labelled edges leave a decision, a loop header or a
version gate; several unlabelled edges from one node into one parallel group are that
group's calls, recorded in call order; a dashed ``raises`` edge leaves a ``try`` group for a
handler after any operation inside it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from wfkit.static.skeleton import OP_KINDS, Graph, Node

MAX_ITERATIONS = 2
MAX_PATHS = 4096
BRANCHING = frozenset({"decision", "loop", "patch"})
OPERATIONS = OP_KINDS - {"patch", "parallel"}  # a gate's marker is recorded by the gate


@dataclass(frozen=True)
class Recorded:
    """One operation a run records: ``key`` is what replay compares (kind and name)."""

    key: tuple[str, str]
    node: str


@dataclass(frozen=True)
class Choice:
    """The outcome a branch took: ``key`` names the branch (its kind and its text)."""

    key: tuple[str, str]
    outcome: str


Event = Recorded | Choice


def recorded_key(node: Node) -> tuple[str, str]:
    """What replay compares for an operation node: its kind and the name the engine records
    (:attr:`Node.name`: a version gate's id; a timer's ``name=`` for wfkit, nothing for the
    dialects that record timers by kind alone, since a duration is not a timer's identity).
    A Temporal ``wait_condition`` with a timeout is recorded as the timer it starts."""
    return (node.records or node.kind, node.name)


def is_recorded(node: Node) -> bool:
    """Whether a run records this node as an operation: a Temporal ``wait_condition``
    without a timeout issues no command, so nothing of it is in a history."""
    return node.kind in OPERATIONS and node.records != "none"


@dataclass
class Shape:
    """The graph indexed for walking: successors by edge label, handlers of each group."""

    graph: Graph
    nodes: dict[str, Node] = field(default_factory=dict)
    out: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # node -> (label, dst)
    handlers: dict[str, list[str]] = field(default_factory=dict)  # group -> handlers
    parent: dict[str, str] = field(default_factory=dict)  # group -> parent
    parallel: set[str] = field(default_factory=set)  # parallel groups

    @classmethod
    def of(cls, graph: Graph) -> Shape:
        shape = cls(graph, {n.id: n for n in graph.nodes})
        for group in graph.groups:
            shape.parent[group.id] = group.parent
            if group.kind == "parallel":
                shape.parallel.add(group.id)
        for edge in graph.edges:
            if edge.src in shape.parent:  # a group's edge: its exception handler
                if edge.label == "raises":
                    shape.handlers.setdefault(edge.src, []).append(edge.dst)
                continue
            if edge.label == "compensate":
                continue  # compensations have numbers of their own
            shape.out.setdefault(edge.src, []).append((edge.label, edge.dst))
        return shape

    @property
    def start(self) -> str:
        return next(n.id for n in self.graph.nodes if n.kind == "start")

    def handlers_around(self, node_id: str) -> list[tuple[str, str]]:
        """(group, handler node) for each try group around the node, innermost first."""
        found: list[tuple[str, str]] = []
        group = self.nodes[node_id].group
        while group:
            found += [(group, handler) for handler in self.handlers.get(group, [])]
            group = self.parent.get(group, "")
        return found

    def next_steps(self, node_id: str) -> list[tuple[str, list[str]]]:
        """(edge label, [nodes]) leaving ``node_id``; several nodes under one label are the
        calls of a parallel group, in call order."""
        by_label: dict[str, list[str]] = {}
        for label, dst in self.out.get(node_id, []):
            by_label.setdefault(label, []).append(dst)
        return [(label, sorted(dsts, key=_order)) for label, dsts in by_label.items()]

    def join(self, members: list[str]) -> list[str]:
        """Where a parallel group's calls lead on together."""
        after: list[str] = []
        for member in members:
            for _, dst in self.out.get(member, []):
                if dst not in after and dst not in members:
                    after.append(dst)
        return after


def _order(node_id: str) -> int:
    return int(node_id[1:]) if node_id[1:].isdigit() else 0


@dataclass
class Paths:
    paths: list[tuple[Event, ...]]
    complete: bool


def paths(graph: Graph, limit: int = MAX_PATHS) -> Paths:
    """Every path a run can take through ``graph`` (within the loop and count bounds)."""
    shape = Shape.of(graph)
    found: list[tuple[Event, ...]] = []
    stack: list[tuple[str, tuple[Event, ...], tuple[tuple[str, int], ...]]] = [
        (shape.start, (), ())
    ]
    while stack:
        if len(found) >= limit:
            return Paths(found, False)
        node_id, events, rounds = stack.pop()
        for item in reversed(list(_advance(shape, node_id, events, rounds))):
            if item[0] is None:
                found.append(item[1])
            else:
                stack.append(item)  # type: ignore[arg-type]
    return Paths(found, True)


def _advance(
    shape: Shape, node_id: str, events: tuple[Event, ...], rounds: tuple[tuple[str, int], ...]
) -> Iterator[tuple[str | None, tuple[Event, ...], tuple[tuple[str, int], ...]]]:
    """The ways on from ``node_id``: (next node, events so far, loop rounds), or (None,
    events, rounds) where a path ends."""
    node = shape.nodes[node_id]
    if node.kind in ("end", "fail"):
        yield None, events, rounds
        return
    if is_recorded(node):
        events = (*events, Recorded(recorded_key(node), node_id))
        for _, handler in shape.handlers_around(node_id)[:1]:  # it failed: the handler runs
            yield (
                handler,
                (*events, Choice(("raise", shape.nodes[handler].label), "raised")),
                rounds,
            )
    steps = shape.next_steps(node_id)
    if not steps:
        yield None, events, rounds
        return
    if node.kind in BRANCHING:
        done = dict(rounds)
        for label, targets in steps:
            if node.kind == "loop" and label != "done" and done.get(node_id, 0) >= MAX_ITERATIONS:
                continue
            taken = (*events, Choice((node.kind, node.label), label))
            if node.kind == "patch" and label == "new code":
                taken = (*taken, Recorded(recorded_key(node), node_id))
            counted = rounds
            if node.kind == "loop" and label != "done":
                counted = tuple(sorted({**done, node_id: done.get(node_id, 0) + 1}.items()))
            yield from _onward(shape, targets, taken, counted)
        return
    for _, targets in steps:
        yield from _onward(shape, targets, events, rounds)


def _onward(
    shape: Shape, targets: list[str], events: tuple[Event, ...], rounds: tuple[tuple[str, int], ...]
) -> Iterator[tuple[str | None, tuple[Event, ...], tuple[tuple[str, int], ...]]]:
    if len(targets) == 1:
        yield targets[0], events, rounds
        return
    # several targets under one edge label: a parallel group's calls, recorded in call order
    calls = tuple(
        Recorded(recorded_key(shape.nodes[t]), t) for t in targets if is_recorded(shape.nodes[t])
    )
    for after in shape.join(targets):
        yield after, (*events, *calls), rounds
