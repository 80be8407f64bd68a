"""A finding: what a rule reports, and the unit every output format renders."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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
    fix: bool = False  # an autofix is available for it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
