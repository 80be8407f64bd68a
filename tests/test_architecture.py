"""The import structure of wfkit, checked: no cycles, no private names across packages, the
static model below its readers, libcst's private API in one module.

How imports are counted (docs/architecture.md, "Imports"): every ``import`` statement in a
wfkit module names an edge, wherever it stands: at module level, under ``if TYPE_CHECKING:``,
or inside a function. A function-level import that only dodges a cycle still is one, so it is
reported like any other; the lazy imports that keep ``wfkit --help`` and ``import wfkit`` fast
are edges too, and they create no cycle because they point down (nothing imports the CLI).
Imports of other distributions (libcst, psycopg, ...) are not wfkit modules and are ignored;
so are ``importlib.import_module`` calls with computed names (the lazy ``wfkit`` exports, rule
discovery) and the implicit import of a module's parent packages.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The engine is one package; the toolkit is the packages above it (and the static model).
ENGINE = "wfkit.engine"
TOOLKIT = (
    "wfkit.static",
    "wfkit.graph",
    "wfkit.lint",
    "wfkit.compat",
    "wfkit.testing",
    "wfkit.web",
    "wfkit.cli",
)
# The facade: the package itself (lazy re-exports of the engine's public names) and the two
# engine modules the docs import from their old paths, kept as thin aliases.
FACADE = ("wfkit", "wfkit.progress", "wfkit.history")
# What the static model may import from wfkit: itself and the shared error types.
STATIC_MAY_IMPORT = ("wfkit.static", "wfkit.errors")
LIBCST_PRIVATE_MODULE = "wfkit.static.libcst_private"
# libcst attributes that are private (underscore) and used by libcst_private only.
LIBCST_PRIVATE_ATTRIBUTES = frozenset({"_codegen", "_codegen_impl", "_computed"})


@dataclass(frozen=True)
class Import:
    """``importer`` imports ``module`` (its ``names``, for ``from ... import``) at ``line``."""

    importer: str
    module: str
    names: tuple[str, ...]
    line: int
    path: Path


def modules_of(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``package`` under ``root``."""
    out = {}
    for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, known: dict[str, Path]) -> list[Import]:
    """Every import statement of the module, anywhere in it, resolved to module names: a
    ``from pkg import name`` is an import of ``pkg.name`` when that is a module."""
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.extend(Import(name, alias.name, (), node.lineno, path) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([base] if base else [])])
            plain = []
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    out.append(Import(name, f"{base}.{alias.name}", (), node.lineno, path))
                else:
                    plain.append(alias.name)
            if plain:
                out.append(Import(name, base, tuple(plain), node.lineno, path))
    return out


def import_graph(known: dict[str, Path]) -> dict[str, list[Import]]:
    """Module -> its imports of other modules in ``known``."""
    return {
        name: [i for i in imports_of(name, path, known) if i.module in known and i.module != name]
        for name, path in known.items()
    }


