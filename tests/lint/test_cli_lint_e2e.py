"""`wfkit lint` end to end with the real engine and rules, on small files in a temp directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest

from wfkit.lint.catalog import all_rules

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
FLOWS = """\
import time, uuid
from datetime import datetime

from wfkit import Context, step, workflow


@step()
def fetch(order_id: str) -> str:
    return datetime.now().isoformat()


@workflow(name="stamp")
def stamp(ctx: Context, order_id: str) -> str:
    ctx.step(fetch, order_id)
    token = uuid.uuid4()
    return str(time.time()) + str(token)
"""
FIXED_TAIL = "    token = ctx.uuid4()\n    return str(ctx.now().timestamp()) + str(token)\n"


@pytest.fixture
def run(run_wfkit):
    """Run `wfkit ARGS...` in-process; returns (exit code, stdout, stderr)."""
    return run_wfkit


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flows.py").write_text(FLOWS)
    (tmp_path / "plain.py").write_text("import datetime\nNOW = datetime.datetime.now()\n")
    return tmp_path


def test_text_reports_workflow_code_only(run, tree):
    code, out, err = run("lint", "--no-cache")
    assert code == 1
    heads = [line for line in out.splitlines() if not line.startswith(" ")]
    assert [h.split(" ")[0:2] for h in heads] == [
        ["flows.py:15:13:", "WF102"],
        ["flows.py:16:16:", "WF101"],
    ]
    assert "stamp -> time.time()" in heads[1]  # the chain is named
    assert "  16 |     return str(time.time()) + str(token)" in out
    assert err == "Found 2 findings in 1 file (2 fixable with --fix); 2 files checked.\n"


def test_json_sarif_and_github(run, tree):
    _, out, _ = run("lint", "--no-cache", "--format", "json")
    findings = json.loads(out)["findings"]
    assert [
        (f["path"], f["line"], f["column"], f["end_column"], f["code"], f["fix"]) for f in findings
    ] == [("flows.py", 15, 13, 25, "WF102", "safe"), ("flows.py", 16, 16, 27, "WF101", "safe")]
    _, out, _ = run("lint", "--no-cache", "--format", "sarif")
    document = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(document)
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.code for r in all_rules()]
    assert all(r["help"]["text"] and r["fullDescription"]["text"] for r in rules)
    _, out, _ = run("lint", "--no-cache", "--format", "github")
    assert out.splitlines()[1].startswith(
        "::error file=flows.py,line=16,col=16,endLine=16,endColumn=27,title=WF101::"
    )


def test_fix_then_clean(run, tree):
    code, out, err = run("lint", "--no-cache", "--fix")
    assert code == 0 and out == "" and err.startswith("Fixed 2 findings in 1 file.")
    assert (tree / "flows.py").read_text().endswith(FIXED_TAIL)
    assert run("lint", "--no-cache")[0] == 0


def test_diff_writes_nothing(run, tree):
    code, out, _ = run("lint", "--no-cache", "--diff")
    assert code == 1 and out.startswith("--- flows.py\n+++ flows.py\n")
    assert "-    token = uuid.uuid4()\n" in out and "+    token = ctx.uuid4()\n" in out
    assert (tree / "flows.py").read_text() == FLOWS


def test_stdin(run, tree):
    code, out, _ = run("lint", "--stdin-filename", "editor.py", stdin=FLOWS)
    assert code == 1 and out.startswith("editor.py:15:13: WF102 ")
    code, out, _ = run("lint", "--stdin-filename", "editor.py", "--fix", stdin=FLOWS)
    assert code == 0 and out.endswith(FIXED_TAIL)


def test_select_ignore_and_statistics(run, tree):
    _, out, _ = run("lint", "--no-cache", "--select", "WF102", "--format", "json")
    assert [f["code"] for f in json.loads(out)["findings"]] == ["WF102"]
    _, out, _ = run("lint", "--no-cache", "--ignore", "wf102")
    assert "WF102" not in out and "WF101" in out
    _, out, _ = run("lint", "--no-cache", "--statistics")
    assert out == "1  WF101  NoWallClock  (1 fixable)\n1  WF102  NoRandomIds  (1 fixable)\n"


def test_baseline_adoption(run, tree):
    assert run("lint", "--write-baseline", "baseline.json")[0] == 0
    assert run("lint", "--baseline", "baseline.json") == (
        0,
        "",
        "All checks passed (2 files checked).\n",
    )
    moved = "# a comment moves everything down\n\n" + FLOWS + "    stamp2 = datetime.now()\n"
    (tree / "flows.py").write_text(
        moved.replace("    return str(time.time()) + str(token)\n", "")
        + "    return str(time.time()) + str(token)\n"
    )
    code, out, _ = run("lint", "--baseline", "baseline.json", "--format", "json")
    assert code == 1 and [(f["line"], f["code"]) for f in json.loads(out)["findings"]] == [
        (18, "WF101")
    ]


def test_suppressions_and_unused_ones(run, tree):
    (tree / "flows.py").write_text(
        FLOWS.replace(
            "token = uuid.uuid4()", "token = uuid.uuid4()  # wfkit: ignore[WF102] ok"
        ).replace("str(token)", "str(token)  # noqa: WF101, WF103")
    )
    code, out, _ = run("lint", "--no-cache")
    assert code == 1 and [
        line.split(" ")[1] for line in out.splitlines() if not line.startswith(" ")
    ] == ["WF900"]


def test_syntax_error_is_wf000_and_the_run_goes_on(run, tree):
    (tree / "broken.py").write_text("from wfkit import workflow\n\n@workflow\ndef f(:\n")
    code, out, _ = run("lint", "--no-cache", "--format", "json")
    codes = [(f["path"], f["code"]) for f in json.loads(out)["findings"]]
    assert code == 1 and ("broken.py", "WF000") in codes and ("flows.py", "WF101") in codes


def test_bad_config_is_exit_2_one_line(run, tree):
    (tree / "pyproject.toml").write_text('[tool.wfkit.lint]\nselekt = ["WF101"]\n')
    code, out, err = run("lint", "--no-cache")
    assert code == 2 and out == "" and err.count("\n") == 1 and "selekt" in err


def test_rule_command_with_the_real_catalog(run):
    code, out, _ = run("rule", "WF101")
    assert code == 0 and out.startswith("# WF101: NoWallClock") and "## Use instead" in out
    code, out, _ = run("rule")
    assert [line.split()[0] for line in out.splitlines()] == [r.code for r in all_rules()]
    code, _, err = run("rule", "WF999")
    assert code == 2 and err.count("\n") == 1 and "WF999" in err


@pytest.mark.slow
def test_exit_codes_through_a_real_process(tree):
    """The exit code survives the console-script path (python -m wfkit), not only main()."""
    import subprocess

    def status(*argv: str) -> int:
        return subprocess.run(
            [sys.executable, "-m", "wfkit", *argv], cwd=tree, capture_output=True, check=False
        ).returncode

    assert status("lint", "--no-cache") == 1
    assert status("lint", "--no-cache", "--exit-zero") == 0
    assert status("lint", "--no-cache", "plain.py") == 0
    assert status("lint", "--select", "WF999") == 2


def _fresh_run(tree: Path, *args: str) -> tuple[int, list[str], bool, bool]:
    """`wfkit lint ARGS` in a fresh interpreter, what an editor's run pays for: (exit code,
    modules of WATCHED it imported, collector on afterwards, objects frozen at exit)."""
    import subprocess

    code = (
        "import atexit, gc, json, sys\n"
        "before = set(sys.modules)   # the interpreter's start-up (site, .pth files)\n"
        "from wfkit.cli.main import main\n"
        "enabled = []\n"
        "atexit.register(lambda: print(json.dumps([   # runs after the command's handlers\n"
        f"    sorted((set(sys.modules) - before) & {set(WATCHED)!r}), enabled[0],"
        " gc.get_freeze_count() > 0])))\n"
        "try:\n"
        f"    main(['lint', *{args!r}])\n"
        "finally:\n"
        "    enabled.append(gc.isenabled())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=False
    )
    assert done.stdout, done.stderr
    imported, enabled, frozen = json.loads(done.stdout.splitlines()[-1])
    return done.returncode, imported, enabled, frozen


# The parser, and what only some runs need: the process pool, the cache, diffs, rich.
WATCHED = (
    "concurrent.futures",
    "difflib",
    "hashlib",
    "libcst",
    "multiprocessing",
    "rich",
    "tempfile",
    "wfkit.lint.cache",
)


@pytest.mark.slow
def test_a_fresh_run_on_one_file_imports_only_what_it_uses(tree):
    assert _fresh_run(tree, "--no-cache", "flows.py") == (1, ["libcst"], True, True)
    _fresh_run(tree, "flows.py")  # fills the cache
    code, imported, collecting, frozen = _fresh_run(tree, "flows.py")
    assert (code, collecting, frozen) == (1, True, True)
    assert "wfkit.lint.cache" in imported and "libcst" not in imported  # a hit: no parse


def test_rule_renders_markdown_on_a_terminal(run):
    code, out, _ = run("--color", "rule", "WF101")  # --color makes stdout a rich terminal
    assert code == 0 and "\x1b[" in out and "NoWallClock" in out and "## " not in out


UNORDERED = """\
from wfkit import Context, workflow


