"""The format for people: ``path:line:col: CODE message`` and the offending line underlined."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from wfkit.lint.finding import Finding
from wfkit.lint.formats.report import Report

if TYPE_CHECKING:
    from rich.text import Text

_LOCATION = "bold"
_CODE = "bold red"
_GUTTER = "blue"
_CARET = "red"


class TextFormat:
    """One finding per entry, each with a two-line code frame when the source can be read.

    The first line is exactly ``path:line:col: CODE message`` (1-based), the shape editors and
    ``grep`` understand; the frame below it is indented so tools that read only that shape can
    skip it. The summary is not part of this text: the CLI prints it on stderr.
    """

    def render(self, report: Report, *, color: bool = False) -> str:
        from rich.console import Console
        from rich.text import Text

        buffer = io.StringIO()
        console = Console(file=buffer, force_terminal=color, no_color=not color,
                          color_system="standard" if color else None, highlight=False,
                          markup=False, emoji=False, soft_wrap=True, width=10_000)
        for finding in report.findings:
            head = Text()
            head.append(f"{finding.path}:{finding.line}:{finding.column}:", style=_LOCATION)
            head.append(" ")
            head.append(finding.code, style=_CODE)
            head.append(" ")
            head.append(finding.message)
            console.print(head)
            for line in _frame(report, finding):
                console.print(line)
        return buffer.getvalue()


def _frame(report: Report, finding: Finding) -> list[Text]:
    """The offending line and a caret line under the reported span; none without source."""
    from rich.text import Text

    source = report.sources.line(finding.path, finding.line)
    if source is None or not source.strip():
        return []
    source = source.replace("\t", " ")
    start = max(finding.column - 1, 0)
    if finding.end_line == finding.line and finding.end_column > finding.column:
        end = finding.end_column - 1
    else:  # a span over several lines: underline to the end of the first one
        end = len(source.rstrip())
    end = min(max(end, start + 1), max(len(source), start + 1))
    gutter = " " * len(str(finding.line))
    code_line = Text()
    code_line.append(f"  {finding.line} | ", style=_GUTTER)
    code_line.append(source)
    caret_line = Text()
    caret_line.append(f"  {gutter} | ", style=_GUTTER)
    caret_line.append(" " * start + "^" * (end - start), style=_CARET)
    return [code_line, caret_line]
