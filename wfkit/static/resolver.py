"""A light name resolver: which qualified name does ``dt.datetime.now`` mean in this module?

libcst's ScopeProvider/QualifiedNameProvider compute every access of every name and cost several
times the parse. Determinism rules only need "which import does this dotted name come from,
unless something local shadows it", so this resolver records the bindings of a module once
(imports, defs, classes, assignments, in source order, the last one winning) and of each
function when it is entered (parameters, assignments, local imports and defs).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst

BUILTIN_NAMES = frozenset(dir(builtins))

# A binding is a qualified name (an import, an alias, a definition) or None (a plain local value).
Binding = "str | None"


def dotted(expr: cst.BaseExpression) -> str | None:
    """``a.b.c`` as text if ``expr`` is a pure Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


def import_module_name(node: cst.ImportFrom, module: str, is_package: bool) -> str | None:
    """The absolute module an ``ImportFrom`` reads from (relative imports resolved)."""
    name = dotted(node.module) if node.module is not None else ""
    if name is None:
        return None
    level = len(node.relative)
    if not level:
        return name
    parts = module.split(".") if module else []
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    base = ".".join(parts)
    return f"{base}.{name}" if base and name else (base or name)


def _target_names(target: cst.BaseExpression) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)


def import_bindings(
    node: cst.Import | cst.ImportFrom, module: str, is_package: bool
) -> Iterator[tuple[str, str]]:
    """(local name, qualified name) pairs an import statement binds."""
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = dotted(alias.name)
            if full is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, full
            else:
                head = full.split(".")[0]
                yield head, head
        return
    if isinstance(node.names, cst.ImportStar):
        return
    source = import_module_name(node, module, is_package)
    if source is None:
        return
    for alias in node.names:
        name = dotted(alias.name)
        if name is None:
            continue
        local = name
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        yield local, f"{source}.{name}" if source else name


@dataclass
class Bindings:
    """Names bound in one scope (a module or a function), in source order."""

    names: dict[str, str | None] = field(default_factory=dict)
    aliases: dict[str, cst.BaseExpression] = field(default_factory=dict)  # x = some.dotted.name
    sets: set[str] = field(default_factory=set)
    dicts: set[str] = field(default_factory=set)
    mutable: set[str] = field(default_factory=set)
    loggers: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)
    # x = some.Class(...): the callee, resolved when needed (a module-level threading.Event)
    constructed: dict[str, cst.BaseExpression] = field(default_factory=dict)
    global_names: set[str] = field(default_factory=set)
    nonlocal_names: set[str] = field(default_factory=set)  # bound in an enclosing function


_MUTABLE_CALLS = frozenset(
    {
        "builtins.list",
        "builtins.dict",
        "builtins.set",
        "collections.deque",
        "collections.defaultdict",
        "collections.OrderedDict",
        "collections.Counter",
    }
)
_DICT_CALLS = frozenset(
    {"builtins.dict", "collections.defaultdict", "collections.OrderedDict", "collections.Counter"}
)
_SET_CALLS = frozenset({"builtins.set", "builtins.frozenset"})
DICT_ANNOTATIONS = frozenset(
    {
        "dict",
        "Dict",
        "Mapping",
        "MutableMapping",
        "defaultdict",
        "OrderedDict",
        "Counter",
        "DefaultDict",
    }
)
SET_ANNOTATIONS = frozenset({"set", "frozenset", "Set", "FrozenSet", "AbstractSet", "MutableSet"})
PATH_TYPES = frozenset({"Path", "PosixPath", "WindowsPath"})


