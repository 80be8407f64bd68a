"""One side of a change (the old code at the base, or the work tree): its workflows by name.

Each side is read the same way, through the static model, so the two can only differ where
the code does: the files a change touched are parsed from their text (the old text from git's
objects), and the helpers they import from their package are read through a
:class:`~wfkit.static.module_index.ModuleSet` whose reader is git for the old side and the
disk for the new one. Workflows are keyed by their *registered* name (``name=`` on the
decorator, else the function or class name): that is what a recorded run is filed under.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from wfkit.compat.handlers import (
    RECORDED,
    HandlerDef,
    handler_defs,
    handler_graph,
    handler_info,
    registers_handlers_at_run_time,
)
from wfkit.compat.side_cache import (
    SideCache,
    TracingModuleSet,
    text_blob_id,
    workflow_from_json,
    workflow_to_json,
)
from wfkit.static.knowledge import TEMPORAL
from wfkit.static.module_index import ModuleIndex, ModuleSet, WorkflowInfo
from wfkit.static.parse_guard import ParseLimits, check_source
from wfkit.static.resolver import param_bindings
from wfkit.static.skeleton import Graph, Node, build_workflow_graph

Reader = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Param:
    """A workflow parameter a recorded run's input binds to."""

    name: str
    kind: str  # "positional", "keyword", "*", "**"
    has_default: bool
    annotation: str


@dataclass
class Workflow:
    """A workflow of one side: where it is defined and its durable-operation graph. Plain
    data (it crosses process boundaries when many files are read in a pool)."""

    name: str  # registered name
    attr: str  # function or Class name in its module
    dialect: str
    path: str  # relative to the repository root
    params: tuple[Param, ...]
    graph: Graph | None
    problem: str = ""  # why no graph could be built
    function: str = ""  # the def that runs (Temporal: the @workflow.run method)
    source: str = field(default="", repr=False, compare=False)
    _place: tuple[int, int] | None = field(default=None, repr=False, compare=False)
    # Temporal: the signal, update and query handlers, each read as a body of its own
    # (``handler`` is its kind, ``name`` its registered name, ``function`` its method)
    handlers: tuple[Workflow, ...] = ()
    handler: str = ""  # "signal", "update" or "query" for a handler; "" for the workflow
    owner: str = ""  # a handler's workflow (registered name)
    dynamic: bool = False  # a handler registered with dynamic=True
    runtime_handlers: bool = False  # the class calls workflow.set_*_handler
    named_at_run_time: str = ""  # a handler whose name= is computed: why

    @property
    def title(self) -> str:
        """How a finding names it: the workflow, or the workflow's handler."""
        if self.handler:
            return f"workflow {self.owner!r}, {self.handler} handler {self.name!r}"
        return f"workflow {self.name!r}"

    @property
    def line(self) -> int:
        return self.place()[0]

    @property
    def column(self) -> int:
        return self.place()[1]

    def place(self) -> tuple[int, int]:
        """Line and column of the definition's name, worked out when a finding needs them
        (with Python's own parser: most workflows never need one)."""
        if self._place is None:
            self._place = _where(self.source, self.attr, self.function)
        return self._place


@dataclass
class Side:
    """The workflows of the analysed files of one side, and the files that did not parse."""

    root: str = ""
    workflows: dict[str, Workflow] = field(default_factory=dict)
    unparsable: dict[str, str] = field(default_factory=dict)  # path -> reason
    locator: Locator | None = field(default=None, repr=False, compare=False)
    hits: int = field(default=0, compare=False)  # files answered by the cache

    def placed(self, workflow: Workflow, node: Node) -> Node:
        """``node`` with its line and column (graphs are drawn without them: most operations
        are never reported)."""
        if node.line or self.locator is None or not node.path:
            return node
        return self.locator.nodes(workflow).get(node.id, node)

    def relative(self, path: str) -> str:
        """A node's file (helpers are read by absolute path) relative to the root."""
        if not os.path.isabs(path):
            return path
        return os.path.relpath(path, self.root).replace(os.sep, "/")


