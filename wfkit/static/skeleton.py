"""A workflow's durable operations as a small graph, read from source without importing it.

``wfkit graph`` is for docs and code review, so it must work on code that cannot run here (no
database, missing dependencies, side effects at import): everything comes from the libcst tree,
with the model's own resolver deciding what a name means (aliases like ``from temporalio import
workflow as wf`` included). The walk is a control-flow builder: each statement takes the open
ends of the graph so far (the *frontier*) and returns the new ones, so branches, loops, early
returns and exception paths fall out of the same code for all three dialects. Only control flow
that surrounds a durable operation (or leaves the workflow) is drawn: the builder is
append-only, so a region that turns out to hold nothing durable is simply rolled back.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import cast

import libcst as cst

from wfkit.errors import UsageError
from wfkit.static.graph_model import OP_KINDS, Edge, Graph, Group, Node
from wfkit.static.knowledge import TEMPORAL
from wfkit.static.module_index import Helper, ModuleIndex, Op, WorkflowInfo, index_module
from wfkit.static.nodes import semantic_children
from wfkit.static.parse_guard import ParseLimits, check_source
from wfkit.static.positions import resolve_positions
from wfkit.static.resolver import BindingCollector, param_bindings

__all__ = [
    "OP_KINDS",
    "Edge",
    "Graph",
    "Group",
    "Node",
    "build_graph",
    "build_workflow_graph",
    "list_workflows",
    "parse_source",
]

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)
Pending = tuple[str, str]  # (node or group id, label of the edge leaving it)


def parse_source(source: str, path: str, limits: ParseLimits = ParseLimits()) -> cst.Module:
    """Parse, turning a syntax error into the one-line usage error the CLI prints.

    The parse guard comes first: a file over ``limits`` (or nested deeper than CPython allows)
    could crash or stall libcst's native parser, so it is a usage error naming the limit.
    libcst reports where its parser gave up (often the next line); Python's own compiler,
    asked only for a tree (nothing runs), names the offending line, so it words the error."""
    rejection = check_source(source, limits)
    if rejection is not None:
        raise UsageError(
            f"{path}:{rejection.line}:{rejection.column}: {rejection.message}",
            hint="set max-file-size / max-nesting in [tool.wfkit.lint] to change the limits",
        )
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        line, column = error.raw_line, error.raw_column + 1
        message = re.sub(r"^(parser error: )?(error at \d+:\d+: )?", "", error.message)
    try:
        compile(source, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        line, column, message = error.lineno or line, error.offset or column, error.msg
    except ValueError:  # null bytes: keep libcst's wording
        pass
    raise UsageError(
        f"{path}:{line}:{column}: syntax error: {message}",
        hint="fix the syntax, then draw the graph again",
    )


def build_graph(
    module: cst.Module,
    path: str,
    workflow: str,
    module_name: str,
    is_package: bool = False,
    extra_workflow_decorators: frozenset[str] = frozenset(),
    extra_step_decorators: frozenset[str] = frozenset(),
    *,
    file_path: str | None = None,
    limits: ParseLimits = ParseLimits(),
) -> Graph:
    """The graph of ``workflow`` (attribute or registered name) defined in ``module``.

    ``path`` is how errors name the module; ``file_path``, when given, is where it lives on
    disk, so helpers imported from its package can be inlined (read, never imported)."""
    index = index_module(
        module,
        module_name,
        is_package,
        extra_workflow_decorators,
        extra_step_decorators,
        file_path,
        limits,
    )
    info = index.find(workflow)
    if info is None:
        listing = ", ".join(f"{path}:{name}" for name in sorted(index.workflows))
        hint = (
            f"use one of: {listing}"
            if listing
            else (
                "it defines no workflow; decorate one with @workflow, @workflow.defn or "
                "@DBOS.workflow()"
            )
        )
        raise UsageError(f"{path} has no workflow {workflow!r}", hint=hint)
    return _Walker(index, info).run()


def build_workflow_graph(
    index: ModuleIndex, info: WorkflowInfo, *, positions: bool = True
) -> Graph:
    """The graph of a workflow ``index`` found (``wfkit compat`` indexes each file once and
    draws all its workflows). Without ``positions`` the operations' lines and columns stay 0
    (their file is set): finding them costs a code generation per operation, which a caller
    that needs only a few (for its findings) pays by drawing that workflow again with them."""
    return _Walker(index, info, positions).run()


def list_workflows(
    module: cst.Module,
    module_name: str,
    is_package: bool = False,
    extra_workflow_decorators: frozenset[str] = frozenset(),
    extra_step_decorators: frozenset[str] = frozenset(),
) -> list[str]:
    """The names ``build_graph`` accepts for this module (attribute names), sorted."""
    return sorted(
        index_module(
            module, module_name, is_package, extra_workflow_decorators, extra_step_decorators
        ).workflows
    )


@dataclass
class _Loop:
    node: str
    breaks: list[Pending] = field(default_factory=list)


class _Walker:
    """Builds one workflow's graph; see the module docstring for the frontier protocol."""

    def __init__(self, index: ModuleIndex, info: WorkflowInfo, positions: bool = True) -> None:
        self.positions = positions
        self.ix = index
        self.info = info
        self.graph = Graph(info.name, info.dialect)
        self.counter = 0
        self.transfers = 0
        self.fail_id = ""
        self.groups: list[str] = []
        self.inside: list[str] = []
        self.loops: list[_Loop] = []
        self.returns: list[list[Pending]] = []
        self.ctx_names: list[frozenset[str]] = []
        self.inlining: list[str] = []
        self.parallel_depth = 0
        # Where each operation is: the innermost statement and the indentation of its block
        # while walking, so positions are resolved once, after the walk, for ops only.
        self.statements: list[cst.CSTNode] = []
        self.indents: list[str] = []
        self.wanted: list[tuple[str, ModuleIndex, cst.CSTNode, cst.CSTNode, str]] = []

    # ------------------------------------------------------------------ graph building
    def run(self) -> Graph:
        func = self.info.func
        start = self._add("start", self.info.name)
        self._enter(func, self.info.ctx_names)
        self.returns.append([])
        if func is not self.ix.defs.get(func.name.value):  # a method: inside a class body
            self.indents.append(self.ix.module.default_indent)
        frontier = self._suite(func.body, [(start, "")])
        frontier += self.returns.pop()
        self.ix.resolver.stack = []
        end = self._add("end", "end")
        self._connect(frontier, end)
        if self.positions:
            self._place_ops()
        return self.graph

    def _place_ops(self) -> None:
        """Fill in the path, line and column of every operation still in the graph."""
        present = {node.id: i for i, node in enumerate(self.graph.nodes)}
        by_module: dict[int, tuple[ModuleIndex, list[tuple[str, cst.CSTNode, cst.CSTNode, str]]]]
        by_module = {}
        for node_id, index, call, statement, indent in self.wanted:
            if node_id in present:
                by_module.setdefault(id(index), (index, []))[1].append(
                    (node_id, call, statement, indent)
                )
        for index, wanted in by_module.values():
            try:
                found = resolve_positions(
                    index.module, index.source, [(c, s, i) for _, c, s, i in wanted]
                )
            except Exception:  # positions are a courtesy: a graph without them still draws
                found = {}
            for node_id, call, _, _ in wanted:
                where = found.get(call)
                at = present[node_id]
                self.graph.nodes[at] = replace(
                    self.graph.nodes[at],
                    path=index.path,
                    line=where.start.line if where else 0,
                    column=where.start.column + 1 if where else 0,
                )

    def _add(
        self,
        kind: str,
        label: str,
        op: Op | None = None,
        at: cst.CSTNode | None = None,
        records: str = "",
    ) -> str:
        self.counter += 1
        node_id = f"n{self.counter}"
        self.graph.nodes.append(
            Node(
                node_id,
                kind,
                label,
                op.detail if op else "",
                tuple(self.inside),
                op.compensation if op else "",
                self.groups[-1] if self.groups else "",
                op.recorded_name if op else "",
                op.computed if op else "",
                self.ix.path if at is not None else "",
                records=records,
            )
        )
        if at is not None and self.statements and self.positions:
            self.wanted.append((node_id, self.ix, at, self.statements[-1], "".join(self.indents)))
        return node_id

    def _connect(self, frontier: list[Pending], dst: str, style: str = "solid") -> None:
        seen = {(e.src, e.dst, e.label) for e in self.graph.edges}
        for src, label in frontier:
            if (src, dst, label) not in seen:
                seen.add((src, dst, label))
                self.graph.edges.append(Edge(src, dst, label, style))

    def _open(self, kind: str, label: str) -> str:
        self.counter += 1
        group_id = f"g{self.counter}"
        self.graph.groups.append(
            Group(group_id, kind, label, self.groups[-1] if self.groups else "")
        )
        self.groups.append(group_id)
        return group_id

    def _mark(self) -> tuple[int, int, int, int, int, str]:
        graph = self.graph
        return (
            len(graph.nodes),
            len(graph.edges),
            len(graph.groups),
            self.counter,
            self.transfers,
            self.fail_id,
        )

    def _ops_since(self, mark: tuple[int, int, int, int, int, str]) -> bool:
        return any(node.kind in OP_KINDS for node in self.graph.nodes[mark[0] :])

    def _rollback(self, mark: tuple[int, int, int, int, int, str]) -> None:
        graph = self.graph
        del graph.nodes[mark[0] :], graph.edges[mark[1] :], graph.groups[mark[2] :]
        self.counter, self.transfers, self.fail_id = mark[3], mark[4], mark[5]
        self.wanted = [w for w in self.wanted if int(w[0][1:]) <= mark[3]]

    def _fail(self) -> str:
        if not self.fail_id:
            groups, inside = self.groups, self.inside
            self.groups, self.inside = [], []
            self.fail_id = self._add("fail", "failed")
            self.groups, self.inside = groups, inside
        return self.fail_id

    # ------------------------------------------------------------------ statements
    def _suite(self, suite: cst.BaseSuite, frontier: list[Pending]) -> list[Pending]:
        """A block's statements, with its indentation known (for positions)."""
        if not isinstance(suite, cst.IndentedBlock):
            return self._block(_body(suite), frontier)
        indent = suite.indent if suite.indent is not None else self.ix.module.default_indent
        self.indents.append(indent)
        try:
            return self._block(suite.body, frontier)
        finally:
            self.indents.pop()

    def _block(self, statements: Sequence[cst.CSTNode], frontier: list[Pending]) -> list[Pending]:
        for statement in statements:
            if not frontier:
                break  # unreachable after return/raise/break/continue
            frontier = self._statement(statement, frontier)
        return frontier

    def _statement(self, node: cst.CSTNode, frontier: list[Pending]) -> list[Pending]:
        if isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in node.body:
                if not frontier:
                    break
                self.statements.append(small)
                try:
                    frontier = self._small(small, frontier)
                finally:
                    self.statements.pop()
            return frontier
        self.statements.append(node)
        try:
            return self._compound(node, frontier)
        finally:
            self.statements.pop()

    def _compound(self, node: cst.CSTNode, frontier: list[Pending]) -> list[Pending]:
        if isinstance(node, cst.If):
            return self._if(node, frontier)
        if isinstance(node, (cst.For, cst.While)):
            return self._loop(node, frontier)
        if isinstance(node, (cst.Try, cst.TryStar)):
            return self._try(node, frontier)
        if isinstance(node, cst.With):
            for item in node.items:
                frontier = self._expr(item.item, frontier)
            return self._suite(node.body, frontier)
        if isinstance(node, cst.Match):
            return self._match(node, frontier)
        return frontier  # nested def/class: defining it runs nothing durable

    def _small(self, node: cst.CSTNode, frontier: list[Pending]) -> list[Pending]:
        if isinstance(node, cst.Return):
            if node.value is not None:
                frontier = self._expr(node.value, frontier)
            self.transfers += 1
            self.returns[-1].extend(frontier)
            return []
        if isinstance(node, cst.Raise):
            if node.exc is not None:
                frontier = self._expr(node.exc, frontier)
            self.transfers += 1
            exc = node.exc.func if isinstance(node.exc, cst.Call) else node.exc
            label = "raise " + self.ix.text(exc, 30) if exc is not None else "raise"
            self._connect(
                [(src, f"{why}: {label}" if why else label) for src, why in frontier],
                self._fail(),
                "dashed",
            )
            return []
        if isinstance(node, (cst.Break, cst.Continue)) and self.loops:
            self.transfers += 1
            if isinstance(node, cst.Break):
                self.loops[-1].breaks.extend((src, "break") for src, _ in frontier)
            else:
                self._connect(
                    [(src, "continue") for src, _ in frontier], self.loops[-1].node, "back"
                )
            return []
        return self._expr(node, frontier)

    def _if(self, node: cst.If, frontier: list[Pending]) -> list[Pending]:
        patch = self.ix.patch_test(node.test, self.ctx_names[-1])
        if patch is None:
            frontier = self._expr(node.test, frontier)
        mark = self._mark()
        if patch is not None:
            patch_id, negated = patch
            call = node.test.expression if isinstance(node.test, cst.UnaryOperation) else node.test
            first = call.args[0].value if isinstance(call, cst.Call) and call.args else None
            recorded, computed = self.ix.recorded_text(first, "patch id", "")
            decision = self._add(
                "patch",
                f"patched({patch_id})",
                Op("patch", "", recorded=recorded, computed=computed),
                call,
            )
            yes, no = ("old code", "new code") if negated else ("new code", "old code")
        else:
            decision = self._add("decision", self.ix.text(node.test))
            yes, no = "yes", "no"
        self._connect(frontier, decision)
        self.inside.append(f"if {self.ix.text(node.test, 40)}: {yes}")
        outs = self._suite(node.body, [(decision, yes)])
        self.inside[-1] = f"if {self.ix.text(node.test, 40)}: {no}"
        orelse = node.orelse
        if isinstance(orelse, cst.If):
            outs = outs + self._if(orelse, [(decision, no)])
        elif isinstance(orelse, cst.Else):
            outs = outs + self._suite(orelse.body, [(decision, no)])
        else:
            outs = outs + [(decision, no)]
        self.inside.pop()
        if patch is None and not self._ops_since(mark) and self.transfers == mark[4]:
            self._rollback(mark)
            return frontier
        return outs

    def _loop(self, node: cst.For | cst.While, frontier: list[Pending]) -> list[Pending]:
        if isinstance(node, cst.For):
            frontier = self._expr(node.iter, frontier)
            header = f"for {self.ix.text(node.target)} in {self.ix.text(node.iter)}"
            forever = False
        else:
            frontier = self._expr(node.test, frontier)
            header = f"while {self.ix.text(node.test)}"
            forever = isinstance(node.test, cst.Name) and node.test.value == "True"
        mark = self._mark()
        outs = self._loop_body(header, frontier, lambda entry: self._suite(node.body, entry))
        if forever:
            outs = [p for p in outs if p[1] != "done"]
        if node.orelse is not None:
            done = [p for p in outs if p[1] == "done"]
            outs = [p for p in outs if p[1] != "done"] + self._suite(node.orelse.body, done)
        if not self._ops_since(mark) and self.transfers == mark[4]:
            self._rollback(mark)
            return frontier
        return outs

    def _loop_body(
        self, header: str, frontier: list[Pending], body: Callable[[list[Pending]], list[Pending]]
    ) -> list[Pending]:
        """Header node, boxed body, back edge; returns the ``done`` exit and the breaks."""
        head = self._add("loop", header)
        self._connect(frontier, head)
        self._open("loop", header)
        self.inside.append(f"loop: {header}")
        loop = _Loop(head)
        self.loops.append(loop)
        ends = body([(head, "each")])
        self._connect([(src, "next") for src, _ in ends], head, "back")
        self.loops.pop()
        self.inside.pop()
        self.groups.pop()
        return [(head, "done"), *loop.breaks]

    def _try(self, node: cst.Try | cst.TryStar, frontier: list[Pending]) -> list[Pending]:
        if not node.handlers:
            outs = self._suite(node.body, frontier)
            return self._suite(node.finalbody.body, outs) if node.finalbody else outs
        mark = self._mark()
        group = self._open("try", "try")
        self.inside.append("try")
        outs = self._suite(node.body, frontier)
        self.inside.pop()
        self.groups.pop()
        has_body = bool(self.graph.members(group))
        if node.orelse is not None:
            outs = self._suite(node.orelse.body, outs)
        for handler in node.handlers:
            label = "except" + (f" {self.ix.text(handler.type, 40)}" if handler.type else "")
            entry = self._add("except", label)
            if has_body:
                self.graph.edges.append(Edge(group, entry, "raises", "dashed"))
            else:
                self._connect(frontier, entry, "dashed")
            self.inside.append(label)
            outs = outs + self._suite(handler.body, [(entry, "")])
            self.inside.pop()
        if node.finalbody is not None:
            outs = self._suite(node.finalbody.body, outs)
        if not self._ops_since(mark) and self.transfers == mark[4]:
            self._rollback(mark)
            return frontier
        if not has_body:  # an empty try box draws nothing useful
            self.graph.groups[:] = [g for g in self.graph.groups if g.id != group]
        return outs

    def _match(self, node: cst.Match, frontier: list[Pending]) -> list[Pending]:
        frontier = self._expr(node.subject, frontier)
        mark = self._mark()
        decision = self._add("decision", f"match {self.ix.text(node.subject)}")
        self._connect(frontier, decision)
        outs: list[Pending] = []
        exhaustive = False
        self.indents.append(
            node.indent if node.indent is not None else self.ix.module.default_indent
        )
        for case in node.cases:
            label = f"case {self.ix.text(case.pattern, 30)}"
            exhaustive = exhaustive or (
                isinstance(case.pattern, cst.MatchAs)
                and case.pattern.pattern is None
                and case.guard is None
            )
            self.inside.append(label)
            outs += self._suite(case.body, [(decision, label)])
            self.inside.pop()
        self.indents.pop()
        if not exhaustive:
            outs.append((decision, "no match"))
        if not self._ops_since(mark) and self.transfers == mark[4]:
            self._rollback(mark)
            return frontier
        return outs

    # ------------------------------------------------------------------ expressions
    def _expr(self, node: cst.CSTNode, frontier: list[Pending]) -> list[Pending]:
        """Ops in an expression, in evaluation order (arguments before the call)."""
        if isinstance(node, (cst.Lambda, cst.FunctionDef, cst.ClassDef)):
            return frontier
        if isinstance(node, cst.Call):
            return self._call(node, frontier)
        if isinstance(node, _COMPREHENSIONS):
            return self._comprehension(node, frontier)
        for child in _code_children(node):
            frontier = self._expr(child, frontier)
        return frontier

    def _call(self, node: cst.Call, frontier: list[Pending]) -> list[Pending]:
        scope = self.ctx_names[-1]
        op = self.ix.classify(node, scope, self.info, self.parallel_depth > 0)
        if op is not None and op.kind == "parallel":
            return self._parallel(node, frontier, op)
        if op is None:
            target = self.ix.helper(node, self.info, self.inlining)
            if target is not None:
                for arg in node.args:
                    frontier = self._expr(arg.value, frontier)
                return self._inline(target, node, frontier)
            for child in _code_children(node):
                frontier = self._expr(child, frontier)
            return frontier
        for arg in node.args:
            frontier = self._expr(arg.value, frontier)
        records = ""
        if op.kind == "wait" and self.info.dialect == TEMPORAL:  # workflow.wait_condition
            timeout = _wait_timeout(node)
            records = "none" if timeout is None else "sleep"
            computed = ""
            if timeout is not None and not self._surely_set(timeout):
                computed = (
                    f"whether this wait_condition starts a timer depends on its timeout "
                    f"({self.ix.text(timeout, 30)}) at run time: None starts none"
                )
            op = replace(op, recorded="", computed=computed)  # a timer: recorded by its kind
        return self._op(op, frontier, node, records)

    def _surely_set(self, value: cst.BaseExpression) -> bool:
        """A timeout that cannot be None: a number, a call (``timedelta(...)``), arithmetic,
        or a module-level or imported name; a local or an attribute may hold None."""
        if isinstance(value, (cst.Integer, cst.Float, cst.Call, cst.BinaryOperation)):
            return True
        if isinstance(value, cst.Name) and all(
            value.value not in scope.names for scope in self.ix.resolver.stack
        ):
            return value.value in _module_assigned(self.ix.module)
        if isinstance(value, (cst.Name, cst.Attribute)):
            return self.ix.resolver.resolve(value) is not None
        return False

    def _op(
        self, op: Op, frontier: list[Pending], at: cst.CSTNode, records: str = ""
    ) -> list[Pending]:
        node_id = self._add(op.kind, op.name, op, at, records)
        self._connect(frontier, node_id)
        if op.compensation:
            undo = self._add("compensation", f"undo: {op.compensation}")
            self.graph.edges.append(Edge(node_id, undo, "compensate", "dashed"))
        return [(node_id, "")]

    def _parallel(self, node: cst.Call, frontier: list[Pending], op: Op) -> list[Pending]:
        mark = self._mark()
        self._open("parallel", "parallel")
        self.inside.append("parallel")
        self.parallel_depth += 1
        outs: list[Pending] = []
        for arg in node.args:
            if arg.keyword is not None:
                continue
            branch = self._expr(arg.value, frontier)
            if branch == frontier and op.name:  # ctx.parallel(*calls): members unknown here
                member = Op(
                    self.ix.default_kind(self.info),
                    ("*" if arg.star else "") + self.ix.text(arg.value, 40),
                )
                branch = self._op(member, frontier, arg.value)
            outs.extend(p for p in branch if p not in outs)
        self.parallel_depth -= 1
        self.inside.pop()
        self.groups.pop()
        if not self._ops_since(mark):
            self._rollback(mark)
            for child in _code_children(node):
                frontier = self._expr(child, frontier)
            return frontier
        return outs

    def _comprehension(self, node: cst.BaseComp, frontier: list[Pending]) -> list[Pending]:
        clauses: list[cst.CompFor] = []
        clause: cst.CompFor | None = node.for_in
        while clause is not None:
            clauses.append(clause)
            clause = clause.inner_for_in
        frontier = self._expr(clauses[0].iter, frontier)
        header = " ".join(
            f"for {self.ix.text(c.target)} in {self.ix.text(c.iter)}" for c in clauses
        )
        mark = self._mark()
        parts = (
            [node.key, node.value]
            if isinstance(node, cst.DictComp)
            else [cast(cst.ListComp | cst.SetComp | cst.GeneratorExp, node).elt]
        )

        def body(entry: list[Pending]) -> list[Pending]:
            for part in parts:
                entry = self._expr(part, entry)
            return entry

        outs = self._loop_body(header, frontier, body)
        if not self._ops_since(mark):
            self._rollback(mark)
            return frontier
        return [p for p in outs if p[1] == "done"]

    def _inline(self, target: Helper, call: cst.Call, frontier: list[Pending]) -> list[Pending]:
        qual, func = target.qual, target.func
        mark = self._mark()
        passed = self._passed_ctx(func, call, target.method)
        caller, self.ix = self.ix, target.index
        saved_stack, saved_loops = self.ix.resolver.stack, self.loops
        saved_indents = self.indents
        self.indents = (
            [self.ix.module.default_indent] if func is not self.ix.defs.get(func.name.value) else []
        )
        self._enter(func, passed)
        self._open("helper", f"{func.name.value}()")
        self.inside.append(f"{func.name.value}()")
        self.returns.append([])
        self.loops = []
        self.inlining.append(qual)
        outs = self._suite(func.body, frontier)
        outs = outs + self.returns.pop()
        self.inlining.pop()
        self.loops = saved_loops
        self.indents = saved_indents
        self.inside.pop()
        self.groups.pop()
        self.ctx_names.pop()
        self.ix.resolver.stack = saved_stack
        self.ix = caller
        if not self._ops_since(mark):
            self._rollback(mark)
            return frontier
        return outs

    # ------------------------------------------------------------------ scopes
    def _enter(self, func: cst.FunctionDef, ctx_names: frozenset[str]) -> None:
        """Make ``func``'s own names visible to the resolver (module scope below it)."""
        bindings = BindingCollector(
            self.ix.module_name, self.ix.is_package, f"{self.ix.module_name}.{func.name.value}"
        ).statements(_body(func.body))
        for name, _ in param_bindings(func.params):
            bindings.names[name] = None
            bindings.aliases.pop(name, None)
        self.ix.resolver.stack = [bindings]
        self.ctx_names.append(ctx_names)

    def _passed_ctx(self, func: cst.FunctionDef, call: cst.Call, method: bool) -> frozenset[str]:
        """The helper's parameters that receive the workflow context at this call."""
        params = [name for name, _ in param_bindings(func.params)]
        if method and params:
            params = params[1:]
        names = set(self.ix.context_params(func))
        outer = self.ctx_names[-1]
        for index, arg in enumerate(call.args):
            if not (isinstance(arg.value, cst.Name) and arg.value.value in outer):
                continue
            if arg.keyword is not None:
                names.add(arg.keyword.value)
            elif not arg.star and index < len(params):
                names.add(params[index])
        return frozenset(names)


