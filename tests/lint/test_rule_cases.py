"""Every VALID / INVALID case embedded in a rule module is a test of that rule."""

from __future__ import annotations

import pytest

from wfkit.lint.api import LintOptions, lint_paths
from wfkit.lint.catalog import all_rules

SELECT_ALL = ["ALL", "WF112"]


def _cases():
    for info in all_rules():
        for index, source in enumerate(info.valid, 1):
            yield pytest.param(
                info.code, "VALID", source, None, False, id=f"{info.code}-{info.name}-VALID-{index}"
            )
        for index, case in enumerate(info.invalid_cases, 1):
            yield pytest.param(
                info.code,
                "INVALID",
                case.source,
                case.fixed,
                case.unsafe,
                id=f"{info.code}-{info.name}-INVALID-{index}",
            )


def _lint(source: str, select: list[str] = SELECT_ALL, **kwargs):
    return lint_paths(
        [], LintOptions(stdin_text=source, stdin_filename="case.py", select=select, **kwargs)
    )


@pytest.mark.parametrize(("code", "kind", "source", "fixed", "unsafe"), list(_cases()))
def test_case(code: str, kind: str, source: str, fixed: str | None, unsafe: bool) -> None:
    codes = [f.code for f in _lint(source).findings]
    if kind == "VALID":
        assert code not in codes, _lint(source).findings
        return
    assert code in codes
    kinds = {f.fix for f in _lint(source).findings if f.code == code}
    if unsafe:  # fixed by --unsafe-fixes only, and marked so
        assert "unsafe" in kinds and "safe" not in kinds
    else:
        assert ("safe" in kinds) == (fixed is not None), (
            "a case with an autofix carries its fixed source"
        )
    unsafe_text = _lint(source, [code], fix=True, unsafe_fixes=True).fixed_text
    assert (unsafe_text != source) == (fixed is not None), "fixes come with their fixed source"
    if fixed is None:
        return
    result = _lint(source, [code], fix=True, unsafe_fixes=unsafe)
    assert result.fixed_text == fixed
    assert code not in [f.code for f in _lint(result.fixed_text).findings]
    if unsafe:  # an unsafe fix is not applied without unsafe_fixes
        assert _lint(source, [code], fix=True).fixed_text == source