def read_side(
    root: str,
    files: dict[str, str],
    reader: Reader,
    extra: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset()),
    limits: ParseLimits = ParseLimits(),
    trees: dict[str, cst.Module] | None = None,
    cache: SideCache | None = None,
) -> Side:
    """The workflows defined in ``files`` (repository path -> text), helpers read by
    ``reader`` (an absolute path -> its text on this side, or None). ``trees`` (text -> tree)
    is shared with the other side, so a text both sides have is parsed once; ``cache``, when
    given, answers files read by an earlier run (see :mod:`wfkit.compat.side_cache`)."""
    side = Side(root)
    trees = {} if trees is None else trees

    def parse(text: str) -> cst.Module:
        tree = trees.get(text)
        if tree is None:
            tree = trees[text] = cst.parse_module(text)
        return tree

    packages: dict[tuple[str, str], TracingModuleSet] = {}  # one per package: helpers read once
    markers = ("workflow", *extra[0])
    try:
        for path in sorted(files):
            text = files[path]
            if not any(marker in text for marker in markers):
                continue  # defines no workflow: parsed only if a workflow's helper lives here
            absolute = os.path.join(root, *path.split("/"))
            named: set[str] = set()

            def traced(at: str, named: set[str] = named) -> str | None:
                named.add(at)
                return reader(at)

            name, is_package = module_name(root, path, traced)
            key = cache.key(path, name, is_package, text_blob_id(text)) if cache else ""
            entry = cache.get(key) if cache else None
            if entry is not None and _from_entry(side, entry, text, path):
                side.hits += 1
                continue
            place = ModuleSet.place(absolute, name, is_package)
            modules = packages.get(place)
            if modules is None:
                modules = packages[place] = TracingModuleSet(*place, *extra, limits, reader, parse)
            read = modules.start()
            found, problem = _read_file(modules, name, is_package, absolute, path, text, limits)
            if problem:
                side.unparsable[path] = problem
            for workflow in found:
                side.workflows.setdefault(workflow.name, workflow)
            if cache is not None:
                entry = {"workflows": [workflow_to_json(w) for w in found], "unparsable": problem}
                cache.put(key, entry, read | named)
    finally:
        if cache is not None:
            cache.close()  # its entries are written
    return side


def _read_file(
    modules: TracingModuleSet,
    name: str,
    is_package: bool,
    absolute: str,
    path: str,
    text: str,
    limits: ParseLimits,
) -> tuple[list[Workflow], str]:
    """The workflows one file defines, or why it cannot be read."""
    rejection = check_source(text, limits)
    if rejection is not None:
        return [], rejection.message
    index = modules.cache.get(name)
    if index is None or index.path != absolute:
        try:
            tree = modules.parse(text)
        except cst.ParserSyntaxError as error:
            return [], f"syntax error at line {_error_line(text, error)}"
        extra = modules.extra
        index = ModuleIndex(tree, name, is_package, *extra, modules, absolute, text)
        modules.given(name, index, is_package)
    else:
        modules.used.update(modules.loaded.get(name, ()))
    return [_workflow(index, index.workflows[a], path, text) for a in sorted(index.workflows)], ""


def _from_entry(side: Side, entry: dict, text: str, path: str) -> bool:
    """Add a cached reading to ``side``; False (nothing added) if the entry is malformed."""
    try:
        found = [workflow_from_json(w, text, Workflow, Param) for w in entry["workflows"]]
        problem = entry["unparsable"]
    except (KeyError, TypeError, ValueError, IndexError):
        return False
    if not isinstance(problem, str):
        return False
    if problem:
        side.unparsable[path] = problem
    for workflow in found:
        side.workflows.setdefault(workflow.name, workflow)
    return True


def _workflow(index: ModuleIndex, info: WorkflowInfo, path: str, text: str) -> Workflow:
    graph: Graph | None = None
    problem = ""
    try:
        graph = build_workflow_graph(index, info, positions=False)
    except RecursionError:
        problem = "the workflow nests too deeply to be read"
    workflow = Workflow(
        info.name,
        info.attr,
        info.dialect,
        path,
        _params(info),
        graph,
        problem,
        info.func.name.value,
        text,
    )
    if info.dialect == TEMPORAL:
        workflow.handlers = tuple(
            _handler(index, info, h, workflow) for h in handler_defs(index, info)
        )
        workflow.runtime_handlers = registers_handlers_at_run_time(index, info)
    return workflow


