"""Per-file analysis results: what the cross-file pass combines and what the cache stores.

A file's summary holds its definitions (functions with their kind and dialect), the calls each
function makes, the findings each function would have *if* it is workflow code, the
suppression comments and the file-level findings (WF000). Nothing in it depends on other files,
so it can be cached by the file's content hash and the cross-file pass only combines summaries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from wfkit.lint.finding import Finding


@dataclass(frozen=True)
class FixEdit:
    """Replace the finding's range with ``text``; ``add_import`` is a statement to insert."""

    text: str
    add_import: str = ""
    unsafe: str = ""  # why the edit may change behaviour; non-empty: --unsafe-fixes only


def _edit_json(edit: FixEdit) -> dict[str, Any]:
    return {"text": edit.text, "add_import": edit.add_import, "unsafe": edit.unsafe}


@dataclass
class RawFinding:
    """A finding inside one function, reported only if that function is workflow code.

    ``dialects`` limits it to workflows of those dialects (empty = all); ``fixes`` maps a
    dialect (or ``*``) to a safe edit, ``unsafe_fix`` is applied only with unsafe fixes on.
    """

    code: str
    message: str
    subject: str
    uses: dict[str, str]
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0
    dialects: list[str] = field(default_factory=list)
    fixes: dict[str, FixEdit] = field(default_factory=dict)
    unsafe_fix: FixEdit | None = None

    def to_json(self) -> dict[str, Any]:
        """What ``asdict`` gives, built directly: the cache writes one per finding, and
        ``asdict`` (a recursive deep copy) was most of a cold run's work in the main process."""
        return {
            "code": self.code,
            "message": self.message,
            "subject": self.subject,
            "uses": dict(self.uses),
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "dialects": list(self.dialects),
            "fixes": {k: _edit_json(v) for k, v in self.fixes.items()},
            "unsafe_fix": None if self.unsafe_fix is None else _edit_json(self.unsafe_fix),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RawFinding:
        data = dict(data)
        data["fixes"] = {k: FixEdit(**v) for k, v in data["fixes"].items()}
        if data["unsafe_fix"] is not None:
            data["unsafe_fix"] = FixEdit(**data["unsafe_fix"])
        return cls(**data)


@dataclass
class FunctionSummary:
    """One function (or method): kind is ``workflow``, ``step`` or ``helper``.

    ``call_sites`` maps a called name (as in ``calls``) to the place of its first call in the
    function, ``[line, column, end_line, end_column]``, for the calls that may lead into another
    file (a call of a function this file defines has none): a finding in a helper file that was
    not linted is reported there (see :mod:`wfkit.lint.reporting`).
    """

    qualname: str
    display: str
    kind: str
    dialect: str = ""
    calls: list[str] = field(default_factory=list)
    findings: list[RawFinding] = field(default_factory=list)
    call_sites: dict[str, list[int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "qualname": self.qualname,
            "display": self.display,
            "kind": self.kind,
            "dialect": self.dialect,
            "calls": self.calls,
            "findings": [f.to_json() for f in self.findings],
            "call_sites": self.call_sites,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FunctionSummary:
        return cls(
            data["qualname"],
            data["display"],
            data["kind"],
            data["dialect"],
            list(data["calls"]),
            [RawFinding.from_json(f) for f in data["findings"]],
            {k: list(v) for k, v in data.get("call_sites", {}).items()},
        )


@dataclass(frozen=True)
class Suppression:
    """A suppression comment: ``codes`` empty means every WF code; covers lines start..end."""

    line: int
    column: int
    codes: tuple[str, ...]
    start: int
    end: int
    file_level: bool = False
    end_column: int = 0  # one past the comment's last character (1-based)


@dataclass
class FileSummary:
    path: str
    module: str
    is_package: bool
    parsed: bool = False
    exports: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionSummary] = field(default_factory=dict)
    step_refs: list[str] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    file_findings: list[Finding] = field(default_factory=list)
    bases: dict[str, list[str]] = field(default_factory=dict)  # class -> its base classes

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "module": self.module,
            "is_package": self.is_package,
            "parsed": self.parsed,
            "exports": self.exports,
            "bases": self.bases,
            "functions": [f.to_json() for f in self.functions.values()],
            "step_refs": self.step_refs,
            "suppressions": [asdict(s) for s in self.suppressions],
            "file_findings": [f.to_json() for f in self.file_findings],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileSummary:
        functions = [FunctionSummary.from_json(f) for f in data["functions"]]
        return cls(
            data["path"],
            data["module"],
            data["is_package"],
            data["parsed"],
            dict(data["exports"]),
            {f.qualname: f for f in functions},
            list(data["step_refs"]),
            [Suppression(**{**s, "codes": tuple(s["codes"])}) for s in data["suppressions"]],
            [Finding(**f) for f in data["file_findings"]],
            {k: list(v) for k, v in data.get("bases", {}).items()},
        )
