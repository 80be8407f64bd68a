"""The format for people: ``path:line:col: CODE message`` and the offending line underlined."""

from __future__ import annotations

import io

from wfkit.lint.finding import Finding
from wfkit.lint.formats.report import Report

_LOCATION = "bold"
_CODE = "bold red"
_GUTTER = "blue"
_CARET = "red"

Segment = tuple[str, str]  # (text, rich style); a line is a list of segments


class TextFormat:
    """One finding per entry, each with a two-line code frame when the source can be read.

    The first line is exactly ``path:line:col: CODE message`` (1-based), the shape editors and
    ``grep`` understand; the frame below it is indented so tools that read only that shape can
    skip it. The summary is not part of this text: the CLI prints it on stderr. Without colour
    the lines are joined directly: importing rich would cost an editor's run ~40 ms for nothing.
    """

    def render(self, report: Report, *, color: bool = False) -> str:
        lines: list[list[Segment]] = []
        for finding in report.findings:
            lines.append([(f"{finding.path}:{finding.line}:{finding.column}:", _LOCATION),
                          (" ", ""), (finding.code, _CODE), (" ", ""), (finding.message, "")])
            lines.extend(_frame(report, finding))
        if not color:
            return "".join("".join(text for text, _ in line) + "\n" for line in lines)
        return _render_rich(lines)


def _render_rich(lines: list[list[Segment]]) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard",
                      highlight=False, markup=False, emoji=False, soft_wrap=True, width=10_000)
    for line in lines:
        text = Text()
        for segment, style in line:
            text.append(segment, style=style or None)
        console.print(text)
    return buffer.getvalue()


def _frame(report: Report, finding: Finding) -> list[list[Segment]]:
    """The offending line and a caret line under the reported span; none without source."""
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
    return [[(f"  {finding.line} | ", _GUTTER), (source, "")],
            [(f"  {gutter} | ", _GUTTER), (" " * start + "^" * (end - start), _CARET)]]