@workflow
def fan_out(ctx: Context, names: list[str]) -> None:
    for name in set(names):
        ctx.step(print, name)
"""


def test_unsafe_fixes_are_counted_and_hinted(run, tree):
    """Set iteration is fixed only by --unsafe-fixes (sorted(...)): the summary says so and the
    JSON marks the finding "unsafe" (before: fix false, no hint, unsafe_fixable always 0)."""
    (tree / "fan.py").write_text(UNORDERED)
    code, out, err = run("lint", "--no-cache", "fan.py", "flows.py")
    assert code == 1
    assert err == (
        "Found 3 findings in 2 files (2 fixable with --fix, 1 more with "
        "--unsafe-fixes); 2 files checked.\n"
    )
    code, out, _ = run("lint", "--no-cache", "--format", "json", "fan.py", "flows.py")
    document = json.loads(out)
    assert document["version"] == 2
    assert [(f["code"], f["fix"]) for f in document["findings"]] == [
        ("WF104", "unsafe"),
        ("WF102", "safe"),
        ("WF101", "safe"),
    ]
    assert (document["summary"]["fixable"], document["summary"]["unsafe_fixable"]) == (2, 1)
    code, out, _ = run("lint", "--no-cache", "--format", "sarif", "fan.py")
    properties = [r["properties"] for r in json.loads(out)["runs"][0]["results"]]
    assert properties == [{"fix": "unsafe", "fixable": True}]
    code, out, _ = run("lint", "--no-cache", "--statistics", "fan.py")
    assert out == "1  WF104  UnorderedIteration  (1 fixable with --unsafe-fixes)\n"
