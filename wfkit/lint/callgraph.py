"""The cross-file pass: which functions are workflow code, and through which chain.

It only combines per-file summaries: workflows are the roots; a breadth-first walk over the
calls each function makes (resolved through imports and package ``__init__`` re-exports) marks
helpers as workflow code with the shortest chain that reaches them. Steps, functions passed as
step callables and other workflows stop the walk; a visited set makes recursion terminate.
A helper's findings are reported once, under the first root (in name order) whose dialect
the finding applies to.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from wfkit.lint.finding import Finding
from wfkit.lint.summary import FileSummary, FixEdit, FunctionSummary, RawFinding


@dataclass(frozen=True)
class Reported:
    """A finding that stands, with the edit that fixes it (if any)."""

    finding: Finding
    fix: FixEdit | None
    unsafe: bool


class CallGraph:
    def __init__(self, summaries: Iterable[FileSummary]) -> None:
        self.modules: dict[str, FileSummary] = {}
        self.functions: dict[str, tuple[FileSummary, FunctionSummary]] = {}
        self.step_refs: set[str] = set()
        self.unresolved: set[str] = set()
        for summary in summaries:
            self.modules.setdefault(summary.module, summary)
            for qual, function in summary.functions.items():
                self.functions.setdefault(qual, (summary, function))
            self.step_refs.update(summary.step_refs)
        self.step_refs = {self.resolve(q) or q for q in self.step_refs}
        self.unresolved.clear()

    def resolve(self, qualname: str) -> str | None:
        """The function ``qualname`` names, following re-exports; None if it is not ours."""
        seen = set()
        while qualname not in self.functions:
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
                qualname = ".".join([target, *parts[cut + 1:]])
                break
            else:
                self.unresolved.add(qualname)
                return None
        return qualname

    def reach(self) -> dict[str, list[tuple[str, list[str]]]]:
        """function -> [(root dialect, chain of display names from the root)], roots sorted."""
        out: dict[str, list[tuple[str, list[str]]]] = {}
        roots = sorted(q for q, (_, f) in self.functions.items() if f.kind == "workflow")
        for root in roots:
            _, root_fn = self.functions[root]
            parents: dict[str, str | None] = {root: None}
            queue = deque([root])
            while queue:
                current = queue.popleft()
                chain = []
                node: str | None = current
                while node is not None:
                    chain.append(self.functions[node][1].display)
                    node = parents[node]
                out.setdefault(current, []).append((root_fn.dialect, chain[::-1]))
                for call in self.functions[current][1].calls:
                    target = self.resolve(call)
                    if target is None or target in parents or target in self.step_refs:
                        continue
                    kind = self.functions[target][1].kind
                    if kind in ("step", "workflow"):
                        continue
                    parents[target] = current
                    queue.append(target)
        return out

    def findings(self) -> list[tuple[FileSummary, Reported]]:
        """Every raw finding in workflow code, as a reportable finding."""
        reached = self.reach()
        out = []
        for qual in sorted(reached):
            summary, function = self.functions[qual]
            if qual in self.step_refs:
                continue
            for raw in function.findings:
                reported = _report(summary.path, raw, reached[qual])
                if reported is not None:
                    out.append((summary, reported))
        return out


def _report(path: str, raw: RawFinding, reaches: list[tuple[str, list[str]]]
            ) -> Reported | None:
    applicable = [(d, c) for d, c in reaches if not raw.dialects or d in raw.dialects]
    if not applicable:
        return None
    dialect, chain = applicable[0]
    use = raw.uses.get(dialect) or raw.uses.get("*", "")
    text = " -> ".join([*chain, raw.subject])
    message = f"{raw.message} ({text})" + (f"; use {use}" if use else "")
    fixes = {raw.fixes.get(d) or raw.fixes.get("*") for d, _ in applicable}
    fix = fixes.pop() if len(fixes) == 1 else None
    unsafe = False
    if fix is None and raw.unsafe_fix is not None:
        fix, unsafe = raw.unsafe_fix, True
    finding = Finding(path, raw.line, raw.column, raw.end_line, raw.end_column, raw.code,
                      message, fix is not None)
    return Reported(finding, fix, unsafe)
