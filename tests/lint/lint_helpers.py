"""Helpers for the lint tests: write a little tree, lint it, look at (file, line, code)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from wfkit.lint.api import LintOptions, LintResult, lint_paths


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def lint_tree(root: Path, files: dict[str, str] | None = None, **options) -> LintResult:
    if files:
        write_tree(root, files)
    options.setdefault("use_cache", False)
    return lint_paths([root], LintOptions(**options))


def codes(result: LintResult) -> list[tuple[str, int, str]]:
    return [(Path(f.path).name, f.line, f.code) for f in result.findings]


def lint_text(source: str, **options) -> LintResult:
    return lint_paths(
        [], LintOptions(stdin_text=textwrap.dedent(source), stdin_filename="snippet.py", **options)
    )
