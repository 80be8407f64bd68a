"""The catalog enforces the rule-file conventions of STYLE.md and the DESIGN.md code table."""

from __future__ import annotations

import re

import pytest

from wfkit.errors import UsageError
from wfkit.lint.catalog import all_rules, get_rule

DESIGN_CODES = ["WF000", *[f"WF1{n:02d}" for n in range(1, 13)], "WF201", "WF202", "WF900"]


def test_codes_match_the_design_table() -> None:
    codes = [info.code for info in all_rules()]
    assert codes == sorted(codes)
    assert len(codes) == len(set(codes))
    assert codes == DESIGN_CODES


@pytest.mark.parametrize("info", all_rules(), ids=lambda i: f"{i.code}-{i.name}")
def test_rule_follows_conventions(info) -> None:
    assert re.fullmatch(r"[A-Z][A-Za-z]+", info.name)
    assert info.message and not info.message.endswith(".")
    assert info.what and info.why and info.use_instead, "docstring needs What / Why / Use instead"
    assert len(info.valid) >= 2 and len(info.invalid) >= 2
    assert any(v.startswith("# near miss") for v in info.valid), "a VALID near miss"
    assert any(i.startswith("# alias") for i in info.invalid), "an INVALID through an alias"
    if info.fixable:
        assert any(c.fixed is not None for c in info.invalid_cases)


def test_only_wf112_is_opt_in() -> None:
    assert [i.code for i in all_rules() if i.opt_in] == ["WF112"]


def test_fixable_rules() -> None:
    # WF107's fixes add a durable timer: unsafe only (--unsafe-fixes), so not "fixable"
    assert {i.code for i in all_rules() if i.fixable} == {"WF101", "WF102", "WF103", "WF201"}


def test_get_rule() -> None:
    assert get_rule("wf101").name == "NoWallClock"
    with pytest.raises(UsageError) as error:
        get_rule("WF999")
    assert "WF101" in (error.value.hint or "")
