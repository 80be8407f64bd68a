"""The rule reference in docs/rules/ is generated from the catalog and must stay in sync."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wfkit.lint import docs

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "docs" / "rules"


@dataclass(frozen=True)
class FakeRule:
    code: str
    name: str
    message: str = "wall-clock time | in workflow code"
    what: str = "Flags clock reads."
    why: str = "Replays see another time."
    use_instead: str = "`ctx.now()`"
    docstring: str = ""
    valid: list = field(default_factory=lambda: ["\n    x = ctx.now()\n"])
    invalid: list = field(default_factory=lambda: ["x = datetime.now()", "y = time.time()"])
    fixable: bool = True
    opt_in: bool = False


def test_rule_page_has_every_part():
    page = docs.rule_markdown(FakeRule("WF101", "NoWallClock"))
    assert page.startswith(docs.GENERATED + "\n\n# WF101: NoWallClock\n")
    for part in (
        "> wall-clock time | in workflow code",
        "Autofix: yes",
        "Enabled by default: yes",
        "# wfkit: ignore[WF101]",
        "## What it flags\n\nFlags clock reads.",
        "## Why it matters",
        "## Use instead\n\n`ctx.now()`",
        "## Flagged\n\n```python\nx = datetime.now()\n```\n\n```python\ny = time.time()\n```",
        "## Fine\n\n```python\nx = ctx.now()\n```",
    ):
        assert part in page
    opt_in = docs.rule_markdown(FakeRule("WF112", "NoPrint", fixable=False, opt_in=True))
    assert "Autofix: no" in opt_in and "opt-in: `--select WF112`" in opt_in


def test_index_lists_rules_in_code_order_and_escapes_pipes():
    index = docs.index_markdown([FakeRule("WF102", "B"), FakeRule("WF101", "A")])
    rows = [line for line in index.splitlines() if line.startswith("| [")]
    assert rows[0].startswith("| [WF101](WF101.md) | A | wall-clock time \\| in workflow code |")
    assert rows[1].startswith("| [WF102](WF102.md)")


def test_write_then_check_then_detect_drift(tmp_path, capsys):
    rules = [FakeRule("WF101", "A"), FakeRule("WF102", "B")]
    pages = docs.expected_pages(rules)
    assert sorted(pages) == ["WF101.md", "WF102.md", "index.md"]
    assert docs.write_pages(str(tmp_path), pages) == ["WF101.md", "WF102.md", "index.md"]
    assert docs.stale_pages(str(tmp_path), pages) == []
    (tmp_path / "WF101.md").write_text("edited by hand\n")
    (tmp_path / "WF999.md").write_text(docs.GENERATED + "\nold rule\n")
    (tmp_path / "guide.md").write_text("not generated: left alone\n")
    assert docs.stale_pages(str(tmp_path), pages) == ["WF101.md", "WF999.md"]
    docs.write_pages(str(tmp_path), pages)
    assert not (tmp_path / "WF999.md").exists() and (tmp_path / "guide.md").exists()
    assert docs.stale_pages(str(tmp_path), pages) == []


def test_checked_in_rule_pages_match_the_catalog():
    """Fails when a rule changed and docs/rules/ was not regenerated."""
    from wfkit.lint.catalog import all_rules

    stale = docs.stale_pages(str(RULES_DIR), docs.expected_pages(all_rules()))
    assert not stale, (
        f"docs/rules/ is out of date ({', '.join(stale)}): regenerate it with "
        "`python -m wfkit.lint.docs` from the project root and commit the result"
    )


def test_generator_check_mode(tmp_path, capsys):
    assert docs.main(["--check", str(RULES_DIR)]) == 0
    assert docs.main(["--check", str(tmp_path / "empty")]) == 1
    assert "regenerate with `python -m wfkit.lint.docs`" in capsys.readouterr().err
