"""Which raw findings stand: the call graph's reach turned into reportable findings.

A function's raw findings count only if the function is workflow code. The static model's
:class:`~wfkit.static.callgraph.CallGraph` says which functions are, through which chain; a
helper's findings are reported once, under the first root (in name order) whose dialect the
finding applies to, with that root's advice and fix.

Findings are located in the files named. Calls are followed into every file of the package, but
a finding in a helper file that was *not* named (pre-commit passes only the committed files) is
reported at the chain's first call that leaves the named files, in the named file; its message
keeps the chain and adds where the hazard really is, and it offers no fix (the edit would land
in a file not named). When the helper's file is named, the finding stays where it is.

Suppressions follow the chain, so that a finding stands or falls the same way whichever files are
named: a suppression at a call that leaves a file (``return stamp()  # wfkit: ignore[WF101]``)
covers the hazards of that code reached through that call, and a suppression at the hazard in
the helper file (or the helper file's per-file ignores) covers it for every caller, and is
looked at first. A chain suppressed at a call is not reported; the next root's chain may still
be.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, field

from wfkit.lint.finding import Finding, Origin
from wfkit.lint.summary import FileSummary, FixEdit, RawFinding
from wfkit.static.callgraph import CallGraph, Hop, Reach


@dataclass(frozen=True)
class Reported:
    """A finding that stands, with the edit that fixes it (if any)."""

    finding: Finding
    fix: FixEdit | None
    unsafe: bool
    root_path: str = ""  # the file of the workflow whose chain the message names


@dataclass
class Standing:
    """What the cross-file pass decided: the findings that stand, and ``used``: for each
    suppression that took a finding out through a call (or at a helper's hazard), a finding at
    its place with the code it covered, so the caller can count that suppression as used."""

    reported: list[Reported] = field(default_factory=list)
    used: list[Finding] = field(default_factory=list)


def _never(path: str, code: str) -> bool:
    return False


def workflow_findings(
    graph: CallGraph[FileSummary],
    named: Container[str] | None = None,
    ignored: Callable[[str, str], bool] = _never,
) -> Standing:
    """Every raw finding in workflow code, as a reportable finding.

    ``named``: the files the caller linted (None: every file of the graph); a finding in
    another file is reported at the call leading there, or not at all if no workflow of a named
    file reaches it. ``ignored(path, code)``: per-file ignores, consulted for such a helper file
    (a named file's own are the caller's business).
    """
    reached = graph.reach()
    out = Standing()
    for node in sorted(reached):
        if node in graph.step_refs:
            continue
        summary = graph.files[node[0]]
        helper_named = named is None or summary.path in named
        for raw in summary.functions[node[1]].findings:
            applicable = [r for r in reached[node] if not raw.dialects or r.dialect in raw.dialects]
            # The helper's own suppression (or per-file ignore) at the hazard holds for every
            # caller and is looked at first, whichever files are named: a suppression at a
            # call leading there then did nothing (WF900), in both kinds of run.
            at_hazard = ignored(summary.path, raw.code) or _covering(summary, raw.line, raw.code)
            if not helper_named:
                if at_hazard:
                    continue
                applicable = [r for r in applicable if named is not None and r.root_path in named]
            if helper_named and at_hazard and applicable:
                chosen: Reach | None = applicable[0]  # the caller's suppression pass drops it
            else:
                chosen = _unsuppressed(graph, raw.code, applicable, out.used)
            if chosen is None:
                continue
            if helper_named:
                out.reported.append(_report(summary.path, raw, chosen, applicable))
                continue
            relocated = _relocated(graph, summary.path, raw, chosen, named)
            # No place for the call (not expected: every call that may leave a file has one):
            # report the hazard where it is rather than lose it.
            out.reported.append(relocated or _report(summary.path, raw, chosen, applicable))
    return out


def _covering(summary: FileSummary, line: int, code: str) -> bool:
    return any(
        sup.start <= line <= sup.end and (not sup.codes or code in sup.codes)
        for sup in summary.suppressions
    )


def _unsuppressed(
    graph: CallGraph[FileSummary], code: str, reaches: list[Reach], used: list[Finding]
) -> Reach | None:
    """The first chain with no suppression of ``code`` at a call that leaves a file; each
    suppression passed on the way is recorded in ``used``."""
    for reach in reaches:
        blocked = False
        for hop in reach.hops:
            if hop.caller[0] == hop.callee[0]:
                continue
            site = graph.call_site(hop)
            if site is not None and _covering(graph.files[hop.caller[0]], site[0], code):
                used.append(Finding(hop.caller[0], site[0], site[1], site[2], site[3], code, ""))
                blocked = True
                break
        if not blocked:
            return reach
    return None


def _report(path: str, raw: RawFinding, chosen: Reach, applicable: list[Reach]) -> Reported:
    fixes = {raw.fixes.get(r.dialect) or raw.fixes.get("*") for r in applicable}
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
        _message(raw, chosen),
        None if fix is None else "unsafe" if unsafe else "safe",
    )
    return Reported(finding, fix, unsafe, chosen.root_path)


def _message(raw: RawFinding, chosen: Reach, where: str = "") -> str:
    use = raw.uses.get(chosen.dialect) or raw.uses.get("*", "")
    text = " -> ".join([*chosen.chain, raw.subject])
    return f"{raw.message} ({text}{where})" + (f"; use {use}" if use else "")


def _relocated(
    graph: CallGraph[FileSummary],
    path: str,
    raw: RawFinding,
    chosen: Reach,
    named: Container[str] | None,
) -> Reported | None:
    """``raw`` (in ``path``, a file not named) reported at the chain's first call out of the
    named files, with the hazard's place in its message and as its origin, and without a fix."""
    hop = _first_exit(chosen.hops, named)
    site = graph.call_site(hop) if hop is not None else None
    if hop is None or site is None:
        return None
    origin = Origin(path, raw.line, raw.column, raw.end_line, raw.end_column)
    where = f" at {path.replace(chr(92), '/')}:{raw.line}:{raw.column}"
    finding = Finding(
        hop.caller[0],
        site[0],
        site[1],
        site[2],
        site[3],
        raw.code,
        _message(raw, chosen, where),
        None,
        origin,
    )
    return Reported(finding, None, False, chosen.root_path)


def _first_exit(hops: list[Hop], named: Container[str] | None) -> Hop | None:
    for hop in hops:
        if named is None or hop.callee[0] not in named:
            return hop
    return None
