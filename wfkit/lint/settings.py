"""What the analysis of one file depends on besides its text, and the pre-parse marker check.

Kept free of libcst so a run whose files are all cached (or skipped by the marker check) never
imports the parser: a warm single-file run costs little more than the interpreter's start.
"""

from __future__ import annotations

from dataclasses import dataclass

from wfkit.static.knowledge import MARKERS, Knowledge
from wfkit.static.parse_guard import ParseLimits


@dataclass(frozen=True)
class AnalyzerSettings:
    knowledge: Knowledge
    extra_workflow_decorators: frozenset[str] = frozenset()
    extra_step_decorators: frozenset[str] = frozenset()
    limits: ParseLimits = ParseLimits()  # what the parser is trusted with (parse_guard)


def has_markers(text: str, settings: AnalyzerSettings) -> bool:
    """The cheap pre-parse check: could this file define a workflow at all?"""
    if any(marker in text for marker in MARKERS):
        return True
    extra = settings.extra_workflow_decorators
    return any(name.rsplit(".", 1)[-1] in text for name in extra)
