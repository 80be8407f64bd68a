"""The linter's correctness as a tool (field findings from public code): a broken file is
reported even when it defines no workflow, every file read is counted, and ``--diff`` shows
exactly the lines a fix changes. Real CLI, real files."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from wfkit.lint.fixes import unified_diff

BROKEN = "def helper(:\n    return 1\n"  # no workflow marker anywhere


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("cache", [[], ["--no-cache"]])
def test_a_file_without_workflows_that_python_cannot_parse_is_wf000(run_wfkit, tree, cache) -> None:
    (tree / "util.py").write_text(BROKEN)
    (tree / "fine.py").write_text("def helper():\n    return 1\n")
    for _ in range(2):  # a cached run says the same
        code, out, _ = run_wfkit("lint", *cache, ".")
        assert code == 1
        assert "util.py:1:12: WF000 syntax error: invalid syntax" in out
        assert "fine.py" not in out


def test_a_file_that_parses_is_remembered_so_a_warm_run_does_not_parse_it_again(
    run_wfkit, tree
) -> None:
    (tree / "fine.py").write_text("def helper():\n    return 1\n")
    assert run_wfkit("lint", ".")[0] == 0
    assert len(list((tree / ".wfkit_cache").rglob("*.ok"))) == 1
    (tree / "fine.py").write_text(BROKEN)  # new content: a new key, parsed again
    assert run_wfkit("lint", ".")[0] == 1


def test_an_undecodable_file_is_reported_and_counted(run_wfkit, tree) -> None:
    (tree / "latin.py").write_bytes(b"\xff\xfe = 1\n")
    (tree / "fine.py").write_text("x = 1\n")
    code, out, _ = run_wfkit("lint", "--no-cache", "--format", "json", ".")
    report = json.loads(out)
    assert code == 1 and report["summary"]["files_checked"] == 2
    assert [f["code"] for f in report["findings"]] == ["WF000"]


def _changed(diff: str) -> int:
    return sum(
        1 for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )


def test_the_diff_of_a_long_file_shows_only_the_changed_lines() -> None:
    # In files over 200 lines difflib's autojunk treats a frequent line (here a blank one) as
    # junk and shows it removed and added again around a change.
    lines = ["\n" if i % 5 == 2 else f"v{i} = {i}\n" for i in range(300)]
    after = list(lines)
    after[146] = "changed = 1\n"
    after.insert(148, "import added\n")
    a, b = "".join(lines), "".join(after)
    junked = "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True)))
    assert _changed(junked) == 5  # what difflib shows: the blank line 148 out and in
    ours = unified_diff(a, b, "f.py")
    assert _changed(ours) == 3  # one line out, two in
    assert ours.startswith("--- f.py\n+++ f.py\n@@ -144,8 +144,9 @@\n")


def test_the_diff_of_a_short_file_is_difflibs() -> None:
    a = "".join(f"x{i}\n" for i in range(10))
    b = a.replace("x4\n", "y4\n") + "z"
    assert (
        unified_diff(a, b, "p.py")
        == "".join(
            difflib.unified_diff(
                a.splitlines(True), b.splitlines(True), fromfile="p.py", tofile="p.py"
            )
        )
        + "\n\\ No newline at end of file\n"
    )
    assert unified_diff(a, a, "p.py") == ""
