"""What rules may ask about the code they look at, and how they report.

Mixed into :class:`~wfkit.lint.analyzer.FileAnalyzer` (the object rules receive as ``ctx``):
name resolution, durable-operation detection, static container kinds, conditions of knowledge
entries, and ``report`` with per-dialect fixes. Kept apart from the traversal so each module
has one job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import libcst as cst

from wfkit.lint.hit import Hit
from wfkit.lint.summary import FixEdit, FunctionSummary, RawFinding
from wfkit.static import knowledge as kn
from wfkit.static.knowledge import Knowledge, short_name
from wfkit.static.nodes import semantic_children
from wfkit.static.resolver import Bindings, Resolver

_FIX_IMPORTS = {
    "wf": ("temporalio.workflow", "workflow", "from temporalio import workflow"),
    "dbos": ("dbos.DBOS", "DBOS", "from dbos import DBOS"),
}
_SET_METHODS = frozenset({"union", "intersection", "difference", "symmetric_difference"})
_DICT_FACTORIES = frozenset(
    {"builtins.dict", "collections.defaultdict", "collections.OrderedDict", "collections.Counter"}
)


@dataclass
class Frame:
    """A function or class being visited: the analyzer keeps a stack of them, and rules read
    the innermost function's (``ctx.unit``: its kind, dialect, context parameter names)."""

    qualname: str
    kind: str  # workflow | step | helper | class
    dialect: str = ""
    is_async: bool = False
    ctx_names: list[str] = field(default_factory=list)
    summary: FunctionSummary | None = None
    temporal_class: bool = False
    class_qual: str = ""  # for methods: the enclosing class (resolves self.method())
    pushed_scope: bool = False
    owner: Frame | None = None  # for methods: the enclosing class frame
    attr_kinds: dict[str, str] = field(default_factory=dict)  # class: self.x -> dict/set
    class_param: str = ""  # a classmethod's first parameter (``cls``): the class itself


class ReportingRule(Protocol):
    """What reporting needs of a rule (a :class:`~wfkit.lint.rule.LintRule` is one)."""

    CODE: ClassVar[str]
    MESSAGE: ClassVar[str]