def _module_assigned(module: cst.Module) -> frozenset[str]:
    """Names a module assigns at its top level to something other than None."""
    names: set[str] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                if isinstance(small.value, cst.Name) and small.value.value == "None":
                    continue
                targets = (
                    [t.target for t in small.targets]
                    if isinstance(small, cst.Assign)
                    else [small.target]
                )
                names.update(t.value for t in targets if isinstance(t, cst.Name))
    return frozenset(names)


def _wait_timeout(call: cst.Call) -> cst.BaseExpression | None:
    """The timeout given to ``wait_condition(fn, timeout)``, unless none is (or the literal
    None): with one, Temporal waits with ``asyncio.wait_for``, which starts a timer."""
    for index, arg in enumerate(call.args):
        named = arg.keyword.value if arg.keyword is not None else None
        if named == "timeout" or (named is None and index == 1 and not arg.star):
            value = arg.value
            return None if isinstance(value, cst.Name) and value.value == "None" else value
    return None


def _code_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The children that can hold a call, in source order: the code-holding fields
    (``node.children`` rebuilds the node to list its whitespace too, ~10x slower), with a
    conditional expression's parts in the order they are written."""
    if isinstance(node, cst.IfExp):
        return [node.body, node.test, node.orelse]
    return semantic_children(node)


def _body(suite: cst.BaseSuite) -> tuple[cst.CSTNode, ...]:
    return (
        tuple(suite.body)
        if isinstance(suite, (cst.IndentedBlock, cst.SimpleStatementSuite))
        else ()
    )
