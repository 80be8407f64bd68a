"""What a module defines, for the skeleton: its workflows, steps, compensations, helpers.

Kept apart from the walker in :mod:`wfkit.static.skeleton` so each stays one job: this module
answers "which durable operation does this call start, and what is it called?" for the three
dialects, using the model's resolver (imports and aliases) and knowledge tables; the walker
turns the answers into control flow.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from wfkit.static import knowledge as kn
from wfkit.static.parse_guard import ParseLimits, check_source
from wfkit.static.resolver import BindingCollector, Resolver, dotted, param_bindings

__all__ = ["Helper", "ModuleIndex", "ModuleSet", "Op", "StepInfo", "WorkflowInfo", "index_module"]


@dataclass(frozen=True)
class Op:
    """A recognised durable call: ``name`` is what the diagram shows (for a parallel call, an
    empty name means its members must be recognisable ops, as for ``asyncio.gather``)."""

    kind: str
    name: str
    detail: str = ""
    compensation: str = ""
    # What the engine records and replay compares, where it differs from ``name`` (a timer
    # by its ``name=``; a function by its ``__name__``); ``computed`` says why the recorded
    # name cannot be known before the run (it is computed at run time).
    recorded: str | None = None
    computed: str = ""

    @property
    def recorded_name(self) -> str:
        return self.name if self.recorded is None else self.recorded


@dataclass(frozen=True)
class StepInfo:
    """A function decorated as a step, activity or transaction, with its decorator options."""

    kind: str
    name: str
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Helper:
    """A function the walker inlines, and the module whose names its body uses."""

    qual: str
    func: cst.FunctionDef
    method: bool
    index: ModuleIndex


@dataclass
class WorkflowInfo:
    """A workflow found in the module; ``func`` is the body that runs (Temporal: ``@run``)."""

    attr: str
    name: str
    dialect: str
    func: cst.FunctionDef
    ctx_names: frozenset[str] = frozenset()
    methods: dict[str, cst.FunctionDef] = field(default_factory=dict)
    signals: dict[str, str] = field(default_factory=dict)  # self attribute -> signal name
    method_steps: dict[str, StepInfo] = field(default_factory=dict)  # self.x() is a step


_TEMPORAL = "temporalio.workflow."
_CHILD_STARTS = frozenset(
    {_TEMPORAL + "execute_child_workflow", _TEMPORAL + "start_child_workflow"}
)
_SIGNAL_DECORATORS = frozenset({_TEMPORAL + "signal", _TEMPORAL + "update"})
_TIMEOUT_KEYWORDS = (
    "timeout",
    "start_to_close_timeout",
    "schedule_to_close_timeout",
    "timeout_seconds",
)
_RETRY_KEYWORDS = ("retry", "retry_policy", "retries_allowed", "max_attempts")


def index_module(
    module: cst.Module,
    module_name: str,
    is_package: bool,
    extra_workflow: frozenset[str],
    extra_step: frozenset[str],
    file_path: str | None = None,
    limits: ParseLimits = ParseLimits(),
) -> ModuleIndex:
    """Collect the module's workflows, steps and compensations (top-level definitions); with
    ``file_path``, helpers and steps imported from the same package are found on disk too
    (each through the parse guard, within ``limits``)."""
    modules = (
        ModuleSet.around(file_path, module_name, is_package, extra_workflow, extra_step, limits)
        if file_path
        else None
    )
    index = ModuleIndex(
        module, module_name, is_package, extra_workflow, extra_step, modules, file_path or ""
    )
    if modules is not None:
        modules.cache[module_name] = index
    return index


class ModuleSet:
    """The drawn module's package on disk: sibling modules parsed on first use, never
    imported, each once (a file that cannot be read or parsed is simply not followed)."""

    def __init__(
        self,
        root: str,
        top: str,
        extra_workflow: frozenset[str],
        extra_step: frozenset[str],
        limits: ParseLimits = ParseLimits(),
        reader: Callable[[str], str | None] | None = None,
        parse: Callable[[str], cst.Module] | None = None,
    ) -> None:
        self.root = root
        self.limits = limits
        # How a module's text is read (default: from disk); ``wfkit compat`` reads the old
        # side's helpers from git objects instead. None: no such file. ``parse`` lets a
        # caller share trees of identical text (both sides of an unchanged helper).
        self.reader = reader or _read_file
        self.parse = parse or cst.parse_module
        self.top = top  # the top-level package; "" for a loose file (same-directory siblings)
        self.extra = (extra_workflow, extra_step)
        self.cache: dict[str, ModuleIndex | None] = {}

    @classmethod
    def around(
        cls,
        file_path: str,
        module_name: str,
        is_package: bool,
        extra_workflow: frozenset[str],
        extra_step: frozenset[str],
        limits: ParseLimits = ParseLimits(),
        reader: Callable[[str], str | None] | None = None,
        parse: Callable[[str], cst.Module] | None = None,
    ) -> ModuleSet:
        root, top = cls.place(file_path, module_name, is_package)
        return cls(root, top, extra_workflow, extra_step, limits, reader, parse)

    @staticmethod
    def place(file_path: str, module_name: str, is_package: bool) -> tuple[str, str]:
        """(root directory, top-level package) of the package around a module's file."""
        parts = module_name.split(".")
        root = os.path.dirname(os.path.abspath(file_path))
        for _ in range(len(parts) - (0 if is_package else 1)):
            root = os.path.dirname(root)
        return root, parts[0] if len(parts) > 1 or is_package else ""

    def index(self, module: str) -> ModuleIndex | None:
        if module in self.cache:
            return self.cache[module]
        self.cache[module] = None
        inside = (
            module == self.top or module.startswith(self.top + ".")
            if self.top
            else "." not in module
        )
        if not inside:
            return None
        base = os.path.join(self.root, *module.split("."))
        for path, is_package in ((base + ".py", False), (os.path.join(base, "__init__.py"), True)):
            try:
                text = self.reader(path)
                if text is None:
                    continue
                if check_source(text, self.limits) is not None:
                    return None  # too large or deep to parse safely: not followed
                tree = self.parse(text)
            except (OSError, UnicodeDecodeError, cst.ParserSyntaxError):
                return None
            index = ModuleIndex(tree, module, is_package, *self.extra, self, path, text)
            self.cache[module] = index
            return index
        return None

    def find(self, qual: str, depth: int = 0) -> tuple[ModuleIndex, str] | None:
        """The module and top-level name ``qual`` is defined as (following re-exports)."""
        module, _, name = qual.rpartition(".")
        index = self.index(module) if module else None
        if index is None:
            return None
        if name in index.defs or name in index.workflows:
            return index, name
        target = index.resolver.module.names.get(name)
        if target and target != qual and depth < 5:
            return self.find(target, depth + 1)
        return None


