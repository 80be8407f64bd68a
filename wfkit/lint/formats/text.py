"""The format for people: ``path:line:col: CODE message`` and the offending line underlined."""

from __future__ import annotations

import io

from wfkit.lint.finding import Finding
from wfkit.lint.formats.report import Report

_LOCATION = "bold"
_CODE = "bold red"
_GUTTER = "blue"
_CARET = "red"
_FRAME_WIDTH = 160  # longer lines (generated code) are shown as a window around the span

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
            lines.append(
                [
                    (f"{finding.path}:{finding.line}:{finding.column}:", _LOCATION),
                    (" ", ""),
                    (finding.code, _CODE),
                    (" ", ""),
                    (finding.message, ""),
                ]
            )
            lines.extend(_frame(report, finding))
            lines.extend(_origin(report, finding))
        if not color:
            return "".join("".join(text for text, _ in line) + "\n" for line in lines)
        return _render_rich(lines)


def _render_rich(lines: list[list[Segment]]) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=True,
        color_system="standard",
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=True,
        width=10_000,
    )
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
    start = max(finding.column - 1, 0)
    if finding.end_line == finding.line and finding.end_column > finding.column:
        end = finding.end_column - 1
    else:  # a span over several lines: underline to the end of the first one
        end = len(source.rstrip())
    end = min(max(end, start + 1), max(len(source), start + 1))
    source, start, end = _window(*_printable(source, start, end))
    gutter = " " * len(str(finding.line))
    return [
        [(f"  {finding.line} | ", _GUTTER), (source, "")],
        [(f"  {gutter} | ", _GUTTER), (" " * start + "^" * (end - start), _CARET)],
    ]


def _origin(report: Report, finding: Finding) -> list[list[Segment]]:
    """For a finding at a call leading to a hazard in a file that was not linted: where the
    hazard is, with its own frame (indented: not a finding line of its own)."""
    origin = finding.origin
    if origin is None:
        return []
    where = f"{origin.path}:{origin.line}:{origin.column}"
    at = Finding(*(getattr(origin, k) for k in _PLACE), finding.code, "")
    return [[("  = the hazard is at ", ""), (where, _LOCATION)], *_frame(report, at)]


_PLACE = ("path", "line", "column", "end_line", "end_column")


def _printable(source: str, start: int, end: int) -> tuple[str, int, int]:
    """The line with control characters, stray surrogates and other unprintable characters
    escaped (``\\x1b``, ``\\u200b``), so a binary or hostile file cannot drive the terminal;
    ``start``/``end`` (0-based, end exclusive) are moved to the same characters. Tabs become
    one space, as before."""
    if source.isprintable():
        return source, start, end
    out: list[str] = []
    moved = [0] * (len(source) + 1)
    width = 0
    for index, char in enumerate(source):
        moved[index] = width
        if char == "\t":
            piece = " "
        elif char.isprintable():
            piece = char
        else:
            code = ord(char)
            piece = (
                f"\\x{code:02x}"
                if code < 0x100
                else f"\\u{code:04x}"
                if code < 0x10000
                else f"\\U{code:08x}"
            )
        out.append(piece)
        width += len(piece)
    moved[len(source)] = width
    last = len(source)
    return (
        "".join(out),
        moved[min(start, last)],
        max(moved[min(end, last)], moved[min(start, last)] + 1),
    )


def _window(source: str, start: int, end: int) -> tuple[str, int, int]:
    """At most ``_FRAME_WIDTH`` characters around the span, marked with ``...`` where cut."""
    if len(source) <= _FRAME_WIDTH:
        return source, start, end
    left = max(0, min(start - 20, len(source) - _FRAME_WIDTH))
    right = left + _FRAME_WIDTH
    text = ("..." if left else "") + source[left:right] + ("..." if right < len(source) else "")
    shift = (3 if left else 0) - left
    return text, start + shift, min(end, right) + shift
