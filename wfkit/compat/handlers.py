"""A Temporal workflow's signal, update and query handlers, read for ``wfkit compat``.

A Temporal run's history records the signals and updates it received
(``WorkflowExecutionSignaled``, ``WorkflowExecutionUpdateAccepted``), and the activities and
timers a handler starts are commands of the run like the ``@workflow.run`` body's. So a
handler is compared like a body: its durable operations as a graph (the skeleton's walk over
the handler method), keyed by its kind and registered name (``name=`` on the decorator, else
the method's name). Queries are never in a history: they are read only to be told apart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import libcst as cst

from wfkit.static.module_index import ModuleIndex, WorkflowInfo
from wfkit.static.skeleton import Edge, Graph, Node, build_workflow_graph

KINDS = {
    "temporalio.workflow.signal": "signal",
    "temporalio.workflow.update": "update",
    "temporalio.workflow.query": "query",
}
RECORDED = ("signal", "update")  # a query is never in a history
SETTERS = ("set_signal_handler", "set_update_handler", "set_dynamic_")
END = "handler-end"  # what the end of a handler is recorded as, in compat's comparison


@dataclass(frozen=True)
class HandlerDef:
    """One handler method: its kind, registered name, method name and whether it is the
    dynamic handler of its kind (``dynamic=True``: it receives every unknown name)."""

    kind: str
    name: str
    method: str
    dynamic: bool
    func: cst.FunctionDef
    computed: str = ""  # why the registered name is only known at run time


def handler_defs(index: ModuleIndex, info: WorkflowInfo) -> list[HandlerDef]:
    """The handlers of the ``@workflow.defn`` class ``info`` names, in source order."""
    found: list[HandlerDef] = []
    for item in _class_body(index, info):
        if not isinstance(item, cst.FunctionDef):
            continue
        for decorator in item.decorators:
            expr = decorator.decorator
            call = expr if isinstance(expr, cst.Call) else None
            func = call.func if call is not None else expr
            if not isinstance(func, (cst.Name, cst.Attribute)):
                continue
            saved = index.resolver.stack
            index.resolver.stack = []  # the class body sees module names
            try:
                kind = KINDS.get(index.resolver.resolve(func) or "")
            finally:
                index.resolver.stack = saved
            if kind is None:
                continue
            name, computed = _registered(index, call, item.name.value)
            dynamic = _keyword_text(call, "dynamic") == "True"
            found.append(HandlerDef(kind, name, item.name.value, dynamic, item, computed))
            break
    return found


def registers_handlers_at_run_time(index: ModuleIndex, info: WorkflowInfo) -> bool:
    """Whether the class calls ``workflow.set_*_handler``: which names it then handles is
    only known at run time."""
    if not any(setter in index.source for setter in SETTERS):
        return False  # the common case, without generating the class's code
    body = _class_body(index, info)
    code = "".join(index.module.code_for_node(item) for item in body)
    return any(setter in code for setter in SETTERS)


def handler_info(index: ModuleIndex, info: WorkflowInfo, method: str) -> WorkflowInfo | None:
    """``info`` with the handler method ``method`` as the body the skeleton walks."""
    for item in _class_body(index, info):
        if isinstance(item, cst.FunctionDef) and item.name.value == method:
            return replace(info, func=item)
    return None


def handler_graph(index: ModuleIndex, info: WorkflowInfo, handler: HandlerDef) -> Graph:
    """The durable operations of one handler, drawn like a workflow body."""
    return build_workflow_graph(index, replace(info, func=handler.func), positions=False)


def with_end(graph: Graph) -> Graph:
    """``graph`` with the handler's normal end as a recorded operation of its own, so what a
    new handler does after the old one's last operation is a change like any other: a run in
    flight may have received the signal and gone on past the handler (unlike a workflow's
    end, which no run in flight has passed)."""
    ends = {node.id for node in graph.nodes if node.kind == "end"}
    if not ends:
        return graph
    end = Node("handler_end", "step", "end of handler", records=END)
    edges = [replace(e, dst=end.id) if e.dst in ends else e for e in graph.edges]
    edges += [Edge(end.id, node_id) for node_id in sorted(ends)]
    return Graph(graph.workflow, graph.dialect, [*graph.nodes, end], edges, list(graph.groups))


def _registered(index: ModuleIndex, call: cst.Call | None, method: str) -> tuple[str, str]:
    """(registered name, why it cannot be known): ``name=`` as a string or a module-level
    constant holding one, else the method's name; any other expression is computed."""
    for arg in call.args if call is not None else ():
        if arg.keyword is None or arg.keyword.value != "name":
            continue
        value = arg.value
        if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
            return value.evaluated_value, ""
        if isinstance(value, cst.Name) and value.value in index.constants:
            return index.constants[value.value], ""
        text = index.text(value, 40)
        return text, f"the handler's name= ({text}) is computed at run time"
    return method, ""


def _class_body(index: ModuleIndex, info: WorkflowInfo) -> tuple[cst.BaseStatement, ...]:
    owner = info.attr.partition(".")[0]
    for item in index.module.body:
        if (
            isinstance(item, cst.ClassDef)
            and item.name.value == owner
            and isinstance(item.body, cst.IndentedBlock)
        ):
            return tuple(item.body.body)
    return ()


def _keyword_text(call: cst.Call | None, keyword: str) -> str:
    for arg in call.args if call is not None else ():
        if arg.keyword is not None and arg.keyword.value == keyword:
            value = arg.value
            if isinstance(value, cst.SimpleString):
                text = value.evaluated_value
                return text if isinstance(text, str) else ""
            if isinstance(value, cst.Name):
                return value.value
            return "?"  # computed at run time
    return ""