class ModuleIndex:
    """Definitions of one module and the questions the walker asks about calls."""

    def __init__(
        self,
        module: cst.Module,
        module_name: str,
        is_package: bool,
        extra_workflow: frozenset[str],
        extra_step: frozenset[str],
        modules: ModuleSet | None = None,
        path: str = "",
        source: str | None = None,
    ) -> None:
        self.module = module
        self.modules = modules
        self.path = path  # the file, for positions in findings ("" when unknown)
        self._source = source
        self.module_name = module_name
        self.is_package = is_package
        self.extra_workflow = extra_workflow
        self.extra_step = extra_step
        self.resolver = Resolver(
            BindingCollector(module_name, is_package, module_name).statements(module.body)
        )
        self.defs: dict[str, cst.FunctionDef] = {}
        self.steps: dict[str, StepInfo] = {}
        self.compensations: dict[str, str] = {}
        self.workflows: dict[str, WorkflowInfo] = {}
        self.constants: dict[str, str] = {}  # NAME = "text" at module level
        for statement in module.body:
            if isinstance(statement, cst.SimpleStatementLine):
                self._constant(statement)
            elif isinstance(statement, cst.FunctionDef):
                self._function(statement)
            elif isinstance(statement, cst.ClassDef):
                self._class(statement)

    # ------------------------------------------------------------------ definitions
    def _constant(self, line: cst.SimpleStatementLine) -> None:
        for small in line.body:
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and isinstance(small.value, cst.SimpleString)
                and isinstance(small.value.evaluated_value, str)
            ):
                self.constants[small.targets[0].target.value] = small.value.evaluated_value

    def _decorators(
        self, node: cst.FunctionDef | cst.ClassDef
    ) -> list[tuple[str, cst.BaseExpression, cst.Call | None]]:
        out = []
        for decorator in node.decorators:
            expr = decorator.decorator
            call = expr if isinstance(expr, cst.Call) else None
            func = call.func if call is not None else expr
            text = dotted(func) or ""
            qual = self.resolver.resolve(func) or text
            if text in self.extra_workflow or text in self.extra_step:
                qual = text
            out.append((qual, func, call))
        return out

    def _function(self, node: cst.FunctionDef) -> None:
        name = node.name.value
        self.defs[name] = node
        found = self._definition(node)
        if isinstance(found, WorkflowInfo):
            self.workflows[name] = found
        elif isinstance(found, StepInfo):
            self.steps[name] = found
        elif isinstance(found, str):
            self.compensations[found] = name

    def _definition(
        self, node: cst.FunctionDef, method: bool = False
    ) -> WorkflowInfo | StepInfo | str | None:
        """What a decorated def is: a workflow, a step, or (a str) the compensation of a step."""
        name = node.name.value
        for qual, func, call in self._decorators(node):
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "compensation"
                and isinstance(func.value, cst.Name)
            ):
                return func.value.value
            if qual in kn.WORKFLOW_DECORATORS or qual in self.extra_workflow:
                dialect = kn.WORKFLOW_DECORATORS.get(qual, kn.WFKIT)
                params = [p for p, _ in param_bindings(node.params)][1 if method else 0 :]
                ctx = set(self.context_params(node))
                if dialect == kn.WFKIT and params:
                    ctx.add(params[0])
                return WorkflowInfo(
                    name, _keyword(call, "name") or name, dialect, node, frozenset(ctx)
                )
            if qual in kn.STEP_DECORATORS or qual in self.extra_step:
                kind = {
                    "temporalio.activity.defn": "activity",
                    "dbos.DBOS.transaction": "transaction",
                }.get(qual, "step")
                options = tuple(
                    (arg.keyword.value, self.text(arg.value, 30))
                    for arg in (call.args if call else ())
                    if arg.keyword
                )
                return StepInfo(kind, _keyword(call, "name") or name, options)
        return None

    def _class(self, node: cst.ClassDef) -> None:
        decorators = self._decorators(node)
        match = [call for qual, _, call in decorators if qual == kn.TEMPORAL_CLASS_DECORATOR]
        if not isinstance(node.body, cst.IndentedBlock):
            return
        if not match:
            self._plain_class(node, node.body)
            return
        run: cst.FunctionDef | None = None
        methods: dict[str, cst.FunctionDef] = {}
        signals: dict[str, str] = {}
        for item in node.body.body:
            if not isinstance(item, cst.FunctionDef):
                continue
            quals = self._decorators(item)
            if any(q == _TEMPORAL + "run" for q, _, _ in quals):
                run = item
            elif handler := [c for q, _, c in quals if q in _SIGNAL_DECORATORS]:
                for attr in _self_assignments(item):
                    signals.setdefault(attr, _keyword(handler[0], "name") or item.name.value)
            elif not quals or item.name.value.startswith("_"):
                methods[item.name.value] = item
        if run is not None:
            name = node.name.value
            self.workflows[name] = WorkflowInfo(
                name,
                _keyword(match[0], "name") or name,
                kn.TEMPORAL,
                run,
                frozenset(),
                methods,
                signals,
            )

    def _plain_class(self, node: cst.ClassDef, body: cst.IndentedBlock) -> None:
        """Workflow methods of other classes (DBOS ``@DBOS.dbos_class()``), named
        ``Class.method``; ``self.step_method()`` calls are their steps."""
        methods: dict[str, cst.FunctionDef] = {}
        steps: dict[str, StepInfo] = {}
        found: list[WorkflowInfo] = []
        for item in body.body:
            if isinstance(item, cst.FunctionDef):
                kind = self._definition(item, method=True)
                if isinstance(kind, WorkflowInfo):
                    found.append(kind)
                elif isinstance(kind, StepInfo):
                    steps[item.name.value] = kind
                elif not item.decorators:
                    methods[item.name.value] = item
        for info in found:
            attr = f"{node.name.value}.{info.attr}"
            self.workflows[attr] = WorkflowInfo(
                attr,
                info.name if info.name != info.attr else attr,
                info.dialect,
                info.func,
                info.ctx_names,
                methods,
                method_steps=steps,
            )

    def find(self, name: str) -> WorkflowInfo | None:
        """By attribute (function or class name) first, then by registered name."""
        if name in self.workflows:
            return self.workflows[name]
        found = [info for _, info in sorted(self.workflows.items()) if info.name == name]
        return found[0] if found else None

    def context_params(self, func: cst.FunctionDef) -> list[str]:
        out = []
        for name, param in param_bindings(func.params):
            annotation = dotted(param.annotation.annotation) if param.annotation else None
            if name == "ctx" or (annotation or "").endswith("Context"):
                out.append(name)
        return out

    # ------------------------------------------------------------------ text
    @property
    def source(self) -> str:
        """The module's text (generated from the tree when it was not given: the same text,
        since libcst round-trips)."""
        if self._source is None:
            self._source = self.module.code
        return self._source

    def text(self, node: cst.CSTNode, limit: int = 60) -> str:
        """A node's source on one line, shortened for a label."""
        code = " ".join(self.module.code_for_node(node).split())
        return code if len(code) <= limit else code[: limit - 3] + "..."

    def default_kind(self, info: WorkflowInfo) -> str:
        return "activity" if info.dialect == kn.TEMPORAL else "step"

    def _local(self, expr: cst.BaseExpression) -> str | None:
        """The top-level name of this module that ``expr`` refers to, if any."""
        qual = self.resolver.resolve(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None
        prefix = self.module_name + "."
        if qual and qual.startswith(prefix) and "." not in qual[len(prefix) :]:
            return qual[len(prefix) :]
        return None

    def target(self, expr: cst.BaseExpression | None) -> tuple[ModuleIndex, str]:
        """(module index, top-level name) ``expr`` refers to: here, or in a sibling module;
        (self, "") when unknown, so lookups in the index's tables simply miss."""
        if expr is None:
            return self, ""
        local = self._local(expr)
        if local is not None:
            return self, local
        if self.modules is not None and isinstance(expr, (cst.Name, cst.Attribute)):
            qual = self.resolver.resolve(expr)
            found = self.modules.find(qual) if qual else None
            if found is not None:
                return found
        return self, ""

    def callable_name(self, expr: cst.BaseExpression | None) -> str:
        """How the diagram names a step, activity or child passed as ``expr``."""
        if expr is None:
            return "?"
        if isinstance(expr, cst.SimpleString):
            value = expr.evaluated_value
            return value if isinstance(value, str) else self.text(expr)
        index, local = self.target(expr)
        if local in index.steps:
            return index.steps[local].name
        if local in index.workflows:
            return index.workflows[local].name
        if isinstance(expr, cst.Attribute) and expr.attr.value == "run":
            index, owner = self.target(expr.value)
            if owner in index.workflows:
                return index.workflows[owner].name
        return dotted(expr) or self.text(expr, 40)

    # ------------------------------------------------------------------ recorded names
    def recorded_callable(self, expr: cst.BaseExpression | None, what: str) -> tuple[str, str]:
        """(recorded name, why it cannot be known) of a step, activity or child passed as
        ``expr``: a definition's registered name, a string's value, a function's ``__name__``
        (the last part of a reference the model cannot follow); anything else is computed at
        run time."""
        if expr is None:
            return "?", f"the {what} is not given"
        if isinstance(expr, cst.SimpleString) or self.known_callable(expr):
            return self.callable_name(expr), ""
        if isinstance(expr, (cst.Name, cst.Attribute)):
            return (dotted(expr) or self.text(expr, 40)).rpartition(".")[2], ""
        return self.text(expr, 40), f"the {what} is computed at run time: {self.text(expr, 40)}"

    def known_callable(self, expr: cst.BaseExpression) -> bool:
        index, local = self.target(expr)
        if local in index.steps or local in index.workflows:
            return True
        if isinstance(expr, cst.Attribute) and expr.attr.value == "run":
            index, owner = self.target(expr.value)
            return owner in index.workflows
        return False

    def recorded_text(
        self, expr: cst.BaseExpression | None, what: str, default: str
    ) -> tuple[str, str]:
        """(recorded name, why it cannot be known) of a name given as text (``name=``, an
        event's or topic's name): a string, or a module-level constant holding one."""
        if expr is None:
            return default, ""
        if isinstance(expr, cst.SimpleString) and isinstance(expr.evaluated_value, str):
            return expr.evaluated_value, ""
        if isinstance(expr, cst.Name) and expr.value in self.constants:
            return self.constants[expr.value], ""
        return self.text(expr, 40), f"the {what} is computed at run time: {self.text(expr, 40)}"

    # ------------------------------------------------------------------ calls
    def classify(
        self, call: cst.Call, ctx_names: frozenset[str], info: WorkflowInfo, in_parallel: bool
    ) -> Op | None:
        """The durable operation ``call`` starts, or None."""
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value in ctx_names
        ):
            return self._context_call(func.attr.value, call, in_parallel)
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return None
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and func.attr.value in info.method_steps
        ):
            step = info.method_steps[func.attr.value]
            return Op(step.kind, step.name, self._details(call, step))
        qual = self.resolver.resolve(func)
        if qual is None:
            return None
        first = _positional(call, 0)
        if qual in kn.TEMPORAL_ACTIVITY_STARTS:
            recorded, computed = self.recorded_callable(first, "activity")
            return Op(
                "activity", self.callable_name(first), self._details(call), "", recorded, computed
            )
        if qual in _CHILD_STARTS or qual in (
            "dbos.DBOS.start_workflow",
            "dbos.DBOS.start_workflow_async",
        ):
            recorded, computed = self.recorded_callable(first, "child workflow")
            return Op("child", self.callable_name(first), "", "", recorded, computed)
        if qual in (_TEMPORAL + "sleep", "dbos.DBOS.sleep", "dbos.DBOS.sleep_async") or (
            qual == "asyncio.sleep" and info.dialect == kn.TEMPORAL
        ):
            # a timer is recorded by its kind alone (its duration is not its identity)
            return Op("sleep", self.text(first, 40) if first is not None else "sleep", recorded="")
        if qual == _TEMPORAL + "wait_condition":
            return Op("wait", self._condition_name(first, info), self._details(call, first=1))
        if qual == _TEMPORAL + "patched":
            return self._patch(first)
        if qual in ("dbos.DBOS.recv", "dbos.DBOS.recv_async"):
            topic = first if first is not None else _keyword_node(call, "topic")
            recorded, computed = self.recorded_text(topic, "topic", "message")
            return Op(
                "wait",
                self.callable_name(topic) if topic else "message",
                self._details(call),
                "",
                recorded,
                computed,
            )
        if qual in ("dbos.DBOS.send", "dbos.DBOS.send_async"):
            topic = _positional(call, 2) or _keyword_node(call, "topic")
            recorded, computed = self.recorded_text(topic, "topic", "message")
            return Op(
                "send",
                self.callable_name(topic) if topic else "message",
                "",
                "",
                recorded,
                computed,
            )
        if qual == "asyncio.gather":
            return Op("parallel", "")
        index, local = self.target(func)
        if info.dialect == kn.DBOS and local in index.workflows:  # DBOS runs it as a child
            return Op("child", index.workflows[local].name)
        called = index.steps.get(local)
        if called is not None and called.kind != "activity":
            return Op(
                called.kind,
                called.name,
                self._details(call, called),
                index.compensations.get(local, ""),
            )
        return None

    def _context_call(self, method: str, call: cst.Call, in_parallel: bool) -> Op | None:
        first = _positional(call, 0)
        if method == "step" or (method == "call" and in_parallel):
            index, local = self.target(first)
            step = index.steps.get(local)
            name = _keyword(call, "name") or self.callable_name(first)
            compensate = _keyword_node(call, "compensate")
            undo = (
                self.callable_name(compensate)
                if compensate is not None
                else index.compensations.get(local, "")
            )
            given = _keyword_node(call, "name")
            recorded, computed = (
                self.recorded_text(given, "step's name=", "")
                if given is not None
                else self.recorded_callable(first, "step")
            )
            return Op("step", name, self._details(call, step), undo, recorded, computed)
        if method == "parallel":
            return Op("parallel", "parallel")
        if method == "wait_for_event":
            recorded, computed = self.recorded_text(first, "event name", "event")
            return Op(
                "wait",
                self.callable_name(first) if first else "event",
                self._details(call, first=1),
                "",
                recorded,
                computed,
            )
        if method == "sleep":
            recorded, computed = self.recorded_text(
                _keyword_node(call, "name"), "timer's name=", "sleep"
            )
            return Op(
                "sleep",
                self.text(first, 40) if first is not None else "sleep",
                "",
                "",
                recorded,
                computed,
            )
        if method == "child":
            recorded, computed = self.recorded_callable(first, "child workflow")
            return Op("child", self.callable_name(first), "", "", recorded, computed)
        if method == "patched":
            return self._patch(first)
        return None

    def _patch(self, first: cst.BaseExpression | None) -> Op:
        recorded, computed = self.recorded_text(first, "patch id", "")
        return Op(
            "patch", f"patched({self.text(first, 40) if first else ''})", "", "", recorded, computed
        )

    def _details(self, call: cst.Call, step: StepInfo | None = None, first: int = -1) -> str:
        """Retry, timeout and optional notes from the decorator, overridden at the call."""
        options = dict(step.options) if step else {}
        for index, arg in enumerate(call.args):
            if arg.keyword is not None:
                options[arg.keyword.value] = self.text(arg.value, 30)
            elif index == first and not arg.star:
                options["timeout"] = self.text(arg.value, 30)
        notes = []
        if any(options.get(k, "False") not in ("False", "None") for k in _RETRY_KEYWORDS):
            notes.append("retry")
        for key in _TIMEOUT_KEYWORDS:
            if options.get(key, "None") != "None":
                notes.append(f"timeout {options[key]}")
                break
        if options.get("optional", "False") not in ("False", "None"):
            notes.append("optional")
        return ", ".join(notes)

    def _condition_name(self, condition: cst.BaseExpression | None, info: WorkflowInfo) -> str:
        """``wait_condition(lambda: self.approved)`` waits for the signal that sets it."""
        if not isinstance(condition, cst.Lambda):
            return self.text(condition, 40) if condition is not None else "condition"
        signals = sorted(
            {
                info.signals[attr]
                for attr in _self_attributes(condition.body)
                if attr in info.signals
            }
        )
        return "signal " + ", ".join(signals) if signals else self.text(condition.body, 40)

    def patch_test(
        self, test: cst.BaseExpression, ctx_names: frozenset[str]
    ) -> tuple[str, bool] | None:
        """(patch id, negated) if an ``if`` tests ``ctx.patched(...)`` / ``workflow.patched``."""
        negated = False
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test, negated = test.expression, True
        if not isinstance(test, cst.Call) or not test.args:
            return None
        func = test.func
        is_ctx = (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value in ctx_names
            and func.attr.value == "patched"
        )
        if is_ctx or (
            isinstance(func, (cst.Name, cst.Attribute))
            and self.resolver.resolve(func) == _TEMPORAL + "patched"
        ):
            return self.text(test.args[0].value, 40), negated
        return None

    def helper(self, call: cst.Call, info: WorkflowInfo, inlining: list[str]) -> Helper | None:
        """A helper this call runs: a function of this module or of its package on disk, or a
        method of the workflow class; None for anything else or a recursive call."""
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and func.attr.value in info.methods
        ):
            qual = f"{info.attr}.{func.attr.value}"
            return (
                None
                if qual in inlining
                else Helper(qual, info.methods[func.attr.value], True, self)
            )
        index, local = self.target(func)
        qual = f"{index.module_name}.{local}"
        if (
            local not in index.defs
            or local in index.steps
            or local in index.workflows
            or qual in inlining
        ):
            return None
        return Helper(qual, index.defs[local], False, index)


