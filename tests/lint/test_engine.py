"""The run as a whole: marker skipping, cache, process pool, fixes, diffs, stdin, progress."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from lint_helpers import codes, lint_text, write_tree

from wfkit.lint import api
from wfkit.lint.api import LintOptions, lint_paths
from wfkit.lint.lazycst import gc_paused

FLOW = """\
import time
from datetime import datetime
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> str:
    time.sleep(1)
    return datetime.now().isoformat()
"""
HELPER_USER = """\
from wfkit import Context, workflow
from .helpers import stamp


@workflow
def other(ctx: Context) -> float:
    return stamp()
"""
HELPERS = """\
import time


def stamp() -> float:
    return time.time()
"""


def _tree(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "proj",
        {
            "app/__init__.py": "",
            "app/flow.py": FLOW,
            "app/uses.py": HELPER_USER,
            "app/helpers.py": HELPERS,
            "app/plain.py": "X = 1\n",
        },
    )


def test_files_without_markers_are_not_parsed(tmp_path):
    root = _tree(tmp_path)
    result = lint_paths([root], LintOptions(use_cache=False))
    assert result.files_checked == 5
    assert result.files_parsed == 3  # flow.py, uses.py and helpers.py (reached from uses.py)
    assert codes(result) == [
        ("flow.py", 8, "WF107"),
        ("flow.py", 9, "WF101"),
        ("helpers.py", 5, "WF101"),
    ]


def test_warm_cache_gives_the_same_findings_without_parsing(tmp_path):
    root = _tree(tmp_path)
    cache = tmp_path / "cache"
    cold = lint_paths([root], LintOptions(cache_dir=str(cache)))
    warm = lint_paths([root], LintOptions(cache_dir=str(cache)))
    assert warm.findings == cold.findings
    assert warm.files_parsed == 0 and warm.cache_hits == 3
    (root / "app" / "helpers.py").write_text(HELPERS.replace("time.time()", "1.0"))
    edited = lint_paths([root], LintOptions(cache_dir=str(cache)))
    assert edited.files_parsed == 1
    assert [f.code for f in edited.findings] == ["WF107", "WF101"]
    other_rules = lint_paths([root], LintOptions(cache_dir=str(cache), select=["WF107"]))
    assert other_rules.files_parsed == 3 and [f.code for f in other_rules.findings] == ["WF107"]


def test_default_cache_dir_is_next_to_the_config(tmp_path):
    root = _tree(tmp_path)
    (root / "pyproject.toml").write_text("[tool.wfkit.lint]\n")
    lint_paths([root / "app"], LintOptions())
    assert (root / ".wfkit_cache").is_dir()
    assert (root / ".wfkit_cache" / ".gitignore").read_text() == "*\n"


def test_no_cache_writes_nothing(tmp_path):
    root = _tree(tmp_path)
    lint_paths([root], LintOptions(use_cache=False, cache_dir=str(tmp_path / "c")))
    assert not (tmp_path / "c").exists()


def test_gc_paused_leaves_the_collector_as_it_found_it():
    assert gc.isenabled()
    with pytest.raises(KeyError), gc_paused():
        assert not gc.isenabled()
        raise KeyError("an import that fails")
    assert gc.isenabled()
    gc.disable()  # the caller's choice: stays off
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_process_pool_gives_the_same_result(tmp_path, monkeypatch):
    root = _tree(tmp_path)
    for index in range(12):
        (root / "app" / f"flow_{index}.py").write_text(FLOW)
    serial = lint_paths([root], LintOptions(use_cache=False, jobs=1))
    monkeypatch.setattr(api, "POOL_THRESHOLD", 4)
    pooled = lint_paths([root], LintOptions(use_cache=False, jobs=2))
    assert pooled.findings == serial.findings and len(serial.findings) == 27


def test_process_pool_while_the_caller_runs_threads(tmp_path, monkeypatch):
    import threading

    root = _tree(tmp_path)
    for index in range(6):
        (root / "app" / f"flow_{index}.py").write_text(FLOW)
    serial = lint_paths([root], LintOptions(use_cache=False, jobs=1))
    monkeypatch.setattr(api, "POOL_THRESHOLD", 4)
    stop = threading.Event()
    ticker = threading.Thread(target=stop.wait)  # like a progress bar's refresh thread
    ticker.start()
    try:
        assert api._pool_context().get_start_method() != "fork"
        pooled = lint_paths([root], LintOptions(use_cache=False, jobs=2))
    finally:
        stop.set()
        ticker.join()
    assert pooled.findings == serial.findings


def test_progress_is_reported(tmp_path):
    root = _tree(tmp_path)
    seen = []
    lint_paths([root], LintOptions(use_cache=False, progress=lambda d, t: seen.append((d, t))))
    assert seen[-1] == (5, 5)


def test_fix_writes_files_and_counts(tmp_path):
    root = _tree(tmp_path)
    result = lint_paths([root], LintOptions(use_cache=False, fix=True, unsafe_fixes=True))
    flow = (root / "app" / "flow.py").read_text()
    assert "ctx.sleep(1)" in flow and "ctx.now().isoformat()" in flow
    assert result.fixed == {os.path.normpath(str(root / "app" / "flow.py")): 2}
    # the helper has no ctx to use: reported, not fixed
    assert codes(result) == [("helpers.py", 5, "WF101")]
    again = lint_paths([root], LintOptions(use_cache=False))
    assert codes(again) == [("helpers.py", 5, "WF101")]


def test_diff_does_not_write(tmp_path):
    root = _tree(tmp_path)
    result = lint_paths(
        [root], LintOptions(use_cache=False, fix=True, diff=True, unsafe_fixes=True)
    )
    assert (root / "app" / "flow.py").read_text() == FLOW
    [diff] = result.diffs
    assert "-    time.sleep(1)" in diff and "+    ctx.sleep(1)" in diff
    assert len(result.findings) == 3


def test_temporal_fix_adds_the_import_a_helper_needs(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/helpers.py": "import uuid\n\n\ndef new_id() -> str:\n    return str(uuid.uuid4())\n",
        "pkg/flow.py": (
            "from temporalio import workflow as wf\nfrom .helpers import new_id\n"
            "\n\n@wf.defn\nclass Flow:\n    @wf.run\n    async def run(self) -> str:\n"
            "        return new_id()\n"
        ),
    }
    root = write_tree(tmp_path, files)
    lint_paths([root], LintOptions(use_cache=False, fix=True))
    helpers = (root / "pkg" / "helpers.py").read_text()
    assert helpers == (
        "import uuid\nfrom temporalio import workflow\n\n\ndef new_id() -> str:\n"
        "    return str(workflow.uuid4())\n"
    )
    assert lint_paths([root], LintOptions(use_cache=False)).findings == []


def test_stdin_text_is_linted_as_the_given_path(tmp_path):
    result = lint_text(FLOW, fix=True, unsafe_fixes=True)
    assert result.fixed_text is not None and "ctx.now()" in result.fixed_text
    assert result.findings == [] and result.fixed == {"snippet.py": 2}
    plain = lint_text(FLOW)
    assert [f.path for f in plain.findings] == ["snippet.py", "snippet.py"]
    assert plain.fixed_text is None


def test_findings_are_sorted_and_carry_end_positions(tmp_path):
    result = lint_text(FLOW)
    assert result.findings == sorted(result.findings)
    first = result.findings[0]
    assert (first.line, first.column, first.end_line, first.end_column) == (8, 5, 8, 18)
    assert first.fix == "unsafe"  # a durable timer changes what in-flight runs replay


def test_no_await_fix_inside_a_lambda():
    source = """\