class RuleServices:
    """The rule-facing half of the analyzer (state is set up by FileAnalyzer)."""

    unit: Frame | None
    frames: list[Frame]
    resolver: Resolver
    knowledge: Knowledge
    module_name: str
    module_bindings: Bindings
    module_defs: dict[str, tuple[str, bool]]
    module_classes: set[str]
    cst_module: cst.Module
    lambda_depth: int
    guard_depth: int
    _ordered: set[int]
    _awaited: set[int]  # expressions awaited directly (``await x(...)``)
    _pending: list
    _stmt: cst.CSTNode
    _indents: list[str]

    # ----------------------------------------------------------------- services for rules
    def resolve(self, expr: cst.BaseExpression) -> str | None:
        return self.resolver.resolve(expr)

    def code_for(self, node: cst.CSTNode) -> str:
        return self.cst_module.code_for_node(node)

    def is_ordered(self, node: cst.CSTNode) -> bool:
        """True if ``node`` is the first argument of an order-insensitive consumer
        (``sorted``, ``sum``, ``any``, ``all``, ``min``, ``max``, ``set``, ``frozenset``,
        ``len``): the order it produces things in cannot leak."""
        return id(node) in self._ordered

    def durable_kind(self, call: cst.Call) -> str:
        """Which durable operation ``call`` starts: '' if none; else ctx, temporal,
        temporal_handle, dbos, local_async or local_sync (a step/workflow of this module)."""
        func = call.func
        unit = self.unit
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and unit is not None
            and func.value.value in unit.ctx_names
            and func.attr.value in kn.WFKIT_CTX_DURABLE
        ):
            return "ctx"
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return ""
        qual = self.resolver.resolve(func)
        if qual is None:
            return ""
        if qual in kn.TEMPORAL_DURABLE:
            return "temporal_handle" if qual in kn.TEMPORAL_NOT_COROUTINE else "temporal"
        if qual in kn.DBOS_DURABLE:
            return "dbos_async" if qual.endswith("_async") else "dbos"
        if isinstance(func, cst.Name) and qual == f"{self.module_name}.{func.value}":
            kind = self.module_defs.get(func.value)
            if kind is not None and kind[0] in ("step", "workflow"):
                return "local_async" if kind[1] else "local_sync"
        return ""

    def contains_durable(self, node: cst.CSTNode) -> bool:
        """True if any call inside ``node`` (an expression) starts a durable operation."""
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Call) and self.durable_kind(current):
                return True
            if isinstance(current, (cst.Lambda, cst.FunctionDef)):
                continue
            stack.extend(semantic_children(current))
        return False

    def is_set_expr(self, expr: cst.BaseExpression) -> bool:
        """True if ``expr`` is statically an unordered set (literal, comprehension, set(),
        frozenset(), set operators and methods, or a name bound to one)."""
        if isinstance(expr, (cst.Set, cst.SetComp)):
            return True
        if isinstance(expr, cst.Name):
            return self.resolver.is_set_name(expr.value)
        if isinstance(expr, cst.Attribute):
            return self._self_attribute_kind(expr) == "set"
        if isinstance(expr, cst.BinaryOperation) and isinstance(
            expr.operator, (cst.BitOr, cst.BitAnd, cst.Subtract, cst.BitXor)
        ):
            return any(
                self.is_set_expr(side) or _is_key_view(side) for side in (expr.left, expr.right)
            )
        if isinstance(expr, cst.Call):
            func = expr.func
            if isinstance(func, cst.Attribute) and func.attr.value in _SET_METHODS:
                return self.is_set_expr(func.value)
            if isinstance(func, cst.Name):
                return self.resolver.resolve(func) in ("builtins.set", "builtins.frozenset")
        return False

    def is_dict_expr(self, expr: cst.BaseExpression) -> bool:
        """True if ``expr`` is statically a dict or a dict view."""
        if isinstance(expr, (cst.Dict, cst.DictComp)):
            return True
        if isinstance(expr, cst.Name):
            return self.resolver.is_dict_name(expr.value)
        if isinstance(expr, cst.Attribute):
            return self._self_attribute_kind(expr) == "dict"
        if isinstance(expr, cst.Call):
            func = expr.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in ("items", "keys", "values")
                and not expr.args
            ):
                return not self.is_set_expr(func.value)
            if isinstance(func, (cst.Name, cst.Attribute)):
                return self.resolver.resolve(func) in _DICT_FACTORIES
        return False

    def _self_attribute_kind(self, expr: cst.Attribute) -> str:
        """'dict'/'set' for ``self.x`` when the method's class declares ``x`` as one."""
        unit = self.unit
        if (
            unit is None
            or unit.owner is None
            or not isinstance(expr.value, cst.Name)
            or expr.value.value != "self"
        ):
            return ""
        return unit.owner.attr_kinds.get(expr.attr.value, "")

    def is_module_mutable(self, name: str) -> bool:
        """True if ``name`` here is a module-level list/dict/set (not shadowed locally)."""
        return name in self.module_bindings.mutable and self.resolver.is_module_level(name)

    def current_nonlocals(self) -> set[str]:
        """Names the current function declared ``nonlocal``."""
        return self.resolver.stack[-1].nonlocal_names if self.resolver.stack else set()

    def nonlocal_owner(self, name: str) -> tuple[str, bool] | None:
        """(display name, inside workflow code?) of the enclosing function whose binding a
        ``nonlocal name`` of the current function writes; None if none is found. A binding of
        the workflow itself (or of a function inside it) is rebuilt on every replay; one of a
        function around the workflow outlives the run, like module state."""
        scoped = [f for f in self.frames if f.pushed_scope]
        scopes = self.resolver.stack[-len(scoped) :] if scoped else []
        for index in range(len(scoped) - 2, -1, -1):
            bindings = scopes[index]
            if name in bindings.nonlocal_names:
                continue
            if name in bindings.names:
                inside = any(f.kind == "workflow" for f in scoped[: index + 1])
                return scoped[index].qualname[len(self.module_name) + 1 :] + "()", inside
        return None

    def shared_owner(
        self, expr: cst.BaseExpression, contained: bool = False, via_call: bool = False
    ) -> str:
        """What outlives the run in ``expr`` (``other_module.items``, ``Counter``,
        ``type(self).count``, ``cls.seen``): a description such as ``state of module
        other_module`` or ``class attribute of Counter``, or "" if it belongs to the run
        (locals, parameters, ``self``'s own attributes, the workflow's closures) or is not
        known. ``contained``: ``expr`` is written through (``expr[k] = v``), so a name
        imported from another module is an object of that module, not a module itself.
        ``via_call``: ``expr`` receives a mutator-named call (``expr.append(x)``); only what
        is surely data counts (``other_module.items``, ``Counter.items``, ``CACHE``), not
        what may be a module or class whose function has that name (``other_module``,
        ``pkg.sub.module``, ``Registry``, ``STATE.client``)."""
        unit = self.unit
        if unit is None:
            return ""
        base, parts = expr, []
        while isinstance(base, (cst.Attribute, cst.Subscript)):
            if isinstance(base, cst.Attribute):
                parts.append(base.attr.value)
            else:
                parts.append("[]")
            base = base.value
        parts.reverse()
        subscripted = "[]" in parts
        attributes = [p for p in parts if p != "[]"]
        the_class = unit.class_qual[len(self.module_name) + 1 :]
        if unit.owner is not None and self._made_in_workflow(unit.owner):
            the_class = ""  # a class defined in the workflow's body: made anew by each run
        if isinstance(base, cst.Call):  # type(self).count
            args = base.args
            if (
                the_class
                and (parts or not via_call)
                and self.resolver.resolve(base.func) == "builtins.type"
                and len(args) == 1
                and isinstance(args[0].value, cst.Name)
                and args[0].value.value == "self"
            ):
                return f"class attribute of {the_class}"
            return ""
        if not isinstance(base, cst.Name):
            return ""
        name = base.value
        if the_class and (
            (name == unit.class_param and (parts or not via_call))
            or (name == "self" and parts[:1] == ["__class__"] and (len(parts) > 1 or not via_call))
        ):
            return f"class attribute of {the_class}"
        module_level = self.resolver.is_module_level(name)
        qual = self.resolver.lookup(name)
        if qual is None:  # a value: module-level, or a local / parameter of the run
            if not module_level or (via_call and not subscripted):
                return ""  # STATE.client.update(): what STATE.client is, is not known
            return f"state of module-level {name}"
        if qual.startswith(self.module_name + "."):
            # a class of this module (not one defined in a function, made for the run)
            if module_level and name in self.module_classes and (parts or not via_call):
                return f"class attribute of {name}"
            return ""
        # an import (also one inside the function: the module object is the process's own)
        if qual.startswith("builtins.") or self.knowledge.lookup(qual) is not None:
            return ""
        if self.knowledge.lookup(".".join([qual, *attributes])) is not None:
            return ""  # os.environ[...]: another rule's finding
        owner, _, last = qual.rpartition(".")
        if last.isupper():  # an imported constant object (CACHE): state of its module
            return f"state of module {owner or qual}"
        if via_call and (not parts or (len(attributes) > 1 and not subscripted)):
            return ""  # other_module.update(x), a.b.c.add(x): maybe a module's function
        if last[:1].isupper():
            return f"class attribute of {qual}"
        if contained and not parts:
            return f"state of module {owner or qual}"
        return f"state of module {qual}"

    def _made_in_workflow(self, frame: Frame) -> bool:
        """Is ``frame`` (a class) defined inside a workflow function's body?"""
        for outer in self.frames:
            if outer is frame:
                return False
            if outer.kind == "workflow":
                return True
        return False

    def current_globals(self) -> set[str]:
        """Names the current function declared ``global``."""
        return self.resolver.stack[-1].global_names if self.resolver.stack else set()

    def condition_holds(self, hit: Hit) -> bool:
        condition, call = hit.entry.condition, hit.call
        if not condition:
            return True
        positional = [a for a in call.args if a.keyword is None] if call is not None else []
        if condition == "no_time_arg":
            return call is not None and not positional
        if condition == "no_time_arg_after_format":
            return call is not None and len(positional) <= 1
        if condition == "unseeded":
            return call is not None and not call.args
        if condition == "not_temporal":
            return True
        if condition == "over_durable_not_temporal":
            return call is not None and any(self.contains_durable(a.value) for a in call.args)
        if condition == "blocking":
            return call is not None and not _non_blocking(call)
        if condition == "blocking_timeout":
            return call is not None and not _non_blocking(call) and _has_timeout(call)
        if condition == "unsorted":
            return not self.is_ordered(call if call is not None else hit.node)
        return True

    def report_hit(self, rule: ReportingRule, hit: Hit, subject: str = "") -> None:
        """Report a knowledge hit with the entry's advice and safe fixes per dialect
        (``subject``: how the message names it, by default the short qualified name)."""
        node: cst.CSTNode = hit.call if hit.call is not None else hit.node
        if not subject:
            subject = short_name(hit.qualname) + ("()" if hit.call is not None else "")
        dialects = (
            [kn.WFKIT, kn.DBOS]
            if hit.entry.condition in ("not_temporal", "over_durable_not_temporal")
            else []
        )
        if (
            hit.entry.condition == "awaited_not_dbos"
            and hit.call is not None
            and id(hit.call) in self._awaited
        ):
            dialects = [kn.WFKIT, kn.TEMPORAL]
        fixes = self._fixes(hit) if hit.call is not None else {}
        uses = dict(hit.entry.use)
        unit = self.unit
        if unit is not None and unit.is_async and not self.lambda_depth:
            uses.update(hit.entry.use_async)
        self.report(rule, node, subject, uses, dialects, fixes)

    def report(
        self,
        rule: ReportingRule,
        node: cst.CSTNode,
        subject: str,
        uses: dict[str, str] | None = None,
        dialects: Sequence[str] = (),
        fixes: dict[str, FixEdit] | None = None,
        unsafe_fix: FixEdit | None = None,
    ) -> None:
        unit = self.unit
        if unit is None or unit.summary is None:
            return
        raw = RawFinding(
            rule.CODE,
            rule.MESSAGE,
            subject,
            uses or {},
            dialects=list(dialects),
            fixes=fixes or {},
            unsafe_fix=unsafe_fix,
        )
        unit.summary.findings.append(raw)
        self._pending.append((raw, node, self._stmt, "".join(self._indents)))

    def args_text(self, call: cst.Call) -> str:
        parts = []
        for arg in call.args:
            prefix = arg.star + (f"{arg.keyword.value}=" if arg.keyword is not None else "")
            parts.append(prefix + self.code_for(arg.value))
        return ", ".join(parts)

    def _fixes(self, hit: Hit) -> dict[str, FixEdit]:
        call, unit = hit.call, self.unit
        if call is None or unit is None or not hit.entry.fix:
            return {}
        out: dict[str, FixEdit] = {}
        args = self.args_text(call)
        for dialect, repl in hit.entry.fix.items():
            if "{args}" not in repl.template and call.args:
                continue
            if repl.async_only and (not unit.is_async or self.lambda_depth):
                continue
            names = {"ctx": "", "wf": "", "dbos": "", "args": args}
            add_import = ""
            if repl.needs == "ctx":
                if not unit.ctx_names:
                    continue
                names["ctx"] = unit.ctx_names[0]
            elif repl.needs in ("wf", "dbos"):
                qual, local, statement = _FIX_IMPORTS[repl.needs]
                bound = self.resolver.local_name_for(qual)
                if bound is None:
                    current = self.resolver.lookup(local)
                    if current == qual:
                        bound = local  # imported inside the function
                    elif current is not None or local in self.module_bindings.names:
                        continue  # the name is taken by something else: no safe fix here
                    else:
                        add_import = statement
                names[repl.needs] = bound or local
            template = repl.template
            if repl.async_template and unit.is_async:
                if self.lambda_depth:
                    continue  # no await inside a lambda
                template = repl.async_template
            out[dialect] = FixEdit(template.format(**names), add_import, repl.unsafe)
        return out


