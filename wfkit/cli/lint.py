"""`wfkit lint` and `wfkit rule`: the determinism linter's command line.

The engine (:func:`wfkit.lint.api.lint_paths`) finds problems and never prints; this module
turns flags into :class:`~wfkit.lint.api.LintOptions`, renders the result in the chosen format
(data on stdout, messages on stderr) and picks the exit code: 0 clean, 1 findings, 2 usage or
input error, 3 internal error. The engine, libcst and rich load only when a command runs.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from wfkit.cli.app import EXIT_FAILURE, EXIT_OK, App, abort

if TYPE_CHECKING:
    from wfkit.lint.formats import Report

FORMATS = ("text", "json", "sarif", "github")
PROGRESS_THRESHOLD = 200  # files; below this a run is over before a bar is worth drawing


def load_engine() -> tuple[Any, Callable[..., Any]]:
    """``(LintOptions, lint_paths)``; a seam so CLI tests can run without the real engine."""
    from wfkit.lint.api import LintOptions, lint_paths

    return LintOptions, lint_paths


def load_rules() -> list[Any]:
    """Every rule of the catalog, sorted by code (``RuleInfo`` objects)."""
    from wfkit.lint.catalog import all_rules

    return list(all_rules())


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="How to print findings.",
)
@click.option(
    "--select",
    multiple=True,
    metavar="CODES",
    help="Only these rules (comma list or repeated; a prefix like WF1 selects a group).",
)
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rules (same syntax).")
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    help="Also apply fixes that may change behaviour (e.g. sorted() around set "
    "iteration); implies --fix.",
)
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Worker processes (default: one per core for large trees).",
)
@click.option("--no-cache", is_flag=True, help="Ignore and do not update the result cache.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option(
    "--statistics",
    is_flag=True,
    help="Print the number of findings per rule instead of each finding.",
)
@click.option(
    "--stdin-filename",
    metavar="PATH",
    default=None,
    help="Lint source read from stdin as if it were PATH (for editors); with --fix, "
    "print the fixed source to stdout.",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Report only findings not recorded in FILE.",
)
@click.option(
    "--write-baseline",
    "write_baseline_path",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Record the current findings in FILE (for --baseline) and exit 0.",
)
@click.option(
    "--output",
    "-o",
    "output_path",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Write the report to FILE instead of stdout.",
)
@click.option(
    "--max-file-size",
    type=click.IntRange(min=1),
    default=None,
    metavar="BYTES",
    help="Report larger files as WF000 instead of parsing them (default 1000000; "
    "config: max-file-size).",
)
@click.option(
    "--max-nesting",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Report files whose syntax nests deeper as WF000 instead of parsing them "
    "(default 1000; config: max-nesting).",
)
@click.pass_obj
def lint(
    app: App,
    paths: tuple[str, ...],
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    jobs: int | None,
    no_cache: bool,
    exit_zero: bool,
    statistics: bool,
    stdin_filename: str | None,
    baseline_path: str | None,
    write_baseline_path: str | None,
    output_path: str | None,
    max_file_size: int | None,
    max_nesting: int | None,
) -> None:
    """Find non-determinism in workflow code (PATHS default to the current directory)."""
    _skip_the_final_collection_at_exit()
    _check_flag_combinations(
        paths,
        output_format,
        diff,
        statistics,
        stdin_filename,
        baseline_path,
        write_baseline_path,
        output_path,
    )
    rules = load_rules()
    known = [rule.code for rule in rules]
    selected = parse_codes(select, known, "--select")
    ignored = parse_codes(ignore, known, "--ignore")
    if stdin_filename is None:
        for path in paths:
            if not os.path.lexists(path):
                abort(
                    f"path {path} does not exist",
                    hint="check the spelling, or run "
                    "`wfkit lint` with no path to lint the current directory",
                )

    baseline = None
    if baseline_path:
        from wfkit.lint.baseline import load_baseline

        baseline = load_baseline(baseline_path)
    stdin_text = sys.stdin.read() if stdin_filename is not None else None
    options_type, lint_paths = load_engine()
    options = options_type(
        select=selected,
        ignore=ignored,
        fix=fix or unsafe_fixes or diff,
        unsafe_fixes=unsafe_fixes,
        diff=diff,
        jobs=jobs,
        use_cache=not no_cache,
        config_path=app.config,
        stdin_filename=stdin_filename,
        stdin_text=stdin_text,
        max_file_size=max_file_size,
        max_nesting=max_nesting,
    )
    targets = [stdin_filename] if stdin_filename is not None else list(paths or (".",))
    with ProgressBar(app) as progress:
        options.progress = progress.update
        result = lint_paths(targets, options)

    report = _report(result, rules, stdin_filename, stdin_text)
    if baseline is not None:
        from dataclasses import replace

        report = replace(
            report, findings=tuple(baseline.new_findings(report.findings, report.sources))
        )
    if write_baseline_path is not None:
        from wfkit.lint.baseline import write_baseline

        count = write_baseline(write_baseline_path, report.findings, report.sources)
        _say(app, f"Wrote {count} finding{'' if count == 1 else 's'} to {write_baseline_path}.")
        _exit(EXIT_OK)
    _emit(
        app,
        report,
        result,
        output_format=output_format,
        diff=diff,
        statistics=statistics,
        stdin_fix=stdin_filename is not None and (fix or unsafe_fixes) and not diff,
        output_path=output_path,
    )
    failed = bool(report.findings) or (diff and bool(result.diffs))
    _exit(EXIT_FAILURE if failed and not exit_zero else EXIT_OK)


def _skip_the_final_collection_at_exit() -> None:
    """Leave the objects alive at exit to the operating system instead of a last GC pass.

    A `wfkit lint` process ends with CPython's final garbage collection, which walks every
    object libcst made at import (~15 ms of a 0.2 s single-file run) to free memory the
    operating system takes back anyway. ``gc.freeze()`` in an exit handler (exit handlers run
    before that collection) moves them out of its reach. By then the command has closed every
    file it wrote and flushed its output, and nothing the linter keeps needs a finalizer.
    """
    atexit.unregister(gc.freeze)  # once per process, however many commands ran in it
    atexit.register(gc.freeze)


def parse_codes(values: Iterable[str], known: Sequence[str], flag: str) -> list[str] | None:
    """``("WF101,wf102", "WF2")`` -> ``["WF101", "WF102", "WF2"]``; None if no values.

    Each item is an exact code, a prefix of at least one code (``WF1`` selects a group; opt-in
    rules only run when named exactly) or ``ALL``. Anything else is a usage error here, before
    the engine starts.
    """
    values = list(values)
    if not values:
        return None
    items = [item.strip().upper() for value in values for item in value.split(",")]
    items = [item for item in items if item]
    if not items:  # `--select ''` would otherwise mean "the default rules", silently
        abort(f"{flag} got no rule code", hint=f"name codes, e.g. {flag} WF101,WF2, or drop {flag}")
    for item in items:
        if item != "ALL" and not (len(item) >= 2 and any(code.startswith(item) for code in known)):
            abort(f"unknown rule code {item!r} in {flag}", hint="list the codes with `wfkit rule`")
    return sorted(set(items))


def _check_flag_combinations(
    paths: tuple[str, ...],
    output_format: str,
    diff: bool,
    statistics: bool,
    stdin_filename: str | None,
    baseline_path: str | None,
    write_baseline_path: str | None,
    output_path: str | None,
) -> None:
    if stdin_filename is not None and paths:
        abort(
            "--stdin-filename reads the source from stdin and takes no PATHS",
            hint="drop the paths, or drop --stdin-filename",
        )
    if diff and output_format != "text":
        abort(
            f"--diff prints a unified diff and cannot be combined with --format {output_format}",
            hint="drop one of them",
        )
    if statistics and output_format not in ("text", "json"):
        abort(
            f"--statistics works with --format text or json, not {output_format}",
            hint="use --format json for machine-readable counts",
        )
    if baseline_path and write_baseline_path:
        abort(
            "--baseline and --write-baseline cannot be used together",
            hint="refresh a baseline with --write-baseline alone",
        )
    if write_baseline_path and (diff or statistics or output_path):
        abort(
            "--write-baseline writes a file and prints no report",
            hint="run it without --diff, --statistics and --output",
        )


def _report(
    result: Any, rules: list[Any], stdin_filename: str | None, stdin_text: str | None
) -> Report:
    from wfkit.lint.formats import Report, SourceLines

    overrides: dict[str, str] = {}
    if stdin_filename is not None:
        fixed_text = getattr(result, "fixed_text", None)
        overrides[stdin_filename] = fixed_text if fixed_text is not None else stdin_text or ""
    return Report.build(
        result.findings,
        files_checked=result.files_checked,
        fixed=dict(result.fixed),
        rules={rule.code: rule for rule in rules},
        sources=SourceLines(overrides),
    )


def _emit(
    app: App,
    report: Report,
    result: Any,
    *,
    output_format: str,
    diff: bool,
    statistics: bool,
    stdin_fix: bool,
    output_path: str | None,
) -> None:
    """Print the run: data to stdout (or --output), the human summary to stderr."""
    from wfkit.lint.formats import formatter_for
    from wfkit.lint.formats.report import summary_line

    if diff:
        _write(app, "".join(_with_newline(text) for text in result.diffs), output_path)
        files, fixes = len(result.diffs), sum(report.fixed.values())
        remaining = max(len(report.findings) - fixes, 0)
        _say(
            app,
            f"{fixes} fix{'' if fixes == 1 else 'es'} would change "
            f"{files} file{'' if files == 1 else 's'}; {remaining} finding"
            f"{'' if remaining == 1 else 's'} would remain.",
        )
        return
    if stdin_fix:  # an editor wants the fixed source on stdout; findings go to stderr
        fixed_text = result.fixed_text if result.fixed_text is not None else ""
        _write(app, fixed_text, output_path)
        if report.findings:
            sys.stderr.write(formatter_for("text").render(report, color=_color(app, True)))
        return
    if statistics:
        from wfkit.lint.formats.statistics import render_statistics_json, render_statistics_text

        render = render_statistics_json if output_format == "json" else render_statistics_text
        _write(app, render(report), output_path)
    else:
        color = output_format == "text" and output_path is None and _color(app, False)
        _write(app, formatter_for(output_format).render(report, color=color), output_path)
    if output_format == "text" or app.verbosity > 0:
        _say(app, summary_line(report))


def _write(app: App, text: str, output_path: str | None) -> None:
    if output_path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with open(output_path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        abort(
            f"cannot write {output_path}: {exc.strerror or exc}",
            hint="check that its directory exists and is writable",
        )
    if app.verbosity > 0:
        _say(app, f"Wrote the report to {output_path}.")


def _say(app: App, message: str) -> None:
    """A message for people on stderr (plain text: paths may contain rich markup characters)."""
    if app.verbosity >= 0:
        sys.stderr.write(message + "\n")


def _color(app: App, stderr: bool) -> bool:
    if app.color is not None:
        return app.color
    if os.environ.get("NO_COLOR"):
        return False
    stream = sys.stderr if stderr else sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _exit(code: int) -> NoReturn:
    """Leave with ``code``. SystemExit, because ``run_cli`` drops a command's ctx.exit() code."""
    sys.stdout.flush()
    raise SystemExit(code)


