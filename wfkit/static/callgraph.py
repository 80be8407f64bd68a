"""The cross-file pass: which functions are workflow code, and through which chain.

It only combines per-file facts: workflows are the roots; a breadth-first walk over the calls
each function makes (resolved through imports and package ``__init__`` re-exports) marks
helpers as workflow code with the shortest chain that reaches them. Steps, functions passed as
step callables and other workflows stop the walk; a visited set makes recursion terminate.

Each chain keeps its hops (caller, call as written, callee) so that the place of every call on
it can be found again (:meth:`CallGraph.call_site`): linting one file reports a hazard in a
helper file that was not named at the call that leads there.

The graph reads any per-file record shaped like :class:`ModuleFacts` (the linter's cached
``FileSummary`` is one); what a reached function's findings mean is the linter's business
(:mod:`wfkit.lint.reporting`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Generic, NamedTuple, Protocol, TypeVar


class FunctionFacts(Protocol):
    """One function (or method): kind is ``workflow``, ``step`` or ``helper``; ``calls`` are
    the qualified names it calls, as written in its module (resolved by the graph);
    ``call_sites`` gives, for the calls that may leave the file, the place of the first one:
    ``(line, column, end_line, end_column)``, 1-based."""

    @property
    def qualname(self) -> str: ...
    @property
    def display(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def dialect(self) -> str: ...
    @property
    def calls(self) -> Sequence[str]: ...
    @property
    def call_sites(self) -> Mapping[str, Sequence[int]]: ...


class ModuleFacts(Protocol):
    """What the call graph needs to know about one file, read without other files."""

    @property
    def path(self) -> str: ...
    @property
    def module(self) -> str: ...
    @property
    def exports(self) -> Mapping[str, str]: ...
    @property
    def functions(self) -> Mapping[str, FunctionFacts]: ...
    @property
    def step_refs(self) -> Sequence[str]: ...
    @property
    def bases(self) -> Mapping[str, Sequence[str]]: ...


M = TypeVar("M", bound=ModuleFacts)


Node = tuple[str, str]  # (path, qualified name): two files may share a module name


class Hop(NamedTuple):
    """One call on a chain: ``caller`` calls ``call`` (as written there), which is ``callee``."""

    caller: Node
    call: str
    callee: Node


class Reach(NamedTuple):
    """How a workflow reaches a function: the root's dialect, the display names from the root
    to the function, the root's file and the calls in between (empty for the root itself)."""

    dialect: str
    chain: list[str]
    root_path: str
    hops: list[Hop]


class CallGraph(Generic[M]):
    """Functions of many files, keyed by (path, qualified name), and the calls between them."""

    def __init__(self, summaries: Iterable[M]) -> None:
        self.files: dict[str, M] = {}
        self.modules: dict[str, M] = {}
        self.by_qual: dict[str, Node] = {}
        self.bases: dict[str, Sequence[str]] = {}
        self.unresolved: set[str] = set()
        for summary in summaries:
            self.files[summary.path] = summary
            self.modules.setdefault(summary.module, summary)
            for cls, bases in summary.bases.items():
                self.bases.setdefault(cls, bases)
            for qual in summary.functions:
                self.by_qual.setdefault(qual, (summary.path, qual))
        self.step_refs: set[Node] = set()
        for summary in self.files.values():
            for ref in summary.step_refs:
                node = self.resolve(ref, summary)
                if node is not None:
                    self.step_refs.add(node)
        self.unresolved.clear()

    def function(self, node: Node) -> FunctionFacts:
        return self.files[node[0]].functions[node[1]]

    def resolve(self, qualname: str, origin: M | None = None) -> Node | None:
        """The function ``qualname`` (as written in ``origin``) names, following re-exports;
        None if it is not one of ours. The origin file's own definitions win."""
        if origin is not None and qualname in origin.functions:
            return origin.path, qualname
        inherited = self._inherited(qualname)
        if inherited is not None:
            return inherited
        seen = set()
        while qualname not in self.by_qual:
            if qualname in seen:
                return None
            seen.add(qualname)
            parts = qualname.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                module = ".".join(parts[:cut])
                summary = self.modules.get(module)
                if summary is None:
                    continue
                target = summary.exports.get(parts[cut])
                if target is None:
                    self.unresolved.add(qualname)
                    return None
                qualname = ".".join([target, *parts[cut + 1 :]])
                break
            else:
                self.unresolved.add(qualname)
                return None
        return self.by_qual[qualname]

    def _inherited(self, qualname: str, depth: int = 0) -> Node | None:
        """``Cls.method`` defined in a base class of ``Cls`` (depth-first, like a simple MRO)."""
        owner, _, method = qualname.rpartition(".")
        if qualname in self.by_qual or owner not in self.bases or depth > 10:
            return None
        for base in self.bases[owner]:
            candidate = f"{base}.{method}"
            if candidate in self.by_qual:
                return self.by_qual[candidate]
            if base not in self.bases:
                self.unresolved.add(candidate)  # a base class in a file not parsed (yet)
            found = self._inherited(candidate, depth + 1)
            if found is not None:
                return found
        return None

    def call_site(self, hop: Hop) -> tuple[int, int, int, int] | None:
        """Where ``hop``'s call is in the caller's file; None if the caller's summary has no
        place for it (a call within one file)."""
        site = self.function(hop.caller).call_sites.get(hop.call)
        if site is None or len(site) != 4:
            return None
        return site[0], site[1], site[2], site[3]

    def reach(self) -> dict[Node, list[Reach]]:
        """function -> how each workflow reaches it (the shortest chain), roots sorted."""
        out: dict[Node, list[Reach]] = {}
        roots = sorted(
            (path, qual)
            for path, summary in self.files.items()
            for qual, function in summary.functions.items()
            if function.kind == "workflow"
        )
        for root in roots:
            dialect = self.function(root).dialect
            parents: dict[Node, Hop | None] = {root: None}
            queue = deque([root])
            while queue:
                current = queue.popleft()
                chain = [self.function(current).display]
                hops = []
                hop = parents[current]
                while hop is not None:
                    hops.append(hop)
                    chain.append(self.function(hop.caller).display)
                    hop = parents[hop.caller]
                out.setdefault(current, []).append(Reach(dialect, chain[::-1], root[0], hops[::-1]))
                origin = self.files[current[0]]
                for call in self.function(current).calls:
                    target = self.resolve(call, origin)
                    if target is None or target in parents or target in self.step_refs:
                        continue
                    if self.function(target).kind in ("step", "workflow"):
                        continue
                    parents[target] = Hop(current, call, target)
                    queue.append(target)
        return out
