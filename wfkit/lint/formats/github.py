"""GitHub Actions workflow commands: each finding becomes an inline annotation on the diff."""

from __future__ import annotations

from wfkit.lint.finding import Finding
from wfkit.lint.formats.report import Report


def escape_data(text: str) -> str:
    """Escape a command's message: the runner decodes ``%25``, ``%0D`` and ``%0A``."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value, where ``,`` separates properties and ``:`` ends the list."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubFormat:
    """``::error file=...,line=...,col=...,endLine=...,endColumn=...,title=CODE::message``.

    Paths are printed with ``/`` separators as the engine reported them; run ``wfkit lint``
    from the repository root so they are relative to it, as GitHub expects.
    """

    def render(self, report: Report, *, color: bool = False) -> str:
        return "".join(annotation(finding) + "\n" for finding in report.findings)


def annotation(finding: Finding) -> str:
    properties = [
        ("file", finding.path.replace("\\", "/")),
        ("line", str(finding.line)),
        ("col", str(finding.column)),
        ("endLine", str(finding.end_line)),
        ("endColumn", str(finding.end_column)),
        ("title", finding.code),
    ]
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::error {joined}::{escape_data(finding.message)}"
