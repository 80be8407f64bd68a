"""Every old/new pair embedded in a WF3xx rule module is a test of ``wfkit compat``, run in a
real git repository; the catalog enforces the rule-file conventions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from compat_repo import codes, compare

from wfkit.compat import docs
from wfkit.compat.catalog import compat_rules, get_compat_rule
from wfkit.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


def _cases():
    for info in compat_rules():
        for kind, pairs in (("VALID", info.valid), ("INVALID", info.invalid)):
            for index, pair in enumerate(pairs, 1):
                yield pytest.param(
                    info.code, kind, pair, id=f"{info.code}-{info.name}-{kind}-{index}"
                )


@pytest.mark.parametrize(("code", "kind", "pair"), list(_cases()))
def test_pair(tmp_path: Path, code: str, kind: str, pair) -> None:
    result = compare(tmp_path, {"flows.py": pair.old}, {"flows.py": pair.new})
    if kind == "VALID":
        assert codes(result) == [], result.findings
    else:
        assert code in codes(result), result.findings


def test_codes() -> None:
    assert [info.code for info in compat_rules()] == [
        "WF301",
        "WF302",
        "WF303",
        "WF304",
        "WF305",
        "WF306",
    ]
    assert get_compat_rule("wf302").name == "WorkflowOrphaned"
    with pytest.raises(UsageError):
        get_compat_rule("WF101")


@pytest.mark.parametrize("info", compat_rules(), ids=lambda i: i.code)
def test_rule_follows_conventions(info) -> None:
    assert re.fullmatch(r"[A-Z][A-Za-z]+", info.name)
    assert info.message and not info.message.endswith(".")
    assert info.what and info.why and info.use_instead
    assert len(info.valid) >= 2 and len(info.invalid) >= 2
    assert any(p.old.startswith("# near miss") for p in info.valid)
    assert any(p.old.startswith("# alias") for p in info.invalid)


def test_checked_in_rule_pages_match_the_catalog() -> None:
    stale = docs.stale_pages(str(ROOT / "docs" / "rules"), docs.expected_pages(compat_rules()))
    assert not stale, f"regenerate with `python -m wfkit.compat.docs` ({', '.join(stale)})"


def test_the_linters_generator_leaves_the_compat_pages_alone(tmp_path: Path) -> None:
    from wfkit.lint import docs as lint_docs
    from wfkit.lint.catalog import all_rules

    docs.write_pages(str(tmp_path), docs.expected_pages(compat_rules()))
    lint_docs.write_pages(str(tmp_path), lint_docs.expected_pages(all_rules()))
    assert (tmp_path / "WF301.md").exists() and (tmp_path / "WF101.md").exists()
    assert docs.stale_pages(str(tmp_path), docs.expected_pages(compat_rules())) == []
