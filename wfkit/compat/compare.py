"""The verdicts: one workflow's old and new versions compared, as findings.

A run recorded under the old code is safe on the new code when, taking the same branch
outcomes, the new code meets the same operations (kind and recorded name, in order) for all
it recorded (:mod:`wfkit.compat.divergence`). What a change breaks is told by code:

- WF301: an operation inserted, removed, reordered, renamed or of another kind where a
  recorded run can be past it;
- WF302: the registered name changed, or the workflow removed (its runs are orphaned);
- WF303: the input no longer binds what runs recorded (a new parameter without a default, a
  removed or retyped one);
- WF304: a version gate, or its old branch, removed while runs recorded before it may be in
  flight;
- WF305: cannot tell (a name computed at run time, a file that does not parse, too many
  paths), with the reason.

Each finding is placed in the new code where there is new code to point at (so a
suppression comment sits on that line), else at the workflow's old definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from wfkit.compat.divergence import Divergence, diverge
from wfkit.compat.handlers import END, RECORDED, with_end
from wfkit.compat.paths import Choice, Recorded, Shape, is_recorded, paths, recorded_key
from wfkit.compat.sides import Param, Side, Workflow
from wfkit.lint.finding import Finding
from wfkit.static.skeleton import Graph, Node

MAX_SHOWN = 6  # recorded operations quoted in a message before "..."
_PATCH_ID = re.compile(r"""patched\((['"]?)(.*)\1\)""")


@dataclass(frozen=True)
class Place:
    path: str
    line: int
    column: int


def compare_sides(old: Side, new: Side) -> list[Finding]:
    """Every finding for the workflows the old side defines (new workflows are safe)."""
    found: list[Finding] = []
    for path, reason in sorted(new.unparsable.items()):
        gone = [wf for wf in old.workflows.values() if wf.path == path]
        if gone:
            found.append(
                _finding(
                    Place(path, 1, 1),
                    "WF305",
                    f"cannot tell whether runs of {_names(gone)} replay: the new {path} "
                    f"cannot be read ({reason})",
                )
            )
    for path, reason in sorted(old.unparsable.items()):
        if path not in new.unparsable:
            found.append(
                _finding(
                    Place(path, 1, 1),
                    "WF305",
                    f"cannot tell whether runs recorded under the base replay: the old {path} "
                    f"cannot be read ({reason}), so its workflows are unknown",
                )
            )
    by_attr = {(wf.path, wf.attr): wf for wf in new.workflows.values()}
    added: dict[str, list[Workflow]] = {}  # path -> workflows the old side did not register
    for wf in new.workflows.values():
        if wf.name not in old.workflows:
            added.setdefault(wf.path, []).append(wf)
    for name in sorted(old.workflows):
        before = old.workflows[name]
        after = new.workflows.get(name)
        if after is None:
            if before.path in new.unparsable:
                continue  # said above
            renamed = by_attr.get((before.path, before.attr))
            candidates = added.get(before.path, [])
            if renamed is None and len(candidates) == 1 and candidates[0].dialect == before.dialect:
                renamed = candidates[0]  # the one new workflow beside it: renamed, most likely
            found.append(_orphaned(before, renamed))
            continue
        found.extend(_inputs(before, after))
        found.extend(_operations(old, new, before, after))
        found.extend(_handlers(old, new, before, after))
    return found


# ------------------------------------------------------------------------------ handlers
def _handlers(old: Side, new: Side, before: Workflow, after: Workflow) -> list[Finding]:
    """Temporal signal and update handlers: a recorded run may have received any of them,
    so each must still be registered under its name, and each one's durable operations
    (commands of the run like the body's) must replay. Queries are never recorded."""
    found: list[Finding] = []
    kept = {_handler_key(h): h for h in after.handlers}
    for handler in before.handlers:
        if handler.handler not in RECORDED:
            continue
        match = kept.get(_handler_key(handler))
        if match is None:
            found.append(_handler_gone(handler, after))
            continue
        if handler.graph is not None and match.graph is not None:
            handler = replace(handler, graph=with_end(handler.graph))
            match = replace(match, graph=with_end(match.graph))
        found.extend(_operations(old, new, handler, match))
    return found


def _handler_key(handler: Workflow) -> tuple[str, str | None]:
    return (handler.handler, None if handler.dynamic else handler.name)


def _handler_gone(handler: Workflow, after: Workflow) -> Finding:
    kind = handler.handler
    what = f"the dynamic {kind} handler" if handler.dynamic else f"{kind} handler {handler.name!r}"
    dynamic = [h for h in after.handlers if h.handler == kind and h.dynamic]
    if dynamic and not handler.dynamic:
        return _finding(
            _at(dynamic[0]),
            "WF305",
            f"cannot tell whether runs of workflow {after.name!r} that received {kind} "
            f"{handler.name!r} replay: {what} was removed and the new dynamic {kind} handler "
            "receives it instead; whether it does what the old handler did is not known "
            "statically",
        )
    computed = handler.named_at_run_time or next(
        (h.named_at_run_time for h in after.handlers if h.handler == kind and h.named_at_run_time),
        "",
    )
    if computed:
        return _finding(
            _at(after),
            "WF305",
            f"cannot tell whether runs of workflow {after.name!r} that received {kind} "
            f"{handler.name!r} replay: {what} is not registered under that name any more, "
            f"and {computed}",
        )
    if after.runtime_handlers:
        return _finding(
            _at(after),
            "WF305",
            f"cannot tell whether runs of workflow {after.name!r} that received {kind} "
            f"{handler.name!r} replay: {what} was removed, and the new code registers "
            "handlers at run time (workflow.set_*_handler), by names not known statically",
        )
    effect = (
        "Temporal buffers the signal, so what the handler did (state it set, operations it "
        "started) is missing and the run takes another path or waits forever"
        if kind == "signal"
        else "Temporal rejects the update the history shows accepted, and the run cannot replay"
    )
    renamed = [
        h
        for h in after.handlers
        if h.handler == kind and not h.dynamic and h.function == handler.function
    ]
    if renamed and not handler.dynamic:
        return _finding(
            _at(renamed[0]),
            "WF306",
            f"workflow {after.name!r}: {what} is now registered as {renamed[0].name!r}: on "
            f"replay of a run that received {handler.name!r}, {effect}; keep the registered "
            f"name (name={handler.name!r} on the decorator)",
        )
    return _finding(
        _at(after),
        "WF306",
        f"workflow {after.name!r}: {what} was removed (it was defined at "
        f"{handler.path}:{handler.line}): on replay of a run that received it, {effect}; keep "
        "the handler until no run that may have received it is in flight",
    )


# ------------------------------------------------------------------------------ WF302
def _orphaned(before: Workflow, renamed: Workflow | None) -> Finding:
    if renamed is not None:
        return _finding(
            _at(renamed),
            "WF302",
            f"workflow {before.name!r} is now registered as {renamed.name!r}: runs recorded "
            f"under {before.name!r} no longer find their workflow; keep the registered name "
            f"(name={before.name!r} on the decorator) or keep the old workflow until its runs "
            "have finished",
        )
    return _finding(
        _at(before),
        "WF302",
        f"workflow {before.name!r} was removed (it was defined at {before.path}:{before.line}): "
        "runs recorded under it no longer find their workflow; keep it until its runs have "
        "finished (wfkit list shows the runs in flight)",
    )


# ------------------------------------------------------------------------------ WF303
def _inputs(before: Workflow, after: Workflow) -> list[Finding]:
    old = {p.name: p for p in before.params}
    new = {p.name: p for p in after.params}
    takes_any = {p.kind for p in after.params}
    problems = []
    for param in after.params:
        if param.name not in old and param.kind not in ("*", "**") and not param.has_default:
            problems.append(
                f"new parameter {param.name!r} has no default, so the inputs runs recorded "
                f"do not bind it; give it a default ({param.name}=...)"
            )
    for param in before.params:
        if param.kind in ("*", "**") or param.name in new:
            continue
        if ("**" if param.kind == "keyword" else "*") in takes_any:
            continue
        problems.append(
            f"parameter {param.name!r} was removed, so the inputs runs recorded no longer "
            f"bind; keep it (with a default, unused) until those runs have finished"
        )
    for param in after.params:
        was = old.get(param.name)
        if was is not None and was.annotation and param.annotation:
            if was.annotation != param.annotation:
                problems.append(
                    f"parameter {param.name!r} was {was.annotation}, now {param.annotation}: "
                    "recorded inputs may no longer decode; accept both types"
                )
    if _positional(before.params) != _positional(after.params)[: len(_positional(before.params))]:
        if not problems:
            problems.append(
                "the positional parameters changed order, so recorded inputs bind to other "
                "parameters; keep their order and add new ones at the end"
            )
    return [
        _finding(_at(after), "WF303", f"workflow {after.name!r}: {problem}") for problem in problems
    ]


def _positional(params: Iterable[Param]) -> list[str]:
    return [p.name for p in params if p.kind == "positional"]


# ------------------------------------------------------------------------------ WF301/4/5
def _operations(old: Side, new: Side, before: Workflow, after: Workflow) -> list[Finding]:
    if before.graph is None or after.graph is None:
        reason = before.problem or after.problem
        return [
            _finding(
                _at(after),
                "WF305",
                f"cannot tell whether runs of {_subject(after)} replay: {reason}",
            )
        ]
    if _signature(before.graph) == _signature(after.graph):
        return []  # the same operations under the same control flow: every run replays
    walked = paths(before.graph)
    shape = Shape.of(after.graph)
    found: dict[tuple[str, ...], tuple[int, Finding]] = {}
    gates = _gates(before.graph)
    gone_gates = gates - _gates(after.graph)
    old_nodes = {node.id: node for node in before.graph.nodes}
    for path in walked.paths:
        # a run that took a gate's old branch explains a removed gate best
        rank = 0 if any(isinstance(e, Choice) and e.outcome == "old code" for e in path) else 1
        for place in diverge(path, shape):
            expected = old_nodes[place.expected.node]
            gate = _gate_of(expected, gates, gone_gates, path, len(place.prefix))
            key, finding = _verdict(old, new, before, after, shape, place, expected, gate)
            if key not in found or (rank, finding) < found[key]:
                found[key] = (rank, finding)
    if not walked.complete:
        found[("bounded",)] = (
            0,
            _finding(
                _at(after),
                "WF305",
                f"cannot tell whether every run of {_subject(after)} replays: the old code has more "
                f"than {len(walked.paths)} paths through its operations; only those were checked",
            ),
        )
    return sorted(finding for _, finding in found.values())


def _signature(graph: Graph) -> tuple:
    """What replay depends on in a graph: its nodes without their places and notes (a moved
    line, a changed timeout), its edges and groups."""
    return (
        tuple((n.id, n.kind, n.name, n.label, n.computed, n.group) for n in graph.nodes),
        tuple(graph.edges),
        tuple(graph.groups),
    )


def _gates(graph: Graph) -> set[str]:
    return {node.name for node in graph.nodes if node.kind == "patch"}


def _verdict(
    old: Side,
    new: Side,
    before: Workflow,
    after: Workflow,
    shape: Shape,
    place: Divergence,
    expected: Node,
    gate: str,
) -> tuple[tuple[str, ...], Finding]:
    assert before.graph is not None and after.graph is not None  # _operations checked both
    met = new.placed(after, shape.nodes[place.met]) if place.met is not None else None
    expected = old.placed(before, expected)
    recorded = _sequence(place.prefix)
    where = _at(after) if met is None or not met.line else _node_place(met, after, new)
    old_path = old.relative(expected.path) if expected.path else before.path
    old_at = f"{old_path}:{expected.line}" if expected.line else before.path
    computed = expected.computed or (met.computed if met is not None else "")
    if computed:
        return (
            ("computed", where.path, str(where.line), expected.id),
            _finding(
                where,
                "WF305",
                f"cannot tell whether runs of {_subject(after)} replay here: {computed} "
                f"(runs recorded {recorded}; old code at {old_at})",
            ),
        )
    if gate:
        removed = (
            f"version gate {gate!r} was removed"
            if gate not in _gates(after.graph)
            else f"the old branch of version gate {gate!r} changed"
        )
        return (
            ("gate", gate),
            _finding(
                where,
                "WF304",
                f"{after.title}: {removed}, but runs recorded "
                f"before it may still be in flight: a run that recorded {recorded} meets "
                f"{_describe(met)} here instead; this is safe only once no run recorded before "
                f"the gate is in flight (wfkit patches tells, per gate)",
            ),
        )
    change = _change(expected, met, before.graph, after.graph)
    fix = _fix(after, expected, met)
    return (
        ("op", expected.id, place.met or "end", place.handler),
        _finding(
            where,
            "WF301",
            f"{after.title}: {change}: a run that recorded {recorded} "
            f"(old code at {old_at}) meets {_describe(met, place.handler)} here instead and "
            f"cannot replay; {fix}",
        ),
    )


def _gate_of(expected: Node, gates: set[str], gone: set[str], path: tuple, recorded: int) -> str:
    """The version gate whose removal (or whose old branch's removal) explains a place: the
    recorded operation is a removed gate's marker, lies in a gate's old branch (runs recorded
    before the gate took it) or in a removed gate's new branch, or is the first operation a
    run recorded after taking a removed gate's old branch."""
    if expected.kind == "patch" and expected.name in gone:
        return expected.name
    for entry in reversed(expected.inside):  # innermost first
        branch = entry.rpartition(": ")[2]
        if branch not in ("old code", "new code") or "patched(" not in entry:
            continue
        for gate in sorted(gates, key=len, reverse=True):
            if gate and gate in entry and (branch == "old code" or gate in gone):
                return gate
    seen = 0
    for event in path:
        if isinstance(event, Recorded):
            seen += 1
            if seen >= recorded:
                break
        elif event.key[0] == "patch" and event.outcome == "old code" and seen == recorded - 1:
            literal = _PATCH_ID.fullmatch(event.key[1])
            gate = literal.group(2) if literal else ""
            if gate in gone:
                return gate
    return ""


def _change(expected: Node, met: Node | None, old: Graph | None, new: Graph) -> str:
    what = _describe(expected)
    if met is None:
        return f"{what} was removed"
    if expected.records == END:
        return f"{_describe(met)} was added after the handler's last operation"
    if met.records == END:
        return f"{what} was removed"
    new_keys = {recorded_key(n) for n in new.nodes if is_recorded(n)}
    old_keys = {recorded_key(n) for n in old.nodes if is_recorded(n)} if old else set()
    if recorded_key(met)[0] != recorded_key(expected)[0]:
        return f"{what} became {_describe(met)} (an operation of another kind)"
    if recorded_key(met) in old_keys and recorded_key(expected) in new_keys:
        return f"{what} and {_describe(met)} were reordered"
    if recorded_key(met) not in old_keys and recorded_key(expected) not in new_keys:
        return f"{what} was renamed to {met.name!r}"
    if recorded_key(met) not in old_keys:
        return f"{_describe(met)} was inserted before {what}"
    return f"{what} was removed"


def _fix(after: Workflow, expected: Node, met: Node | None) -> str:
    subject = met.name if met is not None and met.name else f"no-{expected.name or expected.kind}"
    gate = re.sub(r"[^A-Za-z0-9]+", "-", f"{after.name}-{subject}").strip("-").lower()
    if after.dialect == "temporal":
        return (
            f'fix: wrap the change in `if workflow.patched("{gate}"):` and keep the old code '
            "in its else branch"
        )
    if after.dialect == "dbos":
        return (
            "fix: DBOS replays a run on the application version that started it, so start "
            "new runs on a new application version and let this one finish its runs, or keep "
            "the old code path"
        )
    return (
        f'fix: wrap the change in `if ctx.patched("{gate}"):` and keep the old code in its '
        "else branch"
    )


# ------------------------------------------------------------------------------ text
def _describe(node: Node | None, handler: str = "") -> str:
    if handler:
        return f"no handler `{handler}`"
    if node is None:
        return "the end of the workflow"
    if node.kind == "patch":
        return f"version gate {node.name!r}"
    if node.kind == "sleep":
        return f"timer {node.name!r}" if node.name else "a timer"
    if node.records == END:
        return "the end of the handler"
    if node.records == "sleep":
        return f"a timer (the timeout of wait_condition {node.label!r})"
    return f"{node.kind} {node.name!r}"


def _sequence(prefix: tuple[Recorded, ...]) -> str:
    names = [
        "end of handler" if kind == END else f"{kind} {name!r}" if name else kind
        for kind, name in (r.key for r in prefix)
    ]
    if len(names) > MAX_SHOWN:
        names = [*names[:2], "...", *names[-(MAX_SHOWN - 3) :]]
    return "[" + ", ".join(names) + "]"


def _subject(workflow: Workflow) -> str:
    return workflow.title if workflow.handler else repr(workflow.name)


def _names(workflows: list[Workflow]) -> str:
    return ", ".join(repr(wf.name) for wf in sorted(workflows, key=lambda w: w.name))


def _at(workflow: Workflow) -> Place:
    return Place(workflow.path, workflow.line, workflow.column)


def _node_place(node: Node, workflow: Workflow, side: Side) -> Place:
    return Place(
        side.relative(node.path) if node.path else workflow.path, node.line, node.column or 1
    )


def _finding(place: Place, code: str, message: str) -> Finding:
    return Finding(
        place.path, place.line, place.column, place.line, place.column + 1, code, message
    )