import time
from temporalio import workflow


@workflow.defn
class Flow:
    @workflow.run
    async def run(self) -> None:
        time.sleep(1)
        later = lambda: time.sleep(2)
        later()
"""
    result = lint_text(source, fix=True, unsafe_fixes=True)
    assert "await workflow.sleep(1)" in result.fixed_text
    assert "lambda: time.sleep(2)" in result.fixed_text
    assert [(f.line, f.code, f.fix) for f in result.findings] == [(10, "WF107", None)]


def test_no_fix_when_the_replacement_name_is_taken():
    source = """\
import uuid
from temporalio import workflow as wf
from mylib import workflow


@wf.defn
class Flow:
    @wf.run
    async def run(self) -> str:
        return str(uuid.uuid4()) + workflow.name
"""
    result = lint_text(source, fix=True)
    assert "wf.uuid4()" in result.fixed_text  # the SDK's own alias is used
    taken = (
        source.replace("from temporalio import workflow as wf\n", "import temporalio\n")
        .replace("@wf.defn", "@temporalio.workflow.defn")
        .replace("@wf.run", "@temporalio.workflow.run")
    )
    result = lint_text(taken, fix=True)
    assert result.fixed_text == taken
    assert [(f.code, f.fix) for f in result.findings] == [("WF102", None)]
