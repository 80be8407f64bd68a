"""Each fixture file's findings equal its ``# expect: WF...`` markers, exactly."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from wfkit.lint.api import LintOptions, lint_paths

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "lint"
MARKER = re.compile(r"#\s*expect:\s*(WF\d{3}(?:\s*,\s*WF\d{3})*)")
FILES = sorted(p for p in ROOT.rglob("*.py"))


def expected(path: Path) -> set[tuple[int, str]]:
    out = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = MARKER.search(line)
        if match:
            out.update((number, code.strip()) for code in match.group(1).split(","))
    return out


@pytest.fixture(scope="module")
def findings_by_file() -> dict[str, set[tuple[int, str]]]:
    result = lint_paths([ROOT], LintOptions(use_cache=False))
    out: dict[str, set[tuple[int, str]]] = {}
    for finding in result.findings:
        out.setdefault(os.path.abspath(finding.path), set()).add((finding.line, finding.code))
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fixture_findings_match_markers(path: Path, findings_by_file) -> None:
    assert findings_by_file.get(str(path), set()) == expected(path)


def test_every_dialect_has_good_and_bad_files() -> None:
    names = {str(p.relative_to(ROOT)) for p in FILES}
    for dialect in ("wfkit_app", "temporal_app", "dbos_app"):
        assert any(n.startswith(f"{dialect}/good") for n in names)
        assert any(n.startswith(f"{dialect}/bad") for n in names)


def test_a_marker_less_helper_file_is_parsed_only_because_a_workflow_reaches_it() -> None:
    result = lint_paths([ROOT / "shop"], LintOptions(use_cache=False))
    assert result.files_checked == 4 and result.files_parsed == 4
    assert any(
        f.path.endswith("clock.py") and "place_order -> stamp_order -> _now_text" in f.message
        for f in result.findings
    )
    alone = lint_paths([ROOT / "shop" / "clock.py"], LintOptions(use_cache=False))
    assert alone.findings == [] and alone.files_parsed == 0


def test_linting_the_workflow_file_alone_reports_the_helpers_hazards_at_its_calls() -> None:
    """What pre-commit runs when only shop/flows.py changed: the helpers' marked hazards, each
    once, at the calls in flows.py that lead to them, with their real place as origin."""
    result = lint_paths([ROOT / "shop" / "flows.py"], LintOptions(use_cache=False))
    assert [(Path(f.path).name, f.line, f.column, f.code) for f in result.findings] == [
        ("flows.py", 13, 12, "WF101"),
        ("flows.py", 13, 50, "WF101"),
        ("flows.py", 13, 50, "WF102"),
    ]
    origins = {
        (str(Path(f.origin.path).resolve()), f.origin.line, f.code)
        for f in result.findings
        if f.origin is not None
    }
    marked = {
        (str(path), line, code)
        for path in (ROOT / "shop" / "clock.py", ROOT / "shop" / "ids.py")
        for line, code in expected(path)
    }
    assert origins == marked