def cycles(graph: dict[str, list[Import]]) -> list[list[str]]:
    """One cycle (a list of modules, first = last) for each strongly connected component of
    more than one module, or a module that imports itself; sorted, so the report is stable."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iterative (no recursion limit)
        work = [(start, iter(sorted({i.module for i in graph[start]})))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted({i.module for i in graph[target]}))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    out = []
    for component in sorted(components):
        members = set(component)
        if len(component) == 1 and component[0] not in {i.module for i in graph[component[0]]}:
            continue
        out.append(_cycle_through(component[0], members, graph))
    return out


def _cycle_through(start: str, members: set[str], graph: dict[str, list[Import]]) -> list[str]:
    """The shortest path from ``start`` back to itself inside one strongly connected component."""
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted({i.module for i in graph[node]} & members):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if target not in parents:
                    parents[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"{start} is in no cycle")  # pragma: no cover - not an SCC then


def describe(cycle: list[str], graph: dict[str, list[Import]]) -> str:
    """``a -> b (a:12) -> a (b:3)``: each edge with the line of its import statement."""
    steps = [cycle[0]]
    for source, target in zip(cycle, cycle[1:]):
        line = min(i.line for i in graph[source] if i.module == target)
        steps.append(f"{target} ({source}:{line})")
    return " -> ".join(steps)


def package_of(name: str, known: dict[str, Path]) -> str:
    return name if known[name].name == "__init__.py" else name.rpartition(".")[0]


def inside(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


WFKIT = modules_of(ROOT, "wfkit")
GRAPH = import_graph(WFKIT)


# ------------------------------------------------------------------------------ wfkit itself
def test_wfkit_has_no_import_cycles():
    found = [describe(c, GRAPH) for c in cycles(GRAPH)]
    assert found == [], "import cycles (break them; see docs/architecture.md):\n" + "\n".join(found)


def test_no_module_imports_a_private_name_from_another_package():
    offenders = [
        f"{i.path.relative_to(ROOT)}:{i.line}: {name} from {i.module}"
        for imports in GRAPH.values()
        for i in imports
        for name in i.names
        if name.startswith("_")
        and not name.startswith("__")
        and package_of(i.module, WFKIT) != package_of(i.importer, WFKIT)
    ]
    assert offenders == [], "make the name public, or move it to the package that uses it"


def test_the_static_model_imports_nothing_above_it():
    offenders = [
        f"{i.path.relative_to(ROOT)}:{i.line}: {i.module}"
        for name, imports in GRAPH.items()
        if inside(name, ("wfkit.static",))
        for i in imports
        if not inside(i.module, STATIC_MAY_IMPORT)
    ]
    assert offenders == [], (
        "wfkit.static is read by lint, graph and compat; it imports none of them, nor the engine"
    )


def test_the_graph_renderer_reads_only_the_model():
    offenders = [
        f"{i.path.relative_to(ROOT)}:{i.line}: {i.module}"
        for name, imports in GRAPH.items()
        if inside(name, ("wfkit.graph",))
        for i in imports
        if not inside(i.module, ("wfkit.graph", *STATIC_MAY_IMPORT))
    ]
    assert offenders == []


def test_the_engine_imports_no_toolkit_package():
    offenders = [
        f"{i.path.relative_to(ROOT)}:{i.line}: {i.module}"
        for name, imports in GRAPH.items()
        if inside(name, (ENGINE,))
        for i in imports
        if inside(i.module, TOOLKIT)
    ]
    assert offenders == [], "the engine sits below lint, static, graph, testing and the CLI"


# The layers of docs/architecture.md, top first; a module imports only from layers below its
# own (or its own package). The facade (``wfkit`` and its two alias modules) is below the
# engine it re-exports; ``_lazy`` (the facades' lazy exports) is shared, like the errors.
LAYERS = (
    ("wfkit.cli",),
    ("wfkit.testing", "wfkit.web"),
    ("wfkit.compat",),
    ("wfkit.lint", "wfkit.graph"),
    ("wfkit.static", ENGINE),
    ("wfkit",),
    ("wfkit.errors", "wfkit._lazy"),
)


def layer_of(name: str) -> tuple[int, str]:
    """(rank, package) of a module: lower rank = higher layer."""
    if name == "wfkit.__main__":  # ``python -m wfkit``: the CLI's entry point
        name = "wfkit.cli"
    if name in FACADE:
        name = "wfkit"
    for rank, packages in enumerate(LAYERS):
        for package in packages:
            if name == package or (package != "wfkit" and name.startswith(package + ".")):
                return rank, package
    raise LookupError(f"{name} is in no layer: put it into a package (see docs/architecture.md)")


def test_every_module_has_its_place_in_the_layers():
    """Nothing new sits loose at the package root: an engine module goes into wfkit.engine."""
    unplaced = []
    for name in WFKIT:
        try:
            layer_of(name)
        except LookupError:
            unplaced.append(name)
    assert unplaced == []


def test_every_import_points_down_the_layers():
    offenders = []
    for name, imports in GRAPH.items():
        if name in FACADE:
            continue  # the facade re-exports the engine (under TYPE_CHECKING, and lazily)
        rank, package = layer_of(name)
        for i in imports:
            target_rank, target_package = layer_of(i.module)
            if target_package != package and target_rank <= rank:
                offenders.append(
                    f"{i.path.relative_to(ROOT)}:{i.line}: {package} -> "
                    f"{target_package} ({i.module})"
                )
    assert offenders == [], "see the layers in docs/architecture.md"


@pytest.mark.parametrize("folder", ["wfkit", "lint_rules"])
def test_libcst_private_api_is_used_in_one_module_only(folder: str):
    offenders = []
    for name, path in modules_of(ROOT, folder).items():
        if name == LIBCST_PRIVATE_MODULE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            for module in modules:
                if module.split(".")[0] == "libcst" and any(
                    part.startswith("_") for part in module.split(".")
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {module}")
            if isinstance(node, ast.Attribute) and node.attr in LIBCST_PRIVATE_ATTRIBUTES:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
    assert offenders == [], f"use libcst's private API through {LIBCST_PRIVATE_MODULE}"


# ------------------------------------------------------------------------------ the checker
def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, list[Import]]:
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return import_graph(modules_of(tmp_path, "pkg"))


@pytest.mark.parametrize("where", ["module level", "TYPE_CHECKING", "function"])
def test_the_checker_finds_a_cycle_wherever_its_imports_stand(tmp_path: Path, where: str):
    back = {
        "module level": "from pkg.a import A\n",
        "TYPE_CHECKING": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from pkg.a import A\n",
        "function": "def f():\n    from pkg import a\n    return a\n",
    }[where]
    graph = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import B\nA = 1\n",
            "pkg/b.py": back + "B = 2\n",
            "pkg/c.py": "import pkg.a\n",
        },
    )
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]
    assert describe(cycles(graph)[0], graph).startswith("pkg.a -> pkg.b (pkg.a:1) -> pkg.a")


def test_the_checker_resolves_relative_imports_and_ignores_parent_packages(tmp_path: Path):
    graph = _package(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.sub import x\n",
            "pkg/sub/__init__.py": "from . import x\n",
            "pkg/sub/x.py": "from .. import sub\nfrom ..sub.x import _y\n",
        },
    )
    assert {i.module for i in graph["pkg"]} == {"pkg.sub.x"}
    assert {i.module for i in graph["pkg.sub"]} == {"pkg.sub.x"}
    assert [(i.module, i.names) for i in graph["pkg.sub.x"]] == [("pkg.sub", ())]  # not itself
    assert cycles(graph) == [["pkg.sub", "pkg.sub.x", "pkg.sub"]]