def _positional(call: cst.Call, index: int) -> cst.BaseExpression | None:
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    return positional[index] if index < len(positional) else None


def _keyword_node(call: cst.Call | None, name: str) -> cst.BaseExpression | None:
    for arg in call.args if call is not None else ():
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def _keyword(call: cst.Call | None, name: str) -> str | None:
    """A string literal keyword argument (``name="charge"``), else None."""
    value = _keyword_node(call, name)
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value
        return text if isinstance(text, str) else None
    return None


def _self_attributes(node: cst.CSTNode) -> set[str]:
    found, stack = set(), [node]
    while stack:
        current = stack.pop()
        if (
            isinstance(current, cst.Attribute)
            and isinstance(current.value, cst.Name)
            and current.value.value == "self"
        ):
            found.add(current.attr.value)
        stack.extend(current.children)
    return found


def _self_assignments(func: cst.FunctionDef) -> set[str]:
    """``self.x`` attributes a signal handler assigns (what a wait_condition may wait for)."""
    found: set[str] = set()
    stack: list[cst.CSTNode] = [func.body]
    while stack:
        current = stack.pop()
        targets: list[cst.CSTNode] = []
        if isinstance(current, cst.Assign):
            targets = [t.target for t in current.targets]
        elif isinstance(current, (cst.AugAssign, cst.AnnAssign)):
            targets = [current.target]
        for target in targets:
            found |= {a for a in _self_attributes(target)}
        stack.extend(current.children)
    return found


def _read_file(path: str) -> str | None:
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()