class BindingCollector:
    """Collects the bindings of a statement list without descending into nested scopes."""

    def __init__(self, module: str, is_package: bool, qual_prefix: str) -> None:
        self.module = module
        self.is_package = is_package
        self.qual_prefix = qual_prefix  # "pkg.mod" for the module, "pkg.mod.fn" for a function
        self.out = Bindings()

    def statements(self, body: Sequence[cst.CSTNode]) -> Bindings:
        """The bindings of a block's statements (any other node in ``body`` binds nothing)."""
        for stmt in body:
            self._statement(stmt)
        return self.out

    def _bind(self, name: str, value: str | None) -> None:
        self.out.names[name] = value
        self.out.aliases.pop(name, None)
        self.out.sets.discard(name)
        self.out.dicts.discard(name)
        self.out.mutable.discard(name)
        self.out.loggers.discard(name)
        self.out.paths.discard(name)
        self.out.constructed.pop(name, None)

    def _block(self, block: cst.BaseSuite) -> None:
        if isinstance(block, cst.IndentedBlock):
            self.statements(block.body)
        elif isinstance(block, cst.SimpleStatementSuite):
            self.statements(block.body)

    def _statement(self, stmt: cst.CSTNode) -> None:
        out = self.out
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self._statement(small)
        elif isinstance(stmt, cst.Assign):
            for target in stmt.targets:
                for name in _target_names(target.target):
                    self._bind(name, None)
            if len(stmt.targets) == 1 and isinstance(stmt.targets[0].target, cst.Name):
                self._classify(stmt.targets[0].target.value, stmt.value)
        elif isinstance(stmt, cst.AnnAssign):
            if isinstance(stmt.target, cst.Name):
                name = stmt.target.value
                self._bind(name, None)
                ann = dotted(_annotation_head(stmt.annotation.annotation)) or ""
                tail = ann.rsplit(".", 1)[-1]
                if tail in DICT_ANNOTATIONS:
                    out.dicts.add(name)
                elif tail in SET_ANNOTATIONS:
                    out.sets.add(name)
                if stmt.value is not None:
                    self._classify(name, stmt.value)
        elif isinstance(stmt, cst.AugAssign):
            for name in _target_names(stmt.target):
                if name not in out.names:
                    self._bind(name, None)
        elif isinstance(stmt, (cst.Import, cst.ImportFrom)):
            for local, qual in import_bindings(stmt, self.module, self.is_package):
                self._bind(local, qual)
        elif isinstance(stmt, cst.Global):
            for item in stmt.names:
                out.global_names.add(item.name.value)
        elif isinstance(stmt, cst.Nonlocal):
            for item in stmt.names:
                out.nonlocal_names.add(item.name.value)
        elif isinstance(stmt, cst.FunctionDef):
            self._bind(stmt.name.value, f"{self.qual_prefix}.{stmt.name.value}")
        elif isinstance(stmt, cst.ClassDef):
            self._bind(stmt.name.value, f"{self.qual_prefix}.{stmt.name.value}")
        elif isinstance(stmt, (cst.For, cst.While, cst.If)):
            if isinstance(stmt, cst.For):
                for name in _target_names(stmt.target):
                    self._bind(name, None)
            self._block(stmt.body)
            orelse = stmt.orelse
            while orelse is not None:
                self._block(orelse.body)
                orelse = getattr(orelse, "orelse", None)
        elif isinstance(stmt, cst.With):
            for with_item in stmt.items:
                if with_item.asname is not None:
                    for name in _target_names(with_item.asname.name):
                        self._bind(name, None)
            self._block(stmt.body)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            self._block(stmt.body)
            for handler in stmt.handlers:
                if handler.name is not None and isinstance(handler.name.name, cst.Name):
                    self._bind(handler.name.name.value, None)
                self._block(handler.body)
            if stmt.orelse is not None:
                self._block(stmt.orelse.body)
            if stmt.finalbody is not None:
                self._block(stmt.finalbody.body)

    def _classify(self, name: str, value: cst.BaseExpression) -> None:
        out = self.out
        if isinstance(value, (cst.Name, cst.Attribute)) and dotted(value) is not None:
            out.aliases[name] = value
        elif isinstance(value, (cst.Set, cst.SetComp)):
            out.sets.add(name)
            out.mutable.add(name)
        elif isinstance(value, (cst.Dict, cst.DictComp)):
            out.dicts.add(name)
            out.mutable.add(name)
        elif isinstance(value, (cst.List, cst.ListComp)):
            out.mutable.add(name)
        elif isinstance(value, cst.Call):
            out.constructed[name] = value.func
            func = dotted(value.func) or ""
            tail = func.rsplit(".", 1)[-1]
            qual = f"builtins.{func}" if func in BUILTIN_NAMES else func
            if qual in _MUTABLE_CALLS or tail in ("defaultdict", "OrderedDict", "deque", "Counter"):
                out.mutable.add(name)
            if qual in _SET_CALLS:
                out.sets.add(name)
            elif qual in _DICT_CALLS or tail in ("defaultdict", "OrderedDict", "Counter"):
                out.dicts.add(name)
            if tail == "getLogger" or tail == "get_logger":
                out.loggers.add(name)
            elif tail in PATH_TYPES:
                out.paths.add(name)


