"""What every output format renders: the findings of one run plus what is needed to explain them."""

from __future__ import annotations

import io
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from wfkit import __version__
from wfkit.lint.finding import Finding

# Bump when a key of the JSON or statistics document changes meaning. 2: a finding's "fix" is
# "safe", "unsafe" or null (was a boolean that was false for unsafe fixes).
JSON_VERSION = 2


class RuleMeta(Protocol):
    """The part of a catalog entry (``wfkit.lint.catalog.RuleInfo``) that formats show."""

    # Read-only: catalog records are frozen.
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def what(self) -> str: ...
    @property
    def why(self) -> str: ...
    @property
    def use_instead(self) -> str: ...
    @property
    def fixable(self) -> bool: ...


class SourceLines:
    """Reads the lines of linted files on demand, once per file, for code frames and baselines.

    Files are decoded the way Python decodes source (PEP 263 cookie, else UTF-8) with
    undecodable bytes as escapes, so an undecodable file still gets a frame instead of an
    error.
    ``overrides`` holds text that did not come from disk (``--stdin-filename``).
    """

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self._lines: dict[str, list[str] | None] = {
            path: text.splitlines() for path, text in (overrides or {}).items()
        }

    def line(self, path: str, lineno: int) -> str | None:
        """Line ``lineno`` (1-based) of ``path`` without its newline, or None if unknown."""
        lines = self._lines.get(path, ...)
        if lines is ...:
            lines = self._lines[path] = _read_lines(path)
        if lines is None or not 1 <= lineno <= len(lines):
            return None
        return lines[lineno - 1]


def _read_lines(path: str) -> list[str] | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    # Undecodable bytes are shown as escapes (\\xff), never raw (a frame must not write
    # arbitrary bytes to a terminal) nor as an anonymous replacement character.
    try:
        text = data.decode(encoding, errors="backslashreplace")
    except LookupError:
        text = data.decode("utf-8", errors="backslashreplace")
    return text.splitlines()


@dataclass(frozen=True)
class Report:
    """One run's findings in output order, and the context formats need around them.

    ``rules`` maps a code to its catalog entry (names for statistics, help for SARIF);
    ``fixed`` maps a path to the number of fixes written to it.
    """

    findings: tuple[Finding, ...]
    files_checked: int = 0
    fixed: Mapping[str, int] = field(default_factory=dict)
    rules: Mapping[str, RuleMeta] = field(default_factory=dict)
    sources: SourceLines = field(default_factory=SourceLines)
    tool_version: str = __version__

    @classmethod
    def build(
        cls,
        findings: Iterable[Finding],
        *,
        files_checked: int = 0,
        fixed: Mapping[str, int] | None = None,
        rules: Mapping[str, RuleMeta] | None = None,
        sources: SourceLines | None = None,
    ) -> Report:
        """A report whose findings are sorted and de-duplicated (stable output order)."""
        return cls(
            findings=tuple(sorted(set(findings))),
            files_checked=files_checked,
            fixed=dict(fixed or {}),
            rules=dict(rules or {}),
            sources=sources if sources is not None else SourceLines(),
        )

    @property
    def fixable(self) -> int:
        """Findings ``--fix`` repairs."""
        return sum(1 for f in self.findings if f.fix == "safe")

    @property
    def unsafe_fixable(self) -> int:
        """Findings only ``--unsafe-fixes`` repairs."""
        return sum(1 for f in self.findings if f.fix == "unsafe")

    @property
    def files_with_findings(self) -> int:
        return len({finding.path for finding in self.findings})

    def rule_name(self, code: str) -> str:
        rule = self.rules.get(code)
        return rule.name if rule is not None else ""


def summary_line(report: Report) -> str:
    """The one-line verdict people read last: ``Found 3 findings in 2 files (1 fixable ...)``."""
    fixed = sum(report.fixed.values())
    fixed_part = (
        f"Fixed {_plural(fixed, 'finding')} in {_plural(len(report.fixed), 'file')}. "
        if fixed
        else ""
    )
    checked = f"{_plural(report.files_checked, 'file')} checked"
    if not report.findings:
        return f"{fixed_part}All checks passed ({checked})."
    parts = []
    if report.fixable:
        parts.append(f"{report.fixable} fixable with --fix")
    if report.unsafe_fixable:
        parts.append(
            f"{report.unsafe_fixable} more with --unsafe-fixes"
            if report.fixable
            else f"{report.unsafe_fixable} fixable with --unsafe-fixes"
        )
    fixable = f" ({', '.join(parts)})" if parts else ""
    return (
        f"{fixed_part}Found {_plural(len(report.findings), 'finding')} in "
        f"{_plural(report.files_with_findings, 'file')}{fixable}; {checked}."
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
