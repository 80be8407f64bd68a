"""Unreadable, undecodable, broken and looping inputs become WF000; the run goes on."""

from __future__ import annotations

import os
import textwrap

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lint_helpers import codes, lint_text, write_tree

from wfkit.errors import UsageError
from wfkit.lint.api import LintOptions, lint_paths

GOOD = """\
import time
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> float:
    return time.time()
"""


def test_syntax_error_is_wf000_and_other_files_are_still_linted(tmp_path):
    write_tree(
        tmp_path, {"a_broken.py": "from wfkit import workflow\ndef f(:\n", "b_good.py": GOOD}
    )
    result = lint_paths([tmp_path], LintOptions(use_cache=False))
    assert codes(result) == [("a_broken.py", 2, "WF000"), ("b_good.py", 7, "WF101")]


def test_undecodable_bytes(tmp_path):
    (tmp_path / "bad.py").write_bytes(b"# workflow\nx = '\xff\xfe'\n")
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\n# workflow\nx = '\xe9'\n")
    result = lint_paths([tmp_path], LintOptions(use_cache=False))
    assert codes(result) == [("bad.py", 1, "WF000")]
    assert "decode" in result.findings[0].message


def test_empty_and_whitespace_files(tmp_path):
    write_tree(
        tmp_path, {"empty.py": "", "blank.py": "\n\n   \n", "only_marker.py": "# workflow\n"}
    )
    result = lint_paths([tmp_path], LintOptions(use_cache=False))
    assert result.findings == [] and result.files_checked == 3


def test_nonexistent_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as error:
        lint_paths([tmp_path / "missing"], LintOptions(use_cache=False))
    assert "missing" in error.value.message


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop_and_broken_link(tmp_path):
    write_tree(tmp_path, {"pkg/flow.py": GOOD})
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "loop")
    os.symlink(tmp_path / "nowhere.py", tmp_path / "pkg" / "dangling.py")
    result = lint_paths([tmp_path], LintOptions(use_cache=False))
    found = codes(result)
    assert ("flow.py", 7, "WF101") in found
    assert ("loop", 1, "WF000") in found
    assert ("dangling.py", 1, "WF000") in found


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_a_second_link_to_a_directory_is_skipped_quietly(tmp_path):
    write_tree(tmp_path, {"real/flow.py": GOOD})
    os.symlink(tmp_path / "real", tmp_path / "alias")
    result = lint_paths([tmp_path], LintOptions(use_cache=False))
    assert codes(result) == [("flow.py", 7, "WF101")]


def test_unreadable_file(tmp_path, monkeypatch):
    write_tree(tmp_path, {"secret.py": GOOD, "ok.py": GOOD})
    (tmp_path / "secret.py").chmod(0)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # root reads through permissions: make the read fail the way it does for a user
        from wfkit.lint import files

        def deny(path, *args, **kwargs):
            if str(path).endswith("secret.py"):
                raise PermissionError(13, "Permission denied", str(path))
            return open(path, *args, **kwargs)

        monkeypatch.setattr(files, "open", deny, raising=False)
    try:
        result = lint_paths([tmp_path], LintOptions(use_cache=False))
    finally:
        (tmp_path / "secret.py").chmod(0o644)
    assert ("secret.py", 1, "WF000") in codes(result)


def test_deeply_nested_expression_does_not_crash():
    source = (
        "from wfkit import workflow\n\n@workflow\ndef f(ctx):\n    return "
        + "(" * 150
        + "1"
        + ")" * 150
        + "\n"
    )
    result = lint_text(source)
    assert all(f.code == "WF000" for f in result.findings)


def test_linter_never_imports_the_code(tmp_path):
    marker = tmp_path / "imported"
    write_tree(tmp_path, {"evil.py": f"open({str(marker)!r}, 'w').write('x')\n# workflow\n"})
    lint_paths([tmp_path], LintOptions(use_cache=False))
    assert not marker.exists()


# Small by default (and under the wfkit-ci profile); a big profile (wfkit-thorough) scales it up.
_EXAMPLES = settings.default.max_examples
_EXAMPLES = _EXAMPLES if _EXAMPLES > 100 else min(_EXAMPLES, 20)
_WORKFLOW = "from wfkit import Context, workflow\n\n\n@workflow\ndef wf(ctx: Context):\n"


def _variants(source: str) -> list[str]:
    """The program as a module, and as the body of a workflow (so every rule looks at it)."""
    return [source, _WORKFLOW + textwrap.indent(source or "pass\n", "    ") + "\n    pass\n"]


@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node()))
def test_never_crashes_on_generated_programs(source: str) -> None:
    for variant in _variants(source):
        result = lint_text(variant, select=["ALL", "WF112"], fix=True, unsafe_fixes=True)
        assert all(f.line >= 1 and f.column >= 1 for f in result.findings)


def test_huge_file_is_reported_not_parsed(tmp_path):
    write_tree(tmp_path, {"huge.py": GOOD + "# padding\n" * 100, "ok.py": GOOD})
    result = lint_paths([tmp_path], LintOptions(use_cache=False, max_file_size=500))
    assert codes(result) == [("huge.py", 1, "WF000"), ("ok.py", 7, "WF101")]
    assert "too large" in result.findings[0].message
