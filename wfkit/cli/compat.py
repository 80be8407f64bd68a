"""`wfkit compat`: is the change from a base revision safe for the runs in flight?

The engine (:func:`wfkit.compat.check.check`) compares and never prints; this module renders
its findings with the linter's formats (the same JSON shape as ``wfkit lint --format json``)
and picks the exit code: 0 safe, 1 unsafe findings, 2 usage or input error (a base git cannot
resolve, no repository, no git, a path outside the repository: one line each).
"""

from __future__ import annotations

import os
import sys

import click

from wfkit.cli.app import EXIT_FAILURE, EXIT_OK, App

FORMATS = ("text", "json", "sarif", "github")


@click.command("compat")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--base",
    required=True,
    metavar="REV",
    help="The revision runs in flight were recorded under (origin/main, HEAD, a tag).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="How to print findings (the linter's formats).",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Ignore and do not update the cache of each file's reading (the linter's cache).",
)
@click.pass_obj
def compat(app: App, paths: tuple[str, ...], base: str, output_format: str, no_cache: bool) -> None:
    """Tell whether runs recorded under --base still replay on the work tree's code.

    Compares the workflows in the Python files that differ from REV (under PATHS, default the
    whole repository) without importing or running them: steps inserted, removed, reordered
    or renamed (WF301), workflows renamed or removed (WF302), inputs that no longer bind
    (WF303), version gates removed too early (WF304), what cannot be told statically
    (WF305), Temporal signal or update handlers removed or renamed (WF306). The old code is
    read from git, never checked out; what each file reads as is cached like the linter's
    results (--no-cache: neither read nor written).
    """
    from wfkit.compat.catalog import compat_rules
    from wfkit.compat.check import CompatOptions, check
    from wfkit.lint.config import load_config
    from wfkit.lint.formats import Report, SourceLines, formatter_for
    from wfkit.lint.formats.report import summary_line
    from wfkit.static.parse_guard import DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_NESTING, ParseLimits

    config = load_config(list(paths) or ["."], app.config)
    options = CompatOptions(
        base,
        paths,
        ".",
        frozenset(config.extra_workflow_decorators),
        frozenset(config.extra_step_decorators),
        ParseLimits(
            config.max_file_size or DEFAULT_MAX_FILE_SIZE,
            config.max_nesting or DEFAULT_MAX_NESTING,
        ),
        cache_dir=None if no_cache else os.path.join(config.root, ".wfkit_cache"),
    )
    result = check(options)
    report = Report.build(
        result.findings,
        files_checked=result.files_checked,
        rules={rule.code: rule for rule in compat_rules()},
        sources=SourceLines(result.texts),
    )
    color = output_format == "text" and _color(app)
    sys.stdout.write(formatter_for(output_format).render(report, color=color))
    sys.stdout.flush()
    if output_format == "text" and app.verbosity >= 0:
        verdict = (
            "Runs recorded under the base may not replay on this code."
            if report.findings
            else f"Safe for runs recorded under {base}."
        )
        sys.stderr.write(f"{summary_line(report)} {verdict}\n")
    raise SystemExit(EXIT_FAILURE if report.findings else EXIT_OK)


def _color(app: App) -> bool:
    if app.color is not None:
        return app.color
    return bool(getattr(sys.stdout, "isatty", lambda: False)())