def _annotation_head(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``dict[str, int]`` -> ``dict``; ``Optional[...]`` stays itself."""
    if isinstance(expr, cst.Subscript):
        return expr.value
    return expr


def param_bindings(params: cst.Parameters) -> list[tuple[str, cst.Param]]:
    """Every parameter of a function, in order, with its node."""
    out = []
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        out.append((param.name.value, param))
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            out.append((star.name.value, star))
    return out


def annotation_kind(param: cst.Param) -> str:
    """'dict', 'set', 'path' or '' from a parameter's annotation (the outer type only)."""
    return annotation_container(param.annotation)


def annotation_container(annotation: cst.Annotation | None) -> str:
    """'dict', 'set', 'path' or '' for an annotation (the outer type only)."""
    if annotation is None:
        return ""
    name = dotted(_annotation_head(annotation.annotation)) or ""
    tail = name.rsplit(".", 1)[-1]
    if tail in DICT_ANNOTATIONS:
        return "dict"
    if tail in SET_ANNOTATIONS:
        return "set"
    if tail in PATH_TYPES:
        return "path"
    return ""


class Resolver:
    """Resolves dotted names against a stack of scopes: functions innermost-first, then module."""

    def __init__(self, module_bindings: Bindings) -> None:
        self.module = module_bindings
        self.stack: list[Bindings] = []

    def push(self, bindings: Bindings) -> None:
        self.stack.append(bindings)

    def pop(self) -> None:
        self.stack.pop()

    def lookup(self, name: str, _depth: int = 0) -> str | None:
        """The qualified name ``name`` stands for here, or None (a local value / unknown)."""
        for scope in reversed(self.stack):
            if name in scope.global_names:
                break
            if name in scope.nonlocal_names:
                continue  # the enclosing function's binding
            if name in scope.names:
                alias = scope.aliases.get(name)
                if alias is not None and _depth < 8:
                    return self.resolve(alias, _depth + 1)
                return scope.names[name]
        names = self.module.names
        if name in names:
            alias = self.module.aliases.get(name)
            if alias is not None and _depth < 8:
                return self.resolve(alias, _depth + 1)
            return names[name]
        if name in BUILTIN_NAMES:
            return f"builtins.{name}"
        return None

    def resolve(self, expr: cst.BaseExpression, _depth: int = 0) -> str | None:
        """The qualified name of a Name/Attribute chain (``dt.datetime.now`` ->
        ``datetime.datetime.now``), or None if its base is local, unknown or not a name."""
        parts: list[str] = []
        while isinstance(expr, cst.Attribute):
            parts.append(expr.attr.value)
            expr = expr.value
        if not isinstance(expr, cst.Name):
            return None
        base = self.lookup(expr.value, _depth)
        if base is None:
            return None
        if not parts:
            return base
        parts.reverse()
        return base + "." + ".".join(parts)

    def local_name_for(self, qualname: str) -> str | None:
        """A module-level name bound to ``qualname`` (for fixes: what ``workflow`` is called)."""
        for name, value in self.module.names.items():
            if value == qualname and name not in self.module.aliases:
                if all(name not in scope.names for scope in self.stack):
                    return name
        return None

    def is_set_name(self, name: str) -> bool:
        return self._flag(name, "sets")

    def is_dict_name(self, name: str) -> bool:
        return self._flag(name, "dicts")

    def is_path_name(self, name: str) -> bool:
        return self._flag(name, "paths")

    def _flag(self, name: str, attr: str) -> bool:
        for scope in reversed(self.stack):
            if name in scope.names or name in getattr(scope, attr):
                return name in getattr(scope, attr)
        return name in getattr(self.module, attr)

    def is_module_level(self, name: str) -> bool:
        """True if ``name`` here means the module-level binding (not shadowed by a function)."""
        for scope in reversed(self.stack):
            if name in scope.global_names:
                return True
            if name in scope.nonlocal_names:
                continue
            if name in scope.names:
                return False
        return name in self.module.names


def attribute_kinds(node: cst.ClassDef) -> dict[str, str]:
    """Container kind ('dict'/'set') of attributes a class declares or sets in ``__init__``:
    ``x: dict[str, int]`` in the body, ``self.x = {}`` / ``self.x: set[str] = set()``."""
    kinds: dict[str, str] = {}
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for stmt in body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__init__":
            for inner in stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else ():
                _note_attribute(inner, kinds, self_only=True)
        else:
            _note_attribute(stmt, kinds, self_only=False)
    return kinds


def _note_attribute(stmt: cst.CSTNode, kinds: dict[str, str], self_only: bool) -> None:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return
    for small in stmt.body:
        if isinstance(small, cst.AnnAssign):
            target, kind = small.target, annotation_container(small.annotation)
            if not kind and small.value is not None:
                kind = _value_kind(small.value)
        elif isinstance(small, cst.Assign) and len(small.targets) == 1:
            target, kind = small.targets[0].target, _value_kind(small.value)
        else:
            continue
        if self_only:
            if not (
                isinstance(target, cst.Attribute)
                and isinstance(target.value, cst.Name)
                and target.value.value == "self"
            ):
                continue
            name = target.attr.value
        elif isinstance(target, cst.Name):
            name = target.value
        else:
            continue
        if kind in ("dict", "set"):
            kinds[name] = kind


def _value_kind(expr: cst.BaseExpression) -> str:
    if isinstance(expr, (cst.Dict, cst.DictComp)):
        return "dict"
    if isinstance(expr, (cst.Set, cst.SetComp)):
        return "set"
    if isinstance(expr, cst.Call):
        tail = (dotted(expr.func) or "").rsplit(".", 1)[-1]
        if tail in ("dict", "defaultdict", "OrderedDict", "Counter"):
            return "dict"
        if tail in ("set", "frozenset"):
            return "set"
    return ""
