"""Output formats of ``wfkit lint``: one class per format, chosen by :class:`OutputFormat`.

The engine returns findings and never prints; these classes only render. Every renderer takes
a :class:`Report` and returns text, so the CLI decides where it goes (stdout or ``--output``)
and tests compare strings. Output order is the findings' sort order, always.
"""

from __future__ import annotations

import enum
from typing import Protocol

from wfkit.lint.formats.report import Report, RuleMeta, SourceLines


class OutputFormat(str, enum.Enum):
    """The value of ``--format``."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    GITHUB = "github"


class Formatter(Protocol):
    """Renders a whole report; ``color`` only matters to formats meant for people."""

    def render(self, report: Report, *, color: bool = False) -> str: ...


def formatter_for(fmt: OutputFormat | str) -> Formatter:
    """The renderer for one format (imported on demand: SARIF and rich are not free)."""
    fmt = OutputFormat(fmt)
    if fmt is OutputFormat.TEXT:
        from wfkit.lint.formats.text import TextFormat

        return TextFormat()
    if fmt is OutputFormat.JSON:
        from wfkit.lint.formats.json_format import JsonFormat

        return JsonFormat()
    if fmt is OutputFormat.SARIF:
        from wfkit.lint.formats.sarif import SarifFormat

        return SarifFormat()
    from wfkit.lint.formats.github import GithubFormat

    return GithubFormat()


__all__ = ["Formatter", "OutputFormat", "Report", "RuleMeta", "SourceLines", "formatter_for"]
