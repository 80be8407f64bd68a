"""Which raw findings stand: the call graph's reach turned into reportable findings.

A function's raw findings count only if the function is workflow code. The static model's
:class:`~wfkit.static.callgraph.CallGraph` says which functions are, through which chain; a
helper's findings are reported once, under the first root (in name order) whose dialect the
finding applies to, with that root's advice and fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from wfkit.lint.finding import Finding
from wfkit.lint.summary import FileSummary, FixEdit, RawFinding
from wfkit.static.callgraph import CallGraph


@dataclass(frozen=True)
class Reported:
    """A finding that stands, with the edit that fixes it (if any)."""

    finding: Finding
    fix: FixEdit | None
    unsafe: bool
    root_path: str = ""  # the file of the workflow whose chain the message names


def workflow_findings(graph: CallGraph[FileSummary]) -> list[tuple[FileSummary, Reported]]:
    """Every raw finding in workflow code, as a reportable finding."""
    reached = graph.reach()
    out = []
    for node in sorted(reached):
        if node in graph.step_refs:
            continue
        summary = graph.files[node[0]]
        for raw in summary.functions[node[1]].findings:
            reported = _report(summary.path, raw, reached[node])
            if reported is not None:
                out.append((summary, reported))
    return out


def _report(
    path: str, raw: RawFinding, reaches: list[tuple[str, list[str], str]]
) -> Reported | None:
    applicable = [(d, c, r) for d, c, r in reaches if not raw.dialects or d in raw.dialects]
    if not applicable:
        return None
    dialect, chain, root_path = applicable[0]
    use = raw.uses.get(dialect) or raw.uses.get("*", "")
    text = " -> ".join([*chain, raw.subject])
    message = f"{raw.message} ({text})" + (f"; use {use}" if use else "")
    fixes = {raw.fixes.get(d) or raw.fixes.get("*") for d, _, _ in applicable}
    fix = fixes.pop() if len(fixes) == 1 else None
    unsafe = fix is not None and bool(fix.unsafe)
    if fix is None and raw.unsafe_fix is not None:
        fix, unsafe = raw.unsafe_fix, True
    # Finding.fix says which flag applies the fix: "safe" (--fix) or "unsafe" (--unsafe-fixes)
    finding = Finding(
        path,
        raw.line,
        raw.column,
        raw.end_line,
        raw.end_column,
        raw.code,
        message,
        None if fix is None else "unsafe" if unsafe else "safe",
    )
    return Reported(finding, fix, unsafe, root_path)
