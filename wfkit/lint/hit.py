"""A use of a name the knowledge table knows: what the analyzer hands a rule's ``on_hit``.

Its own module, free of libcst at run time, so that :mod:`wfkit.lint.rule` (imported to build
the catalog) and :mod:`wfkit.lint.services` (the analyzer's rule-facing half) can both use it
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from wfkit.static.knowledge import Entry

if TYPE_CHECKING:
    import libcst as cst


@dataclass(frozen=True)
class Hit:
    """A use of a name the knowledge table knows: ``call`` is set when the name is called."""

    node: cst.BaseExpression
    qualname: str
    entry: Entry
    call: cst.Call | None
