"""`wfkit lint` and `wfkit rule` against a fake engine: flags, formats, exit codes, errors.

The fake reports every ``datetime.now()`` in ``.py`` files as WF101 (fixable to ``ctx.now()``),
so these tests pin what the command line does independently of the real rules; the end-to-end
tests in ``test_cli_lint_e2e.py`` run the real engine.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from wfkit.cli import lint as lint_cli
from wfkit.cli.app import CliAbort
from wfkit.errors import UsageError
from wfkit.lint.finding import Finding

NEEDLE = "datetime.now()"


@dataclass(frozen=True)
class FakeRule:
    code: str
    name: str
    message: str = "message"
    what: str = "What it flags."
    why: str = "Why it matters."
    use_instead: str = "ctx.now()"
    docstring: str = ""
    valid: list = field(default_factory=lambda: ["x = 1"])
    invalid: list = field(default_factory=lambda: ["datetime.now()"])
    fixable: bool = False
    opt_in: bool = False


RULES = [
    FakeRule("WF000", "ParseError"),
    FakeRule("WF101", "NoWallClock", fixable=True),
    FakeRule("WF102", "NoRandomIds"),
    FakeRule("WF112", "NoPrint", opt_in=True),
    FakeRule("WF201", "MissingAwait"),
]


@dataclass
class FakeOptions:
    select: list | None = None
    ignore: list | None = None
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    jobs: int | None = None
    use_cache: bool = True
    cache_dir: str | None = None
    config_path: str | None = None
    stdin_filename: str | None = None
    stdin_text: str | None = None
    progress: Any = None
    max_file_size: int | None = None
    max_nesting: int | None = None


@dataclass
class FakeResult:
    findings: list
    files_checked: int
    files_parsed: int
    fixed: dict
    diffs: list
    fixed_text: str | None = None


class FakeEngine:
    def __init__(self) -> None:
        self.calls: list[tuple[list[str], FakeOptions]] = []

    def __call__(self, paths, options=None):
        options = options or FakeOptions()
        self.calls.append((list(paths), options))
        if options.stdin_text is not None:
            sources = {options.stdin_filename: options.stdin_text}
        else:
            sources = {}
            for path in paths:
                if not os.path.exists(path):
                    raise UsageError(f"path {path} does not exist")
                files = (
                    [path]
                    if os.path.isfile(path)
                    else sorted(
                        os.path.join(d, f)
                        for d, _, fs in os.walk(path)
                        for f in fs
                        if f.endswith(".py")
                    )
                )
                for file in files:
                    with open(file, encoding="utf-8") as handle:
                        sources[file] = handle.read()
        if options.progress:
            options.progress(len(sources), len(sources))
        findings, fixed, diffs, fixed_text = [], {}, [], None
        wanted = (
            options.select is None
            or any("WF101".startswith(c) or c == "ALL" for c in options.select)
        ) and not any("WF101".startswith(c) for c in options.ignore or [])
        for path, text in sorted(sources.items()):
            hits = (
                [
                    Finding(
                        path,
                        n,
                        line.index(NEEDLE) + 1,
                        n,
                        line.index(NEEDLE) + 15,
                        "WF101",
                        "datetime.now() in workflow code",
                        "safe",
                    )
                    for n, line in enumerate(text.splitlines(), 1)
                    if NEEDLE in line
                ]
                if wanted
                else []
            )
            if options.fix and hits:
                new = text.replace(NEEDLE, "ctx.now()")
                if options.diff:
                    diffs.append(
                        "".join(
                            difflib.unified_diff(
                                text.splitlines(True), new.splitlines(True), path, path
                            )
                        )
                    )
                elif options.stdin_text is not None:
                    fixed_text = new
                else:
                    with open(path, "w", encoding="utf-8") as handle:
                        handle.write(new)
                fixed[path] = len(hits)
                if not options.diff:
                    hits = []
            elif options.stdin_text is not None and options.fix:
                fixed_text = text
            findings.extend(hits)
        return FakeResult(findings, len(sources), len(sources), fixed, diffs, fixed_text)


@pytest.fixture
def engine(monkeypatch):
    fake = FakeEngine()
    monkeypatch.setattr(lint_cli, "load_engine", lambda: (FakeOptions, fake))
    monkeypatch.setattr(lint_cli, "load_rules", lambda: list(RULES))
    return fake


@pytest.fixture
def run(run_wfkit):
    """Run `wfkit ARGS...` in-process; returns (exit code, stdout, stderr)."""
    return run_wfkit


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "flows.py").write_text("def flow(ctx):\n    t = datetime.now()\n")
    (tmp_path / "pkg" / "clean.py").write_text("x = 1\n")
    return tmp_path


def test_clean_tree_exits_0(run, engine, tree):
    (tree / "pkg" / "flows.py").write_text("x = 2\n")
    code, out, err = run("lint")
    assert code == 0 and out == ""
    assert err == "All checks passed (2 files checked).\n"
    assert engine.calls[0][0] == ["."]


def test_findings_exit_1_with_text_and_code_frame(run, engine, tree):
    code, out, err = run("lint", "pkg")
    assert code == 1
    assert out.splitlines() == [
        "pkg/flows.py:2:9: WF101 datetime.now() in workflow code",
        "  2 |     t = datetime.now()",
        "    |         ^^^^^^^^^^^^^^",
    ]
    assert err == ("Found 1 finding in 1 file (1 fixable with --fix); 2 files checked.\n")


def test_exit_zero(run, engine, tree):
    code, out, _ = run("lint", "--exit-zero", "pkg")
    assert code == 0 and "WF101" in out


def test_quiet_drops_the_summary(run, engine, tree):
    code, out, err = run("-q", "lint", "pkg")
    assert code == 1 and "WF101" in out and err == ""


def test_color_flag_colours_text(run, engine, tree):
    _, out, _ = run("--color", "lint", "pkg")
    assert "\x1b[" in out
    _, out, _ = run("--no-color", "lint", "pkg")
    assert "\x1b[" not in out


def test_json_format(run, engine, tree):
    code, out, err = run("lint", "--format", "json", "pkg")
    document = json.loads(out)
    assert code == 1 and document["version"] == 2 and err == ""
    assert document["findings"] == [
        {
            "code": "WF101",
            "column": 9,
            "end_column": 23,
            "end_line": 2,
            "fix": "safe",
            "line": 2,
            "message": "datetime.now() in workflow code",
            "path": "pkg/flows.py",
        }
    ]


def test_sarif_format_carries_every_catalog_rule(run, engine, tree):
    code, out, _ = run("lint", "--format", "sarif", "pkg")
    run_ = json.loads(out)["runs"][0]
    assert code == 1
    assert [r["id"] for r in run_["tool"]["driver"]["rules"]] == [r.code for r in RULES]
    assert run_["results"][0]["ruleId"] == "WF101"


def test_github_format(run, engine, tree):
    code, out, _ = run("lint", "--format", "github", "pkg")
    assert code == 1 and out == (
        "::error file=pkg/flows.py,line=2,col=9,endLine=2,"
        "endColumn=23,title=WF101::datetime.now() in workflow code\n"
    )


def test_output_file(run, engine, tree):
    code, out, _ = run("lint", "--format", "json", "--output", "report.json", "pkg")
    assert code == 1 and out == ""
    assert json.loads((tree / "report.json").read_text())["summary"]["findings"] == 1


def test_select_and_ignore_are_comma_lists_repeatable_and_prefixes(run, engine, tree):
    run("lint", "--select", "wf101,WF102", "--select", "WF2", "--ignore", "WF1", "pkg")
    options = engine.calls[-1][1]
    assert options.select == ["WF101", "WF102", "WF2"]
    assert options.ignore == ["WF1"]
    code, _, _ = run("lint", "--ignore", "WF101", "pkg")
    assert code == 0
    run("lint", "pkg")
    assert engine.calls[-1][1].select is None and engine.calls[-1][1].ignore is None


def test_options_reach_the_engine(run, engine, tree):
    run("--config", "pyproject.toml", "lint", "--jobs", "3", "--no-cache", "pkg")
    options = engine.calls[-1][1]
    assert options.jobs == 3 and options.use_cache is False
    assert options.config_path == "pyproject.toml"
    assert options.fix is False and options.diff is False


def test_fix_writes_and_reports(run, engine, tree):
    code, out, err = run("lint", "--fix", "pkg")
    assert code == 0 and out == ""
    assert "ctx.now()" in (tree / "pkg" / "flows.py").read_text()
    assert err.startswith("Fixed 1 finding in 1 file. All checks passed")


def test_unsafe_fixes_implies_fix(run, engine, tree):
    run("lint", "--unsafe-fixes", "pkg")
    options = engine.calls[-1][1]
    assert options.fix and options.unsafe_fixes


def test_diff_prints_and_writes_nothing(run, engine, tree):
    code, out, err = run("lint", "--diff", "pkg")
    assert code == 1
    assert out.startswith("--- pkg/flows.py\n+++ pkg/flows.py\n")
    assert "+    t = ctx.now()" in out
    assert "datetime.now()" in (tree / "pkg" / "flows.py").read_text()
    assert "1 fix would change 1 file; 0 findings would remain." in err
    options = engine.calls[-1][1]
    assert options.diff and options.fix


def test_statistics_text_and_json(run, engine, tree):
    (tree / "pkg" / "more.py").write_text("a = datetime.now()\nb = datetime.now()\n")
    code, out, _ = run("lint", "--statistics", "pkg")
    assert code == 1 and out == "3  WF101  NoWallClock  (3 fixable)\n"
    code, out, _ = run("lint", "--statistics", "--format", "json", "pkg")
    assert json.loads(out)["statistics"] == [
        {"code": "WF101", "count": 3, "fixable": 3, "name": "NoWallClock", "unsafe": False}
    ]


def test_stdin_lints_the_given_text(run, engine, tree):
    code, out, _ = run("lint", "--stdin-filename", "pkg/editor.py", stdin="x = datetime.now()\n")
    assert code == 1
    assert out.splitlines()[:2] == [
        "pkg/editor.py:1:5: WF101 datetime.now() in workflow code",
        "  1 | x = datetime.now()",
    ]
    paths, options = engine.calls[-1]
    assert paths == ["pkg/editor.py"] and options.stdin_text == "x = datetime.now()\n"
    assert options.stdin_filename == "pkg/editor.py"


def test_stdin_fix_prints_fixed_source_on_stdout(run, engine, tree):
    code, out, err = run(
        "lint", "--stdin-filename", "new.py", "--fix", stdin="x = datetime.now()\n"
    )
    assert code == 0 and out == "x = ctx.now()\n" and err == ""
    code, out, _ = run("lint", "--stdin-filename", "new.py", "--fix", stdin="x = 1\n")
    assert code == 0 and out == "x = 1\n"


def test_baseline_round_trip(run, engine, tree):
    code, out, err = run("lint", "--write-baseline", "baseline.json", "pkg")
    assert code == 0 and out == "" and "Wrote 1 finding to baseline.json" in err
    code, out, _ = run("lint", "--baseline", "baseline.json", "pkg")
    assert code == 0 and out == ""
    flows = tree / "pkg" / "flows.py"
    flows.write_text("import datetime\n\n" + flows.read_text() + "    u = datetime.now()\n")
    code, out, _ = run("lint", "--baseline", "baseline.json", "--format", "json", "pkg")
    assert code == 1 and [f["line"] for f in json.loads(out)["findings"]] == [5]


def test_progress_callback_is_harmless_off_a_terminal(run, engine, tree):
    code, _, err = run("lint", "pkg")
    assert code == 1 and "linting" not in err
    assert callable(engine.calls[-1][1].progress)


def test_progress_bar_draws_on_a_terminal_for_many_files():
    from wfkit.cli.app import App

    app = App(color=False)
    console = app.err
    console._force_terminal = True  # pretend stderr is a terminal
    with lint_cli.ProgressBar(app) as bar:
        bar.update(0, 10)
        assert bar._progress is None  # a small run: no bar
        bar.update(1, lint_cli.PROGRESS_THRESHOLD)
        assert bar._progress is not None
        bar.update(lint_cli.PROGRESS_THRESHOLD, lint_cli.PROGRESS_THRESHOLD)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (("lint", "--format", "xml"), "'xml' is not one of"),
        (("lint", "--select", "WF999"), "unknown rule code 'WF999' in --select"),
        (("lint", "--ignore", "nope"), "unknown rule code 'NOPE' in --ignore"),
        (("lint", "missing_dir"), "path missing_dir does not exist"),
        (("lint", "--baseline", "nothing.json"), "baseline file nothing.json does not exist"),
        (("lint", "--jobs", "0"), "--jobs"),
        (("lint", "--stdin-filename", "a.py", "pkg"), "takes no PATHS"),
        (("lint", "--diff", "--format", "json"), "--diff"),
        (("lint", "--statistics", "--format", "sarif"), "--statistics"),
        (("lint", "--baseline", "a", "--write-baseline", "b"), "cannot be used together"),
        (("rule", "WF999"), "WF999"),
    ],
)
def test_bad_input_is_exit_2_and_one_line(run, engine, tree, argv, fragment, monkeypatch):
    import wfkit.lint

    fake_catalog = type(sys)("wfkit.lint.catalog")

    def get_rule(code):
        raise UsageError(f"unknown rule {code}", hint="list the codes with `wfkit rule`")

    fake_catalog.get_rule = get_rule
    fake_catalog.all_rules = lambda: list(RULES)
    monkeypatch.setitem(sys.modules, "wfkit.lint.catalog", fake_catalog)
    monkeypatch.setattr(wfkit.lint, "catalog", fake_catalog, raising=False)
    code, out, err = run(*argv, stdin="")
    assert code == 2, err
    assert out == "" and err.count("\n") == 1 and err.startswith("wfkit: error: ")
    assert fragment in err and "Traceback" not in err


def test_malformed_baseline_is_exit_2(run, engine, tree):
    (tree / "bad.json").write_text("{oops")
    code, _, err = run("lint", "--baseline", "bad.json", "pkg")
    assert code == 2 and err.count("\n") == 1
    assert "bad.json" in err and "--write-baseline" in err


def test_engine_usage_error_is_exit_2(run, engine, tree, monkeypatch):
    def broken(paths, options=None):
        raise UsageError(
            "bad config key 'selekt' in pyproject.toml", hint="see docs/lint.md#configuration"
        )

    monkeypatch.setattr(lint_cli, "load_engine", lambda: (FakeOptions, broken))
    code, _, err = run("lint", "pkg")
    assert code == 2 and err == (
        "wfkit: error: bad config key 'selekt' in pyproject.toml (see docs/lint.md#configuration)\n"
    )


def test_internal_error_is_exit_3(run, engine, tree, monkeypatch):
    def crash(paths, options=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(lint_cli, "load_engine", lambda: (FakeOptions, crash))
    code, _, err = run("lint", "pkg")
    assert code == 3 and "internal error" in err


def test_rule_list(run, engine):
    code, out, _ = run("rule")
    lines = out.splitlines()
    assert code == 0 and [line.split()[0] for line in lines] == [r.code for r in RULES]
    assert "[fix]" in lines[1] and "[opt-in]" in lines[3]


def test_help_lists_every_flag(run):
    code, out, _ = run("lint", "--help")
    assert code == 0
    for flag in (
        "--format",
        "--select",
        "--ignore",
        "--fix",
        "--unsafe-fixes",
        "--diff",
        "--jobs",
        "--no-cache",
        "--exit-zero",
        "--statistics",
        "--stdin-filename",
        "--baseline",
        "--write-baseline",
        "--output",
    ):
        assert flag in out


def test_parse_codes():
    known = [r.code for r in RULES]
    assert lint_cli.parse_codes([], known, "--select") is None
    with pytest.raises(CliAbort):
        lint_cli.parse_codes([" , "], known, "--select")  # an empty list is not "no flag"
    assert lint_cli.parse_codes(["wf1,WF101", "all"], known, "--select") == ["ALL", "WF1", "WF101"]
    assert lint_cli.parse_codes(["WF"], known, "--select") == ["WF"]


def test_rule_prints_markdown_documentation(run, monkeypatch):
    fake_catalog = type(sys)("wfkit.lint.catalog")
    fake_catalog.get_rule = lambda code: {r.code: r for r in RULES}[code]
    fake_catalog.all_rules = lambda: list(RULES)
    monkeypatch.setitem(sys.modules, "wfkit.lint.catalog", fake_catalog)
    code, out, _ = run("rule", "wf101")
    assert code == 0 and out.startswith("# WF101: NoWallClock\n")
    for part in (
        "## What it flags",
        "What it flags.",
        "## Why it matters",
        "## Use instead",
        "ctx.now()",
        "## Flagged",
        "datetime.now()",
        "## Fine",
        "x = 1",
    ):
        assert part in out
    assert "<!--" not in out


def test_output_to_a_missing_directory_is_exit_2(run, engine, tree):
    code, _, err = run("lint", "--output", "no/such/dir/report.txt", "pkg")
    assert code == 2 and err.count("\n") == 1 and "cannot write no/such/dir/report.txt" in err
