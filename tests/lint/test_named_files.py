"""Findings are located in the files named on the command line (issue 12, item 11).

`wfkit lint pkg/flows.py` (what pre-commit runs for a changed file) follows the workflow's calls
into `pkg/clock.py`, but reports the hazards there at the call in `pkg/flows.py` that leads to
them, naming the real place; naming `pkg/clock.py` too (or the directory) leaves them where they
are. Real CLI runs on a small package in a temp directory.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from lint_helpers import write_tree

from wfkit.lint.api import LintOptions, lint_paths

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
CLOCK = """\
import time
import uuid
from datetime import datetime


def stamp(order_id: str) -> str:
    return f"{order_id}@{_now_text()}-{uuid.uuid4()}"


def _now_text() -> str:
    return datetime.now().isoformat()


def tick() -> float:
    return time.time()
"""
FLOWS = """\
from wfkit import Context, workflow

from .clock import stamp, tick


def _local(order_id: str) -> str:
    return stamp(order_id)


@workflow
def place(ctx: Context, order_id: str) -> str:
    return _local(order_id) + str(tick())


@workflow
def replace(ctx: Context, order_id: str) -> str:
    return _local(order_id)
"""
UUID_COLUMN = CLOCK.splitlines()[6].index("uuid.uuid4()") + 1
# (path, line, column, code, the end of the message) of each finding, linting pkg/flows.py only
ALONE = [
    (
        "pkg/flows.py",
        7,
        12,
        "WF101",
        "(place -> _local -> stamp -> _now_text -> datetime.now() at pkg/clock.py:11:12); "
        "use ctx.now()",
    ),
    (
        "pkg/flows.py",
        7,
        12,
        "WF102",
        f"(place -> _local -> stamp -> uuid.uuid4() at pkg/clock.py:7:{UUID_COLUMN}); "
        "use ctx.uuid4()",
    ),
    (
        "pkg/flows.py",
        12,
        35,
        "WF101",
        "(place -> tick -> time.time() at pkg/clock.py:15:12); use ctx.now()",
    ),
]
# ... and linting both files (or the directory): where the hazards are, as before
BOTH = [
    ("pkg/clock.py", 7, UUID_COLUMN, "WF102", "(place -> _local -> stamp -> uuid.uuid4())"),
    (
        "pkg/clock.py",
        11,
        12,
        "WF101",
        "(place -> _local -> stamp -> _now_text -> datetime.now())",
    ),
    ("pkg/clock.py", 15, 12, "WF101", "(place -> tick -> time.time())"),
]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/clock.py": CLOCK, "pkg/flows.py": FLOWS})
    return tmp_path


def findings(run, *args: str) -> tuple[int, list[dict]]:
    code, out, _ = run("lint", "--format", "json", *args)
    return code, json.loads(out)["findings"]


def shape(found: list[dict]) -> list[tuple]:
    return [
        (f["path"], f["line"], f["column"], f["code"], f["message"].split(" code ", 1)[-1])
        for f in found
    ]


def matches(found: list[dict], expected: list[tuple]) -> bool:
    return len(found) == len(expected) and all(
        (f["path"], f["line"], f["column"], f["code"]) == e[:4] and e[4] in f["message"]
        for f, e in zip(found, expected, strict=True)
    )


def test_linting_the_workflow_file_reports_at_the_calls_that_lead_to_the_hazards(run_wfkit, tree):
    code, out, err = run_wfkit("lint", "--no-cache", "pkg/flows.py")
    assert code == 1
    heads = [line for line in out.splitlines() if not line.startswith(" ")]
    assert [h.split(" ", 2)[:2] for h in heads] == [
        ["pkg/flows.py:7:12:", "WF101"],
        ["pkg/flows.py:7:12:", "WF102"],
        ["pkg/flows.py:12:35:", "WF101"],
    ]
    assert heads[0] == (
        "pkg/flows.py:7:12: WF101 wall-clock time read in workflow code (place -> _local -> "
        "stamp -> _now_text -> datetime.now() at pkg/clock.py:11:12); use ctx.now()"
    )
    # the call is underlined; the hazard's place and line follow, indented
    assert "   7 |     return stamp(order_id)\n" in out.replace("  7 |", "   7 |")
    assert "  = the hazard is at pkg/clock.py:11:12\n  11 |     return datetime.now()" in out
    assert err.startswith("Found 3 findings in 1 file;")
    # two workflows reach the helper through the same call: one finding per hazard, no copies
    code, found = findings(run_wfkit, "--no-cache", "pkg/flows.py")
    assert matches(found, ALONE), shape(found)
    assert all(f["fix"] is None for f in found)


def test_naming_the_helper_file_too_leaves_the_findings_where_they_are(run_wfkit, tree):
    for args in (["pkg/flows.py", "pkg/clock.py"], ["pkg"], []):
        code, found = findings(run_wfkit, "--no-cache", *args)
        assert code == 1 and matches(found, BOTH), (args, shape(found))
        assert all("origin" not in f for f in found)
    # the helper file alone: no workflow of a named file reaches it
    assert findings(run_wfkit, "--no-cache", "pkg/clock.py") == (0, [])


def test_json_sarif_and_github_locate_at_the_call_and_point_at_the_hazard(run_wfkit, tree):
    _, found = findings(run_wfkit, "--no-cache", "pkg/flows.py")
    assert found[0]["origin"] == {
        "path": "pkg/clock.py",
        "line": 11,
        "column": 12,
        "end_line": 11,
        "end_column": 26,
    }
    assert set(found[0]) == {
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "code",
        "message",
        "fix",
        "origin",
    }
    code, out, _ = run_wfkit("lint", "--no-cache", "--format", "sarif", "pkg/flows.py")
    document = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(document)
    result = document["runs"][0]["results"][0]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "pkg/flows.py"
    assert location["region"] == {"startLine": 7, "startColumn": 12, "endLine": 7, "endColumn": 27}
    [related] = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "pkg/clock.py"
    assert related["physicalLocation"]["region"]["startLine"] == 11
    _, out, _ = run_wfkit("lint", "--no-cache", "--format", "github", "pkg/flows.py")
    assert out.splitlines()[0].startswith(
        "::error file=pkg/flows.py,line=7,col=12,endLine=7,endColumn=27,title=WF101::"
    )
    assert "at pkg/clock.py:11:12)" in out.splitlines()[0]


def test_a_suppression_at_the_call_covers_what_is_reached_through_it(run_wfkit, tree):
    flows = tree / "pkg" / "flows.py"
    flows.write_text(
        FLOWS.replace("+ str(tick())", "+ str(tick())  # wfkit: ignore[WF101]"), encoding="utf-8"
    )
    code, found = findings(run_wfkit, "--no-cache", "pkg/flows.py")
    assert matches(found, ALONE[:2]), shape(found)
    # the whole tree: the same hazard is not reported in the helper either, and the
    # suppression is used in both runs (no WF900)
    code, found = findings(run_wfkit, "--no-cache", "pkg")
    assert matches(found, BOTH[:2]), shape(found)


def test_a_suppression_at_the_hazard_counts_for_every_caller(run_wfkit, tree):
    clock = tree / "pkg" / "clock.py"
    clock.write_text(
        CLOCK.replace("return time.time()", "return time.time()  # wfkit: ignore[WF101]"),
        encoding="utf-8",
    )
    code, found = findings(run_wfkit, "--no-cache", "pkg/flows.py")
    assert matches(found, ALONE[:2]), shape(found)
    code, found = findings(run_wfkit, "--no-cache", "pkg")
    assert matches(found, BOTH[:2]), shape(found)
    # both: the one at the hazard wins; the call's then suppressed nothing, in both runs
    (tree / "pkg" / "flows.py").write_text(
        FLOWS.replace("+ str(tick())", "+ str(tick())  # wfkit: ignore[WF101]"), encoding="utf-8"
    )
    unused = ("pkg/flows.py", 12, 44, "WF900", "WF101 suppressed nothing")
    code, found = findings(run_wfkit, "--no-cache", "pkg/flows.py")
    assert matches(found, [*ALONE[:2], unused]), shape(found)
    code, found = findings(run_wfkit, "--no-cache", "pkg")
    assert matches(found, [*BOTH[:2], unused]), shape(found)


def test_the_helper_files_per_file_ignores_count_for_its_callers(run_wfkit, tree):
    (tree / "pyproject.toml").write_text(
        '[tool.wfkit.lint.per-file-ignores]\n"pkg/clock.py" = ["WF102"]\n', encoding="utf-8"
    )
    code, found = findings(run_wfkit, "--no-cache", "pkg/flows.py")
    assert matches(found, [ALONE[0], ALONE[2]]), shape(found)


TEMPORAL_CLOCK = "import time\n\n\ndef tick() -> float:\n    return time.time()\n"
TEMPORAL_FLOW = """\
from temporalio import workflow

