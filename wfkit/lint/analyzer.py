"""One pass over one parsed file: scopes, names, durable calls, and every rule's hooks.

The analyzer walks the tree itself (semantic children only, no node rebuilding as in libcst's
``visit``); returning False from ``on_visit`` skips a subtree, so step bodies and module-level
statements are never walked. It keeps explicit stacks (function/class frames, exempt regions,
replay guards) instead of libcst metadata, and dispatches to rule hooks through per-type tables
built once per file. Rules see only code that may be workflow code; the call graph later decides
which functions really are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import libcst as cst

from wfkit.lint.hit import Hit
from wfkit.lint.rule import LintRule
from wfkit.lint.services import Frame, RuleServices
from wfkit.lint.settings import AnalyzerSettings
from wfkit.lint.summary import FileSummary, FunctionSummary, RawFinding
from wfkit.static import knowledge as kn
from wfkit.static.discovery import (
    function_kind,
    is_temporal_workflow_class,
    registered_handlers,
)
from wfkit.static.nodes import child_fields, semantic_children
from wfkit.static.positions import resolve_positions
from wfkit.static.resolver import (
    BindingCollector,
    Resolver,
    annotation_kind,
    attribute_kinds,
    param_bindings,
)

_CALLABLE_FIRST = frozenset({"step", "call"})
# Consumers whose result does not depend on the order of their (first) argument.
_ORDER_INSENSITIVE = frozenset(
    f"builtins.{n}"
    for n in ("sorted", "sum", "any", "all", "min", "max", "set", "frozenset", "len")
)


class FileAnalyzer(RuleServices):
    """Analyzes one module; ``run()`` returns its :class:`FileSummary`."""

    def __init__(
        self, summary: FileSummary, rules: Sequence[LintRule], settings: AnalyzerSettings
    ) -> None:
        self.summary = summary
        self.module_name = summary.module
        self.settings = settings
        self.knowledge = settings.knowledge
        self.rules = list(rules)
        self.frames: list[Frame] = []
        self.unit: Frame | None = None  # innermost function frame when active
        self.exempt_depth = 0
        self._decorating: list[Frame] = []  # the function a decorator being visited runs in
        self.guard_depth = 0
        self.lambda_depth = 0
        self._exempt_nodes: set[int] = set()
        self._guard_blocks: set[int] = set()
        self._handled: set[int] = set()
        self._ordered: set[int] = set()  # first arguments of sorted(), sum(), set()...
        self._awaited: set[int] = set()  # expressions under a direct ``await``
        self._step_lambdas: set[int] = set()
        self._pending: list[tuple[RawFinding, cst.CSTNode, cst.CSTNode, str]] = []
        # First call of each name per function: (function, name, call, statement, indent)
        self._call_sites: dict[
            tuple[int, str], tuple[FunctionSummary, str, cst.Call, cst.CSTNode, str]
        ] = {}
        self._stmt: cst.CSTNode = cst.Pass()
        self._indents: list[str] = []  # blocks' and match cases' indents (positions)
        self._match_indents: list[str] = []
        self.source_text = ""
        self.module_classes: set[str] = set()
        self.module_waitables: dict[str, str] = {}  # READY = threading.Event() -> its class
        self._hit_rules: dict[str, LintRule] = {r.CODE: r for r in self.rules}
        self._rule_visit: dict[type, list] = {}
        self._rule_leave: dict[type, list] = {}
        for rule in self.rules:
            for attr in dir(type(rule)):
                if attr.startswith(("visit_", "leave_")):
                    kind, _, type_name = attr.partition("_")
                    node_type = getattr(cst, type_name, None)
                    if node_type is not None:
                        table = self._rule_visit if kind == "visit" else self._rule_leave
                        table.setdefault(node_type, []).append(getattr(rule, attr))
        self._engine_visit: dict[type[cst.CSTNode], Callable[[Any], bool | None]] = {
            cst.FunctionDef: self._visit_function,
            cst.ClassDef: self._visit_class,
            cst.Lambda: self._visit_lambda,
            cst.With: self._visit_with,
            cst.If: self._visit_if,
            cst.IndentedBlock: self._visit_indented,
            cst.SimpleStatementSuite: self._visit_block,
            cst.SimpleStatementLine: self._visit_line,
            cst.Call: self._visit_call,
            cst.Attribute: self._visit_attribute,
            cst.Subscript: self._visit_subscript,
            cst.Match: self._visit_match,
            cst.MatchCase: self._visit_case,
            cst.Decorator: self._visit_decorator,
            cst.Await: self._visit_await,
        }
        # Leaves nobody hooks (names, literals) are not walked at all: most nodes are leaves.
        hooked = set(self._rule_visit) | set(self._rule_leave)
        self._walked_types = _NODE_TYPES - (_LEAVES - hooked)
        self._engine_leave: dict[type[cst.CSTNode], Callable[[Any], None]] = {
            cst.FunctionDef: self._leave_function,
            cst.ClassDef: self._leave_class,
            cst.Lambda: self._leave_lambda,
            cst.With: self._leave_exemptable,
            cst.IndentedBlock: self._leave_indented,
            cst.SimpleStatementSuite: self._leave_block,
            cst.Match: self._leave_match,
            cst.MatchCase: self._leave_case,
            cst.Decorator: self._leave_decorator,
        }

    # ----------------------------------------------------------------- driving
    def run(self, module: cst.Module, source: str | None = None) -> FileSummary:
        """Analyze ``module`` (parsed from ``source``, regenerated from the tree if omitted)."""
        self.cst_module = module
        self.source_text = source if source is not None else module.code
        collector = BindingCollector(self.module_name, self.summary.is_package, self.module_name)
        self.module_bindings = collector.statements(module.body)
        self.resolver = Resolver(self.module_bindings)
        self.module_defs = self._module_defs(module.body)
        self.module_classes = {s.name.value for s in module.body if isinstance(s, cst.ClassDef)}
        self.module_waitables = {
            name: qual
            for name, callee in self.module_bindings.constructed.items()
            if (qual := self.resolver.resolve(callee)) in kn.BLOCKING_WAITS
        }
        own = self.module_name + "."
        self.summary.exports = {
            name: value
            for name, value in self.module_bindings.names.items()
            if value is not None and value != own + name
        }
        for statement in module.body:
            self._walk(statement)
        # A call of a function defined here never leaves the file: only the others need a place.
        sites = [s for s in self._call_sites.values() if s[1] not in self.summary.functions]
        if self._pending or sites:
            positions = resolve_positions(
                module,
                self.source_text,
                [(node, stmt, indent) for _, node, stmt, indent in self._pending]
                + [(call, stmt, indent) for _, _, call, stmt, indent in sites],
            )
            for raw, node, _, _ in self._pending:
                where = positions[node]
                raw.line, raw.column = where.start.line, where.start.column + 1
                raw.end_line, raw.end_column = where.end.line, where.end.column + 1
            for function, name, call, _, _ in sites:
                where = positions[call]
                function.call_sites[name] = [
                    where.start.line,
                    where.start.column + 1,
                    where.end.line,
                    where.end.column + 1,
                ]
        self.summary.step_refs = sorted(set(self.summary.step_refs))
        for function in self.summary.functions.values():
            function.calls = sorted(set(function.calls))
        self.summary.parsed = True
        return self.summary

    def _walk(self, node: cst.CSTNode) -> None:
        """Pre-order walk over semantic children only (no whitespace or tokens), without the
        node rebuilding libcst's ``visit`` does; same on_visit/on_leave protocol."""
        node_type = type(node)
        statement = node_type in _STATEMENTS
        if statement:
            saved, self._stmt = self._stmt, node
        if self.on_visit(node):
            nodes = self._walked_types
            for name in child_fields(node_type):
                value = getattr(node, name)
                value_type = type(value)
                if value_type in nodes:
                    self._walk(value)
                elif value_type is tuple or value_type is list:
                    for item in value:
                        if type(item) in nodes:
                            self._walk(item)
        self.on_leave(node)
        if statement:
            self._stmt = saved

    def on_visit(self, node: cst.CSTNode) -> bool:
        handler = self._engine_visit.get(type(node))
        if handler is not None and handler(node) is False:
            return False
        if self.unit is not None:
            hooks = self._rule_visit.get(type(node))
            if hooks:
                for hook in hooks:
                    hook(node, self)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self.unit is not None:
            hooks = self._rule_leave.get(type(original_node))
            if hooks:
                for hook in hooks:
                    hook(original_node, self)
        handler = self._engine_leave.get(type(original_node))
        if handler is not None:
            handler(original_node)

    # ----------------------------------------------------------------- scopes
    def _module_defs(self, body: Iterable[cst.CSTNode]) -> dict[str, tuple[str, bool]]:
        defs: dict[str, tuple[str, bool]] = {}
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef):
                kind, _ = self._decorator_kind(stmt, in_temporal_class=False)
                defs[stmt.name.value] = (kind, stmt.asynchronous is not None)
        return defs

    def _decorator_kind(self, node: cst.FunctionDef, in_temporal_class: bool) -> tuple[str, str]:
        settings = self.settings
        return function_kind(
            node,
            self.resolver.resolve,
            in_temporal_class,
            settings.extra_workflow_decorators,
            settings.extra_step_decorators,
        )

    def _enclosing(self) -> Frame | None:
        return self.frames[-1] if self.frames else None

    def _refresh_unit(self) -> None:
        top = self.frames[-1] if self.frames else None
        if self._decorating:  # a decorator's code belongs to where it runs
            top = self._decorating[-1]
        self.unit = (
            top
            if (
                top is not None
                and top.kind != "class"
                and top.kind != "step"
                and self.exempt_depth == 0
            )
            else None
        )

    def _visit_function(self, node: cst.FunctionDef) -> bool:
        parent = self._enclosing()
        qual = f"{parent.qualname if parent else self.module_name}.{node.name.value}"
        display = qual[len(self.module_name) + 1 :]
        if qual in self.summary.functions:
            # Defined again under the same name: the earlier definition keeps its own entry
            # (a workflow registered twice, an overload stub): every definition is checked.
            earlier = self.summary.functions.pop(qual)
            copies = sum(1 for q in self.summary.functions if q.startswith(qual + "#"))
            earlier.qualname = f"{qual}#{copies + 1}"
            self.summary.functions[earlier.qualname] = earlier
        in_temporal = parent is not None and parent.temporal_class
        if self.exempt_depth or (parent is not None and parent.kind == "step"):
            kind, dialect = "step", ""
        else:
            kind, dialect = self._decorator_kind(node, in_temporal)
        summary = FunctionSummary(qual, display, kind, dialect)
        self.summary.functions[qual] = summary
        if (
            parent is not None
            and parent.kind != "class"
            and parent.summary is not None
            and kind == "helper"
        ):
            # A function defined in a function can run whenever its parent runs (called,
            # passed on, registered as a callback), like a lambda there: its code counts as
            # its parent's, workflow code when the parent is.
            parent.summary.calls.append(qual)
        in_class = parent is not None and parent.kind == "class"
        frame = Frame(
            qual,
            kind,
            dialect,
            node.asynchronous is not None,
            summary=summary,
            class_qual=parent.qualname if parent is not None and in_class else "",
            owner=parent if in_class else None,
        )
        self.frames.append(frame)
        if kind == "step":
            self._refresh_unit()
            return False
        bindings = BindingCollector(self.module_name, self.summary.is_package, qual).statements(
            _body_of(node.body)
        )
        params = param_bindings(node.params)
        if (
            in_class
            and params
            and any(
                self.resolver.resolve(d.decorator) == "builtins.classmethod"
                for d in node.decorators
            )
        ):
            frame.class_param = params[0][0]
        for index, (name, param) in enumerate(params):
            bindings.names[name] = None
            bindings.aliases.pop(name, None)
            container = annotation_kind(param)
            if container == "dict":
                bindings.dicts.add(name)
            elif container == "set":
                bindings.sets.add(name)
            elif container == "path":
                bindings.paths.add(name)
            if (
                name == "ctx"
                or (
                    param.annotation is not None
                    and (self.resolver.resolve(param.annotation.annotation) or "").endswith(
                        "wfkit.Context"
                    )
                )
                or (index == 0 and kind == "workflow" and dialect == kn.WFKIT)
            ):
                frame.ctx_names.append(name)
        self.resolver.push(bindings)
        frame.pushed_scope = True
        self._refresh_unit()
        return True

    def _leave_function(self, node: cst.FunctionDef) -> None:
        frame = self.frames.pop()
        if frame.pushed_scope:
            self.resolver.pop()
        self._refresh_unit()

    def _visit_class(self, node: cst.ClassDef) -> None:
        parent = self._enclosing()
        qual = f"{parent.qualname if parent else self.module_name}.{node.name.value}"
        temporal = is_temporal_workflow_class(node, self.resolver.resolve)
        bases = [
            b
            for b in (self.resolver.resolve(arg.value) for arg in node.bases if arg.keyword is None)
            if b
        ]
        if bases:
            self.summary.bases[qual] = bases
        kind = "step" if (self.exempt_depth or (parent and parent.kind == "step")) else "class"
        self.frames.append(
            Frame(
                qual,
                kind,
                temporal_class=temporal,
                attr_kinds=attribute_kinds(node) if kind == "class" else {},
            )
        )
        self._refresh_unit()

    def _leave_class(self, node: cst.ClassDef) -> None:
        self.frames.pop()
        self._refresh_unit()

    def _visit_lambda(self, node: cst.Lambda) -> None:
        self.lambda_depth += 1
        if id(node) in self._step_lambdas:
            self._enter_exempt(node)

    def _leave_lambda(self, node: cst.Lambda) -> None:
        self.lambda_depth -= 1
        self._leave_exemptable(node)

    def _visit_with(self, node: cst.With) -> None:
        if self.unit is None:
            return
        for item in node.items:
            if (
                isinstance(item.item, cst.Call)
                and self.resolver.resolve(item.item.func) == kn.SANDBOX_EXEMPT
            ):
                self._enter_exempt(node)
                return

    def _visit_await(self, node: cst.Await) -> None:
        self._awaited.add(id(node.expression))

    def _visit_decorator(self, node: cst.Decorator) -> None:
        """A decorator runs where its function is defined, not in the function's body: on a
        module-level function or a method (``@workflow(workflow_id=lambda ...)``,
        ``@workflow.signal(name=...)``) that is import time, never replayed, so not workflow
        code. On a function nested in another function it runs in that function, each time it
        runs: its findings are that function's (workflow code only if that function is)."""
        parent = self.frames[-2] if len(self.frames) >= 2 else None
        if parent is None or parent.kind == "class":
            self._enter_exempt(node)
            return
        self._decorating.append(parent)
        self._refresh_unit()

    def _leave_decorator(self, node: cst.Decorator) -> None:
        if id(node) in self._exempt_nodes:
            self._leave_exemptable(node)
            return
        self._decorating.pop()
        self._refresh_unit()

    def _enter_exempt(self, node: cst.CSTNode) -> None:
        self._exempt_nodes.add(id(node))
        self.exempt_depth += 1
        self._refresh_unit()

    def _leave_exemptable(self, node: cst.CSTNode) -> None:
        if id(node) in self._exempt_nodes:
            self._exempt_nodes.discard(id(node))
            self.exempt_depth -= 1
            self._refresh_unit()

    def _visit_if(self, node: cst.If) -> None:
        if self.unit is not None and _mentions(node.test, kn.REPLAY_GUARD_ATTRS):
            self._guard_blocks.add(id(node.body))

    def _visit_indented(self, node: cst.IndentedBlock) -> None:
        indent = node.indent
        self._indents.append(self.cst_module.default_indent if indent is None else indent)
        self._visit_block(node)

    def _leave_indented(self, node: cst.IndentedBlock) -> None:
        self._indents.pop()
        self._leave_block(node)

    # A match statement indents its cases (but not its subject) by its own ``indent``.
    def _visit_match(self, node: cst.Match) -> None:
        indent = node.indent
        self._match_indents.append(self.cst_module.default_indent if indent is None else indent)

    def _leave_match(self, node: cst.Match) -> None:
        self._match_indents.pop()

    def _visit_case(self, node: cst.MatchCase) -> None:
        self._indents.append(self._match_indents[-1])

    def _leave_case(self, node: cst.MatchCase) -> None:
        self._indents.pop()

    def _visit_block(self, node: cst.CSTNode) -> None:
        if id(node) in self._guard_blocks:
            self.guard_depth += 1

    def _leave_block(self, node: cst.CSTNode) -> None:
        if id(node) in self._guard_blocks:
            self._guard_blocks.discard(id(node))
            self.guard_depth -= 1

    def _visit_line(self, node: cst.SimpleStatementLine) -> bool:
        return self.unit is not None

    # ----------------------------------------------------------------- names and calls
    def _visit_call(self, node: cst.Call) -> None:
        unit = self.unit
        if unit is None or unit.summary is None:  # every unit has its summary
            return
        func = node.func
        self._handled.add(id(func))
        qual = self.resolver.resolve(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
        if qual is not None:
            entry = self.knowledge.lookup(qual)
            if entry is not None:
                self._dispatch(Hit(func, qual, entry, node))
            elif qual in _ORDER_INSENSITIVE and node.args:
                self._ordered.add(id(node.args[0].value))
            elif not qual.startswith("builtins.") and not kn.is_framework_api(qual):
                unit.summary.calls.append(qual)
                self._note_call_site(unit, qual, node)
            if qual in kn.TEMPORAL_HANDLER_SETTERS:
                self._note_handlers(node, qual, unit)
        elif isinstance(func, cst.Attribute):
            self._method_call(node, func, unit)
        self._note_step_refs(node, func, qual, unit)

    def _note_handlers(self, node: cst.Call, qual: str, unit: Frame) -> None:
        """A handler registered at run time runs as workflow code whenever the code that
        registers it does: it counts as called there, so the chain names it. A lambda or a
        nested def is already the registering function's code."""
        for handler in registered_handlers(node, qual):
            if not isinstance(handler, (cst.Name, cst.Attribute)):
                continue
            target = self.resolver.resolve(handler)
            if (
                target is None
                and isinstance(handler, cst.Attribute)
                and isinstance(handler.value, cst.Name)
                and handler.value.value in ("self", "cls")
                and unit.class_qual
            ):
                target = f"{unit.class_qual}.{handler.attr.value}"
            if (
                target is not None
                and not target.startswith("builtins.")
                and not kn.is_framework_api(target)
                and unit.summary is not None
            ):
                unit.summary.calls.append(target)
                self._note_call_site(unit, target, node)  # the registration is the call

    def _method_call(self, node: cst.Call, func: cst.Attribute, unit: Frame) -> None:
        receiver, method = func.value, func.attr.value
        if isinstance(receiver, cst.Name):
            if receiver.value in ("self", "cls") and unit.class_qual and unit.summary is not None:
                qual = f"{unit.class_qual}.{method}"
                unit.summary.calls.append(qual)
                self._note_call_site(unit, qual, node)
                return
            if (
                method in kn.LOGGER_METHODS
                and receiver.value in self.module_bindings.loggers
                and self.resolver.is_module_level(receiver.value)
            ):
                self._hit("logging.Logger." + method, func, node)
                return
            waitable = self.module_waitables.get(receiver.value)
            if (
                waitable is not None
                and method in kn.BLOCKING_WAITS[waitable]
                and self.resolver.is_module_level(receiver.value)
            ):
                self._hit(f"{waitable}.{method}", func, node)
                return
        if method in kn.EXECUTOR_METHODS:
            self._hit("asyncio.AbstractEventLoop." + method, func, node)
        elif method in kn.PATH_LISTING_METHODS or method in kn.PATH_IO_METHODS:
            base = receiver.func if isinstance(receiver, cst.Call) else None
            base_qual = self.resolver.resolve(base) if base is not None else None
            if (
                (base_qual or "").startswith("pathlib.")
                or (isinstance(receiver, cst.Name) and self.resolver.is_path_name(receiver.value))
                or (method in ("iterdir", "rglob") and base_qual is None)
            ):
                self._hit("pathlib.Path." + method, func, node)

    def _note_call_site(self, unit: Frame, qual: str, node: cst.Call) -> None:
        """Remember the first call of ``qual`` in the function (the walk is in source order);
        its place is resolved with the findings' after the walk, if it may leave the file."""
        summary = unit.summary
        if summary is not None:
            key = (id(summary), qual)
            if key not in self._call_sites:
                self._call_sites[key] = (summary, qual, node, self._stmt, "".join(self._indents))

    def _hit(self, qual: str, node: cst.BaseExpression, call: cst.Call | None) -> None:
        entry = self.knowledge.lookup(qual)
        if entry is not None:
            self._dispatch(Hit(node, qual, entry, call))

    def _dispatch(self, hit: Hit) -> None:
        rule = self._hit_rules.get(hit.entry.code)
        if rule is not None:
            rule.on_hit(hit, self)

    def _note_step_refs(
        self, node: cst.Call, func: cst.BaseExpression, qual: str | None, unit: Frame
    ) -> None:
        starts_step = False
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value in unit.ctx_names
            and func.attr.value in _CALLABLE_FIRST
        ):
            starts_step = True
        elif qual is not None and (qual in kn.TEMPORAL_ACTIVITY_STARTS):
            starts_step = True
        for index, arg in enumerate(node.args):
            positional_first = starts_step and index == 0 and arg.keyword is None
            is_comp = arg.keyword is not None and arg.keyword.value == "compensate"
            if not (positional_first or is_comp):
                continue
            value = arg.value
            if isinstance(value, cst.Lambda):
                self._step_lambdas.add(id(value))
            elif isinstance(value, (cst.Name, cst.Attribute)):
                target = self.resolver.resolve(value)
                if (
                    target is None
                    and isinstance(value, cst.Attribute)
                    and isinstance(value.value, cst.Name)
                    and value.value.value == "self"
                    and unit.class_qual
                ):
                    target = f"{unit.class_qual}.{value.attr.value}"
                if target is not None:
                    self.summary.step_refs.append(target)

    def _visit_attribute(self, node: cst.Attribute) -> None:
        if self.unit is None:
            return
        if id(node) in self._handled:
            if isinstance(node.value, cst.Attribute):
                self._handled.add(id(node.value))
            return
        if isinstance(node.value, cst.Attribute):
            self._handled.add(id(node.value))
        qual = self.resolver.resolve(node)
        if qual is not None:
            entry = self.knowledge.lookup(qual)
            if entry is not None and not entry.condition:
                self._dispatch(Hit(node, qual, entry, None))

    def _visit_subscript(self, node: cst.Subscript) -> None:
        if self.unit is not None and isinstance(node.value, cst.Name):
            qual = self.resolver.resolve(node.value)
            entry = self.knowledge.lookup(qual) if qual else None
            if entry is not None and entry.code == "WF109":
                self._dispatch(Hit(node.value, qual or "", entry, None))


def _body_of(suite: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    return suite.body if isinstance(suite, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ()


def _mentions(node: cst.CSTNode, names: frozenset[str]) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name) and current.value in names:
            return True
        stack.extend(semantic_children(current))
    return False


def _subclasses(base: type) -> set[type]:
    out: set[type] = set()
    stack: list[type] = [base]
    while stack:
        found: list[type] = stack.pop().__subclasses__()
        for subclass in found:
            if subclass not in out:
                out.add(subclass)
                stack.append(subclass)
    return out


_NODE_TYPES = frozenset(
    t for t in _subclasses(cst.CSTNode) if not getattr(t, "__abstractmethods__", None)
)
_STATEMENTS = frozenset(
    t
    for t in _subclasses(cst.BaseSmallStatement) | _subclasses(cst.BaseCompoundStatement)
    if t in _NODE_TYPES
)
_LEAVES = frozenset(
    {
        cst.Name,
        cst.SimpleString,
        cst.Integer,
        cst.Float,
        cst.Imaginary,
        cst.Ellipsis,
        cst.Pass,
        cst.Break,
        cst.Continue,
    }
)