class ProgressBar:
    """A rich bar on stderr for large trees, only when stderr is a terminal and not ``-q``."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, done: int, total: int) -> None:
        if self._progress is None:
            if (
                total < PROGRESS_THRESHOLD
                or self._app.verbosity < 0
                or not self._app.err.is_terminal
            ):
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("linting"),
                BarColumn(),
                MofNCompleteColumn(),
                console=self._app.err,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("lint", total=total)
        self._progress.update(self._task, completed=done, total=total)


@click.command("rule")
@click.argument("code", required=False)
@click.pass_obj
def rule(app: App, code: str | None) -> None:
    """Print the documentation of rule CODE (What / Why / Use instead, examples), or list all."""
    if code is None:
        _list_rules(load_rules())
        return
    if code.strip().upper().startswith("WF3"):  # wfkit compat's codes
        from wfkit.compat.catalog import get_compat_rule
        from wfkit.compat.docs import rule_markdown as compat_markdown

        text = compat_markdown(get_compat_rule(code))
    else:
        from wfkit.lint.catalog import get_rule
        from wfkit.lint.docs import rule_markdown

        text = rule_markdown(get_rule(code.strip().upper()))
    text = text.split("\n", 2)[2] if text.startswith("<!--") else text  # drop the banner
    if app.out.is_terminal:
        from rich.markdown import Markdown

        app.out.print(Markdown(text))
    else:
        sys.stdout.write(text)


def _list_rules(rules: list[Any]) -> None:
    width = max((len(r.name) for r in rules), default=0)
    for r in sorted(rules, key=lambda r: r.code):
        tags = "".join((" [fix]" if r.fixable else "", " [opt-in]" if r.opt_in else ""))
        summary = " ".join(r.message.split())
        sys.stdout.write(f"{r.code}  {r.name:<{width}}  {summary}{tags}\n")
