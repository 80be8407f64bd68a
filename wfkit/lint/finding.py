"""A finding: what a rule reports, and the unit every output format renders."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FixKind = Literal["safe", "unsafe"]


@dataclass(frozen=True, order=True)
class Origin:
    """Where a hazard really is when its finding is reported elsewhere: in a helper file that
    was not linted, reached from a linted workflow (the finding is at the call leading there)."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int


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
    # Set when the finding is reported at a call in a linted file for a hazard in a helper file
    # that was not linted; the message names that place too, so it is not part of identity.
    origin: Origin | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The finding's fields; ``origin`` only when there is one (older readers never see
        a key they do not know on an ordinary finding)."""
        data = asdict(self)
        if self.origin is None:
            del data["origin"]
        return data