from .clock import tick


@workflow.defn
class Flow:
    @workflow.run
    async def run(self) -> float:
        return tick()
"""


def test_fixes_are_not_offered_for_findings_reported_at_a_call(run_wfkit, tree):
    # a Temporal helper's hazard has a fix (workflow.now().timestamp()) when its file is named ...
    write_tree(
        tree, {"tp/__init__.py": "", "tp/clock.py": TEMPORAL_CLOCK, "tp/flow.py": TEMPORAL_FLOW}
    )
    _, found = findings(run_wfkit, "--no-cache", "tp")
    assert [(f["path"], f["line"], f["fix"]) for f in found] == [("tp/clock.py", 5, "safe")]
    # ... but not when it is reported at the call: --fix changes no file
    _, found = findings(run_wfkit, "--no-cache", "tp/flow.py")
    assert [(f["path"], f["line"], f["fix"]) for f in found] == [("tp/flow.py", 10, None)]
    code, out, err = run_wfkit("lint", "--no-cache", "--fix", "--unsafe-fixes", "tp/flow.py")
    assert code == 1 and "fixable" not in err and "Fixed" not in err
    assert (tree / "tp" / "clock.py").read_text(encoding="utf-8") == TEMPORAL_CLOCK
    assert (tree / "tp" / "flow.py").read_text(encoding="utf-8") == TEMPORAL_FLOW
    code, out, err = run_wfkit("lint", "--no-cache", "--fix", "--unsafe-fixes", "pkg/flows.py")
    assert (tree / "pkg" / "clock.py").read_text(encoding="utf-8") == CLOCK
    assert (tree / "pkg" / "flows.py").read_text(encoding="utf-8") == FLOWS
    # naming the helper's file, --fix repairs it there, as always
    run_wfkit("lint", "--no-cache", "--fix", "tp")
    assert "workflow.now().timestamp()" in (tree / "tp" / "clock.py").read_text(encoding="utf-8")


def test_stdin_filename_is_the_named_file(run_wfkit, tree):
    code, out, _ = run_wfkit(
        "lint", "--format", "json", "--stdin-filename", "pkg/flows.py", stdin=FLOWS
    )
    assert code == 1 and matches(json.loads(out)["findings"], ALONE)


def test_a_baseline_serves_both_kinds_of_run(run_wfkit, tree):
    # written from the whole tree, it accepts the hazards when only the workflow file is linted
    assert run_wfkit("lint", "--no-cache", "--write-baseline", "whole.json", "pkg")[0] == 0
    assert findings(run_wfkit, "--no-cache", "--baseline", "whole.json", "pkg/flows.py") == (0, [])
    # written from the workflow file alone, it accepts them in the whole tree
    assert run_wfkit("lint", "--no-cache", "--write-baseline", "alone.json", "pkg/flows.py")[0] == 0

    def entries(name: str) -> list[tuple]:
        found = json.loads(Path(name).read_text(encoding="utf-8"))["findings"]
        return [(f["path"], f["code"], f["fingerprint"], f["occurrence"]) for f in found]

    assert entries("alone.json") == entries("whole.json")
    assert [e[0] for e in entries("alone.json")] == ["pkg/clock.py"] * 3
    assert findings(run_wfkit, "--no-cache", "--baseline", "alone.json", "pkg") == (0, [])
    # keyed by the hazard's line, not its number: an edit above it changes nothing; a new
    # hazard in the helper is new
    clock = tree / "pkg" / "clock.py"
    clock.write_text("# a comment\n\n" + CLOCK, encoding="utf-8")
    assert findings(run_wfkit, "--no-cache", "--baseline", "alone.json", "pkg/flows.py") == (0, [])
    clock.write_text(CLOCK.replace("time.time()", "time.time() + time.monotonic()"))
    code, found = findings(run_wfkit, "--no-cache", "--baseline", "alone.json", "pkg/flows.py")
    assert code == 1 and [(f["line"], f["code"]) for f in found] == [(12, "WF101")] * 2


def test_the_cache_gives_the_same_findings_whichever_files_are_named(tree):
    def run(*paths: str, cache: bool = True):
        return lint_paths(list(paths), LintOptions(use_cache=cache, cache_dir=str(tree / "c")))

    cold_alone = run("pkg/flows.py")
    cold_tree = run("pkg")
    assert cold_tree.files_parsed == 0  # every file was summarized by the first run
    warm_alone = run("pkg/flows.py")
    assert warm_alone.cache_hits > 0 and warm_alone.files_parsed == 0
    assert warm_alone.findings == cold_alone.findings == run("pkg/flows.py", cache=False).findings
    assert [f.path for f in warm_alone.findings] == ["pkg/flows.py"] * 3
    assert [f.origin for f in warm_alone.findings] == [f.origin for f in cold_alone.findings]
    warm_tree = run("pkg")
    assert warm_tree.findings == cold_tree.findings == run("pkg", cache=False).findings
    assert [f.path for f in warm_tree.findings] == ["pkg/clock.py"] * 3
    shutil.rmtree(tree / "c")


def test_a_real_process_as_the_pre_commit_hook_runs_it(tree):
    """`wfkit lint <committed files>` in its own process, the hook's command line."""
    import os
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "wfkit", "lint", "--format", "json", "pkg/flows.py"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    found = json.loads(done.stdout)["findings"]
    assert matches(found, ALONE), shape(found)
    assert {f["path"] for f in found} == {"pkg/flows.py"}