def _is_key_view(expr: cst.BaseExpression) -> bool:
    """``d.keys()`` / ``d.items()``: set-like views whose operators return plain sets."""
    return (
        isinstance(expr, cst.Call)
        and not expr.args
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value in ("keys", "items")
    )


def _is_literal(expr: cst.BaseExpression, value: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == value


def _non_blocking(call: cst.Call) -> bool:
    """``q.get(False)``, ``q.get(block=False)``, ``sem.acquire(blocking=False)``."""
    for index, arg in enumerate(call.args):
        keyword = arg.keyword.value if arg.keyword is not None else None
        if (keyword in ("block", "blocking") or (keyword is None and index == 0)) and _is_literal(
            arg.value, "False"
        ):
            return True
    return False


def _has_timeout(call: cst.Call) -> bool:
    """``lock.acquire(True, 5)`` or ``lock.acquire(timeout=5)`` (not ``timeout=None``/-1)."""
    for index, arg in enumerate(call.args):
        keyword = arg.keyword.value if arg.keyword is not None else None
        if keyword == "timeout" or (keyword is None and index == 1 and not arg.star):
            value = arg.value
            is_minus_one = (
                isinstance(value, cst.UnaryOperation)
                and isinstance(value.operator, cst.Minus)
                and isinstance(value.expression, cst.Integer)
                and value.expression.value == "1"
            )
            return not (_is_literal(value, "None") or is_minus_one)
    return False
