"""``wfkit graph MODULE:WORKFLOW``: draw a workflow's durable operations from its source.

The module is located and read, never imported: graphs are for docs and code review, where
the code's dependencies may be missing and importing it may have side effects (a workflow
module that connects to a database at import must still graph). Hence the manual search of
``sys.path`` for a dotted name: ``importlib.util.find_spec`` imports parent packages.
"""

from __future__ import annotations

import os
import sys

import click

from wfkit.cli.app import App, abort

# The values of wfkit.graph.render.GraphFormat, spelled out so `--help` needs no libcst.
FORMAT_NAMES = ("table", "mermaid", "dot")


@click.command("graph")
@click.argument("target", metavar="MODULE:WORKFLOW")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMAT_NAMES),
    default="table",
    show_default=True,
    help="table: one row per durable operation; mermaid: a flowchart TD block; dot: Graphviz.",
)
@click.pass_obj
def graph(app: App, target: str, fmt: str) -> None:
    """Draw WORKFLOW's steps, waits, timers, children, branches and loops without running it.

    MODULE is a file path (fixtures/graph/wfkit_orders.py) or a dotted module found on the
    current directory or sys.path (myapp.flows); WORKFLOW is the function or class name, or the
    workflow's registered name.
    """
    from wfkit.engine.loader import parse_spec
    from wfkit.graph.render import render
    from wfkit.lint.config import load_config
    from wfkit.lint.files import module_name, read_source
    from wfkit.static.parse_guard import DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_NESTING, ParseLimits
    from wfkit.static.skeleton import build_graph, list_workflows, parse_source

    spec = parse_spec(target)
    path, dotted_name = locate(spec.module)
    text, _, problem = read_source(path)
    if text is None:
        abort(
            f"{path}: {problem.message if problem else 'cannot read file'}",
            hint="pass a readable UTF-8 Python file",
        )
    if dotted_name is None:
        name, is_package = module_name(path)
    else:
        name, is_package = dotted_name, os.path.basename(path) == "__init__.py"
    config = load_config([path], app.config)
    extra = (frozenset(config.extra_workflow_decorators), frozenset(config.extra_step_decorators))
    limits = ParseLimits(
        config.max_file_size or DEFAULT_MAX_FILE_SIZE, config.max_nesting or DEFAULT_MAX_NESTING
    )
    module = parse_source(text, path, limits)
    if spec.attribute is None:
        names = list_workflows(module, name, is_package, *extra)
        listing = ", ".join(f"{spec.module}:{n}" for n in names) or "none"
        abort(
            f"{target!r} does not say which workflow to draw",
            hint=f"write MODULE:WORKFLOW; workflows in {spec.module}: {listing}",
        )
    drawn = build_graph(
        module, spec.module, spec.attribute, name, is_package, *extra, file_path=path, limits=limits
    )
    click.echo(render(drawn, fmt), nl=False)


def locate(module: str) -> tuple[str, str | None]:
    """(file path, dotted name or None for a path) of ``module``, without importing anything."""
    if module.endswith(".py") or "/" in module or os.sep in module:
        if os.path.isdir(module):
            abort(
                f"{module} is a directory, not a Python file",
                hint="pass the .py file that defines the workflow",
            )
        if not os.path.isfile(module):
            abort(
                f"no such file: {module}",
                hint="check the path, relative to the current "
                "directory, or pass a dotted module name",
            )
        return module, None
    parts = module.split(".")
    if not all(part.isidentifier() for part in parts):
        abort(
            f"{module!r} is neither a Python file nor a dotted module name",
            hint="write MODULE:WORKFLOW, e.g. fixtures/graph/wfkit_orders.py:process_order "
            "or myapp.flows:process_order",
        )
    for entry in [os.getcwd(), *sys.path]:
        base = os.path.join(entry or os.getcwd(), *parts)
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(candidate):
                return candidate, module
    abort(
        f"module {module} not found in the current directory or on sys.path",
        hint="pass the file path instead, or run from the directory that holds the package",
    )
