"""``wfkit patches [PATHS]``: every version gate in the code, and what the runs in flight need.

The command composes two things that never meet elsewhere: the static model reads the gates
(``ctx.patched("id")`` in wfkit workflows) from source, never importing it, and the engine
counts, per gate, the runs in flight that recorded its marker or may still replay its old
branch (``Engine.patches``; the rules are in :mod:`wfkit.engine.patches`). Gates the store
knows but the code read does not are reported too: runs that recorded one fail on replay once
the call is gone.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

import click

from wfkit.cli.app import EXIT_FAILURE, App
from wfkit.cli.engine_options import format_option, iso, say, store_option, to_json

if TYPE_CHECKING:
    from wfkit.engine.patches import GateReport

JSON_VERSION = 1
_LABEL = re.compile(r"patched\((.*)\)", re.DOTALL)


class PatchesFormat(str, Enum):
    TEXT = "text"
    JSON = "json"


@dataclass
class CodeGates:
    """What the code read holds: gate -> where, the workflows seen, and what could not be read."""

    where: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    workflows: set[str] = field(default_factory=set)
    unreadable: set[str] = field(default_factory=set)  # workflows with a gate id not literal
    problems: list[str] = field(default_factory=list)


@click.command("patches")
@click.argument("paths", nargs=-1, type=click.Path())
@format_option(PatchesFormat)
@store_option
@click.pass_obj
def patches(app: App, paths: tuple[str, ...], fmt: PatchesFormat, store_url: str) -> None:
    """Every version gate (ctx.patched) in PATHS and whether its old branch, or the gate
    itself, may be deleted, from the runs in flight in the store.

    \b
    wfkit patches --store sqlite:///wfkit.db src/flows/
    wfkit patches --format json

    PATHS default to the current directory; with PATHS, only the gates of the workflows found
    there are reported (with the current directory, every gate the store knows too). Verdicts:
    "old branch still needed (N runs, oldest started ...)", "safe to delete the old branch"
    (keep the `if ctx.patched(...)` call), "safe to remove the gate". Exit 1 when a gate is
    missing from a workflow of the code read while runs in flight still need it. See
    docs/engine.md, "Versioning".
    """
    from wfkit.cli.engine_options import open_engine

    code = read_gates(list(paths) or ["."], app.config)
    with open_engine(store_url, access="read") as engine:
        reports = engine.patches(code.where, workflows=code.workflows if paths else None)
    for problem in code.problems:
        say(app, problem)
    rows = [_row(report, code) for report in reports]
    if fmt is PatchesFormat.JSON:
        click.echo(to_json({"version": JSON_VERSION, "gates": rows, "problems": code.problems}))
    else:
        _text(rows)
        if not rows:
            say(app, "no version gates in the code read or in the store")
    if any(row["breaks_runs"] for row in rows):
        click.get_current_context().exit(EXIT_FAILURE)  # deploying this code breaks runs


def read_gates(paths: Sequence[str], config_path: str | None) -> CodeGates:
    """The gates of every wfkit workflow under ``paths``, read with the static model. A file
    that cannot be read or parsed is reported and skipped, like the linter does."""
    from wfkit.errors import UsageError
    from wfkit.lint.config import load_config
    from wfkit.lint.files import collect_files, module_name, read_source
    from wfkit.static.knowledge import WFKIT
    from wfkit.static.parse_guard import DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_NESTING, ParseLimits
    from wfkit.static.skeleton import build_graph, list_workflows, parse_source

    config = load_config(paths, config_path)
    files = collect_files(paths, config.root, config.exclude)
    extra = (frozenset(config.extra_workflow_decorators), frozenset(config.extra_step_decorators))
    limits = ParseLimits(
        config.max_file_size or DEFAULT_MAX_FILE_SIZE, config.max_nesting or DEFAULT_MAX_NESTING
    )
    out = CodeGates(problems=[f"{p.path}: {p.message}" for p in files.problems])
    texts: dict[str, str] = {}
    found: list[tuple[str, str, str]] = []  # (workflow, patch id, the workflow's file)
    for path in files.files:
        text, _, problem = read_source(path)
        if text is None:
            out.problems.append(f"{path}: {problem.message if problem else 'cannot read file'}")
            continue
        texts[path] = text
        name, is_package = module_name(path)
        try:
            module = parse_source(text, path, limits)
            graphs = [
                build_graph(module, path, wf, name, is_package, *extra, file_path=path)
                for wf in list_workflows(module, name, is_package, *extra)
            ]
        except UsageError as error:
            out.problems.append(error.one_line())
            continue
        for graph in graphs:
            if graph.dialect != WFKIT:
                continue
            out.workflows.add(graph.workflow)
            for node in graph.nodes:
                if node.kind != "patch":
                    continue
                patch_id = gate_id(node.label, text)
                if patch_id is None:
                    out.problems.append(
                        f"{path}: workflow {graph.workflow!r}: cannot tell the id of gate "
                        f"{node.label} (not a string literal); it is not checked"
                    )
                    out.unreadable.add(graph.workflow)
                    continue
                found.append((graph.workflow, patch_id, path))
    for workflow, patch_id, path in found:  # every file read: a helper's may come later
        places = out.where.setdefault((workflow, patch_id), [])
        spot = _spot(patch_id, path, texts)
        if spot not in places:
            places.append(spot)
    return out


def _spot(patch_id: str, path: str, texts: dict[str, str]) -> str:
    """``file:line`` of the gate: in the workflow's file, else in another file read (a helper
    the workflow calls, inlined by the static model from a sibling module), else the file."""
    for candidate in (path, *texts):
        line = _line(texts[candidate], patch_id)
        if line is not None:
            return f"{candidate}:{line}"
    return path


def gate_id(label: str, text: str) -> str | None:
    """The id of a gate drawn as ``patched(<source text>)``: a string literal's value, or None.
    The label shortens long ids (``...``): the literal is then found in the source."""
    match = _LABEL.fullmatch(label)
    literal = match.group(1) if match else ""
    if literal.endswith("..."):
        prefix = literal[:-3]
        full = re.search(r"patched\(\s*(" + re.escape(prefix) + r"[^\n]*?['\"])\s*\)", text)
        literal = full.group(1) if full else ""
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) and value else None


def _line(text: str, patch_id: str) -> int | None:
    """The line of the first ``patched("<id>")`` call in the file, for people to find it."""
    for quoted in (repr(patch_id), f'"{patch_id}"'):
        at = re.search(r"patched\(\s*" + re.escape(quoted), text)
        if at:
            return text.count("\n", 0, at.start()) + 1
    return None


def _row(report: GateReport, code: CodeGates) -> dict[str, Any]:
    key = (report.workflow, report.patch_id)
    in_code = key in code.where
    summary = report.summary
    if _breaks_runs(report, code):
        waiting = report.marked + report.needs_old_branch
        summary = (
            f"removed from the code, but {waiting} run(s) in flight need it: they fail on "
            "replay; put the `if ctx.patched(...)` gate back"
        )
    elif not in_code:
        summary += " (not in the code read)"
    return {
        "workflow": report.workflow,
        "patch_id": report.patch_id,
        "in_code": in_code,
        "breaks_runs": _breaks_runs(report, code),
        "locations": code.where.get(key, []),
        "marked": report.marked,
        "needs_old_branch": report.needs_old_branch,
        "may_reach": report.may_reach,
        "oldest_needing": iso(report.oldest_needing),
        "first_marked_at": iso(report.first_marked_at),
        "verdict": report.verdict.value,
        "summary": summary,
    }


def _breaks_runs(report: GateReport, code: CodeGates) -> bool:
    """The gate is gone from a workflow the code read defines, while runs in flight recorded
    its marker (the call is missing) or may replay its old branch (the branch is missing)."""
    return (
        (report.workflow, report.patch_id) not in code.where
        and report.workflow in code.workflows
        and report.workflow not in code.unreadable
        and bool(report.marked or report.needs_old_branch)
    )


def _text(rows: Sequence[dict[str, Any]]) -> None:
    """One line per gate, in aligned columns: workflow, id, where, verdict."""
    table = [
        (row["workflow"], row["patch_id"], ", ".join(row["locations"]) or "-", row["summary"])
        for row in rows
    ]
    widths = [max((len(line[i]) for line in table), default=0) for i in range(3)]
    for line in table:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths)) + "  " + line[3]
        )
