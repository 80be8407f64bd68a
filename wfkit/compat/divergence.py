"""Replay one recorded path of the old workflow on the new workflow's graph.

The walk takes the branch outcomes the old path took wherever the new graph has the same
branch (same kind and text, met in the same order); where it has a branch the old path never
met, it follows every outcome (a loop for up to two rounds), since a recorded run could take
any of them. A version gate the old code did not have takes its old branch: a run recorded
past it has another operation at its place. The walk ends, safely, once the path's recorded
operations are all met again: what the new code does after them is new work. It reports the
first recorded operation that a branch of the walk does not meet again, once per place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wfkit.compat.paths import Event, Recorded, Shape, is_recorded, recorded_key

_END = ("end", "fail")


@dataclass(frozen=True)
class Divergence:
    """Runs that recorded ``prefix`` under the old code meet ``met`` instead of its last
    operation: ``met`` is a node of the new graph, or None where the new code ends there.
    ``handler`` names the exception handler the old run went into and the new code lacks."""

    prefix: tuple[Recorded, ...]
    met: str | None
    handler: str = ""

    @property
    def expected(self) -> Recorded:
        return self.prefix[-1]


@dataclass(frozen=True)
class _Old:
    ops: tuple[Recorded, ...]
    choices: dict[tuple[str, str], tuple[str, ...]]  # (kind, text) -> outcomes in order
    placed: dict[tuple[str, str], tuple[str, ...]]  # (kind, ops before it) -> outcomes
    raised_after: dict[int, str]  # op index -> label of the handler the run went into

    @classmethod
    def of(cls, path: Sequence[Event]) -> _Old:
        ops: list[Recorded] = []
        choices: dict[tuple[str, str], list[str]] = {}
        placed: dict[tuple[str, str], list[str]] = {}
        raised: dict[int, str] = {}
        for event in path:
            if isinstance(event, Recorded):
                ops.append(event)
            elif event.key[0] == "raise":
                raised[len(ops) - 1] = event.key[1]
            else:
                choices.setdefault(event.key, []).append(event.outcome)
                placed.setdefault(_place(event.key[0], len(ops)), []).append(event.outcome)
        return cls(
            tuple(ops),
            {k: tuple(v) for k, v in choices.items()},
            {k: tuple(v) for k, v in placed.items()},
            raised,
        )


Counts = tuple[tuple[tuple[str, str], int], ...]


def diverge(path: Sequence[Event], new: Shape, max_rounds: int = 2) -> list[Divergence]:
    """Where runs that took ``path`` under the old code stop replaying on ``new``."""
    old = _Old.of(path)
    found: dict[tuple[str, str | None, str], Divergence] = {}
    stack: list[tuple[str, int, Counts]] = [(new.start, 0, ())]
    seen: set[tuple[str, int, Counts]] = set()
    while stack:
        state = stack.pop()
        if state in seen:
            continue
        seen.add(state)
        node_id, i, counts = state
        if i >= len(old.ops):
            continue  # every recorded operation was met again: safe
        for item in _step(old, new, node_id, i, dict(counts), max_rounds):
            if isinstance(item, Divergence):
                key = (item.expected.node, item.met, item.handler)
                found.setdefault(key, item)
            else:
                stack.append(item)
    return list(found.values())


def _step(
    old: _Old, new: Shape, node_id: str, i: int, counts: dict[tuple[str, str], int], max_rounds: int
) -> list[tuple[str, int, Counts] | Divergence]:
    node = new.nodes[node_id]
    if node.kind in _END:
        return [Divergence(old.ops[: i + 1], None)]
    if is_recorded(node):
        met = _meet(old, i, node_id, recorded_key(node))
        if met is not None:
            return [met]
        i += 1
        if i - 1 in old.raised_after and i < len(old.ops):
            label = old.raised_after[i - 1]
            handlers = [h for _, h in new.handlers_around(node_id) if new.nodes[h].label == label]
            if not handlers:
                return [Divergence(old.ops[: i + 1], None, handler=label)]
            return [(handlers[0], i, _freeze(counts))]
    moves: list[tuple[str, int, Counts] | Divergence] = []
    if node.kind in ("decision", "loop", "patch"):
        key, place = (node.kind, node.label), _place(node.kind, i)
        steps = new.next_steps(node_id)
        labels = {label for label, _ in steps}
        taken, by_place = counts.get(key, 0), counts.get(place, 0)
        recorded, placed = old.choices.get(key, ()), old.placed.get(place, ())
        after = _freeze({**counts, key: taken + 1})
        if taken < len(recorded) and recorded[taken] in labels:
            steps = [(label, targets) for label, targets in steps if label == recorded[taken]]
        elif node.kind != "patch" and by_place < len(placed) and placed[by_place] in labels:
            # the same branch written another way (a renamed local in its text): the one the
            # old path took after as many recorded operations
            steps = [(label, targets) for label, targets in steps if label == placed[by_place]]
            after = _freeze({**counts, place: by_place + 1})
        elif node.kind == "patch":  # a gate the old code lacked: runs take the old branch
            steps = [(label, targets) for label, targets in steps if label == "old code"]
        elif node.kind == "loop" and taken >= max_rounds:
            steps = [(label, targets) for label, targets in steps if label == "done"]
        for label, targets in steps:
            start = i
            if node.kind == "patch" and label == "new code":
                met = _meet(old, i, node_id, recorded_key(node))
                if met is not None:
                    moves.append(met)
                    continue
                start = i + 1
            moves += _onward(old, new, targets, start, after)
        return moves
    for _, targets in new.next_steps(node_id):
        moves += _onward(old, new, targets, i, _freeze(counts))
    return moves


def _onward(
    old: _Old, new: Shape, targets: list[str], i: int, counts: Counts
) -> list[tuple[str, int, Counts] | Divergence]:
    if len(targets) == 1:
        return [(targets[0], i, counts)]
    for target in targets:  # a parallel group's calls, recorded in call order
        node = new.nodes[target]
        if not is_recorded(node):
            continue
        if i >= len(old.ops):
            return []
        met = _meet(old, i, target, recorded_key(node))
        if met is not None:
            return [met]
        i += 1
    return [(after, i, counts) for after in new.join(targets)]


def _meet(old: _Old, i: int, node_id: str, key: tuple[str, str]) -> Divergence | None:
    """None when the new code's operation is the one recorded at ``i``."""
    if old.ops[i].key == key:
        return None
    return Divergence(old.ops[: i + 1], node_id)


def _place(kind: str, ops_before: int) -> tuple[str, str]:
    return ("@" + kind, str(ops_before))


def _freeze(counts: dict[tuple[str, str], int]) -> Counts:
    return tuple(sorted(counts.items()))
