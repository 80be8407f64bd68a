"""A finding: what a rule reports, and the unit every output format renders."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FixKind = Literal["safe", "unsafe"]


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at one place. Lines and columns are 1-based; ordering is stable output order."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    message: str
    # The autofix available: "safe" (applied by --fix), "unsafe" (only with --unsafe-fixes) or
    # None. Not part of identity or order: it follows from the rest of the finding.
    fix: FixKind | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