def _handler(
    index: ModuleIndex, info: WorkflowInfo, handler: HandlerDef, owner: Workflow
) -> Workflow:
    graph: Graph | None = None
    problem = ""
    if handler.kind in RECORDED:
        try:
            graph = handler_graph(index, info, handler)
        except RecursionError:
            problem = "the handler nests too deeply to be read"
    return Workflow(
        handler.name,
        owner.attr,
        owner.dialect,
        owner.path,
        (),
        graph,
        problem,
        handler.method,
        owner.source,
        handler=handler.kind,
        owner=owner.name,
        dynamic=handler.dynamic,
        named_at_run_time=handler.computed,
    )


class Locator:
    """Draws a workflow of one side again, with positions, when a finding needs one; the same
    walk over the same text gives the same node ids."""

    def __init__(
        self,
        root: str,
        reader: Reader,
        extra: tuple[frozenset[str], frozenset[str]],
        limits: ParseLimits,
    ) -> None:
        self.root, self.reader, self.extra, self.limits = root, reader, extra, limits
        self.drawn: dict[tuple[str, str, str], dict[str, Node]] = {}

    def nodes(self, workflow: Workflow) -> dict[str, Node]:
        key = (workflow.path, workflow.attr, workflow.function)
        if key not in self.drawn:
            self.drawn[key] = self._draw(workflow)
        return self.drawn[key]

    def _draw(self, workflow: Workflow) -> dict[str, Node]:
        absolute = os.path.join(self.root, *workflow.path.split("/"))
        name, is_package = module_name(self.root, workflow.path, self.reader)
        place = ModuleSet.place(absolute, name, is_package)
        modules = ModuleSet(*place, *self.extra, self.limits, self.reader)
        try:
            tree = cst.parse_module(workflow.source)
            index = ModuleIndex(
                tree, name, is_package, *self.extra, modules, absolute, workflow.source
            )
            modules.cache[name] = index
            info = index.workflows.get(workflow.attr)
            if info is not None and workflow.handler:
                info = handler_info(index, info, workflow.function)
            graph = build_workflow_graph(index, info) if info is not None else None
        except (cst.ParserSyntaxError, RecursionError):
            return {}
        return {node.id: node for node in graph.nodes} if graph is not None else {}


def _error_line(text: str, error: cst.ParserSyntaxError) -> int:
    """The line Python's own parser blames (libcst's is often the next one)."""
    try:
        ast.parse(text)
    except SyntaxError as python:
        return python.lineno or error.raw_line
    except (ValueError, RecursionError, MemoryError):
        pass
    return error.raw_line


def _where(source: str, attr: str, function: str) -> tuple[int, int]:
    """Where ``def function`` of ``attr`` (``name``, ``Class`` or ``Class.method``) is."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return 1, 1
    owner, _, _ = attr.rpartition(".") if "." in attr else (attr, "", "")
    body: list[ast.stmt] = tree.body
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == owner:
            body = node.body
            break
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            line = source.splitlines()[node.lineno - 1] if node.lineno else ""
            column = line.find(node.name, node.col_offset)
            return node.lineno, (column if column >= 0 else node.col_offset) + 1
    return 1, 1


def _params(info: WorkflowInfo) -> tuple[Param, ...]:
    """The parameters a run's input binds: without ``self`` and the wfkit context."""
    func = info.func
    skip = set(info.ctx_names)
    names = [name for name, _ in param_bindings(func.params)]
    if func is not None and names and names[0] == "self":
        skip.add("self")
    out = []
    for name, param in param_bindings(func.params):
        if name in skip:
            continue
        if param is func.params.star_arg:
            kind = "*"
        elif param is func.params.star_kwarg:
            kind = "**"
        elif param in func.params.kwonly_params:
            kind = "keyword"
        else:
            kind = "positional"
        annotation = (
            " ".join(cst.Module([]).code_for_node(param.annotation.annotation).split())
            if param.annotation
            else ""
        )
        out.append(Param(name, kind, param.default is not None, annotation))
    return tuple(out)


def module_name(root: str, path: str, reader: Reader) -> tuple[str, bool]:
    """(dotted name, is_package) of a repository file, from the ``__init__.py`` files around
    it on this side."""
    parts = path.split("/")
    stem = parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1]
    is_package = stem == "__init__"
    names = [] if is_package else [stem]
    directories = parts[:-1]
    while directories and reader(os.path.join(root, *directories, "__init__.py")) is not None:
        names.append(directories.pop())
    names.reverse()
    return ".".join(names) or stem, is_package
